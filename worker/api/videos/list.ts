import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type Phase, VideoList, VideoListQuery, type VideoStatus } from "../../../contracts/api.ts";
import type { AspectRatio } from "../../../contracts/spec.ts";
import { videos } from "../../db/schema.ts";
import { API_KEY, apiResponses, errorResponse, jsonResponse, type RouteContext } from "../router.ts";

export const listRoute = createRoute({
  method: "get",
  path: "/videos",
  operationId: "listVideos",
  tags: ["videos"],
  summary: "List videos",
  description: "The tenant's videos, newest first, optionally of one status. Pass `next_cursor` as `cursor` for the next page.",
  security: API_KEY,
  request: { query: VideoListQuery },
  responses: apiResponses({ 200: jsonResponse(VideoList, "One page."), 422: errorResponse("A query parameter is invalid; `field` names it.") }),
});

export async function list(c: RouteContext<typeof listRoute>): Promise<Response> {
  const { status: wanted, limit, cursor } = c.req.valid("query");
  const conditions = [eq(videos.tenantId, c.get("principal").tenantId)];
  if (wanted) conditions.push(eq(videos.status, wanted));
  if (cursor) conditions.push(lt(videos.createdAt, cursor));
  const rows = await drizzle(c.env.DB).select().from(videos).where(and(...conditions)).orderBy(desc(videos.createdAt)).limit(limit + 1);
  const page = rows.slice(0, limit);
  return c.json({
    videos: page.map((r) => ({
      video_id: r.id,
      status: r.status as VideoStatus,
      current_phase: r.currentPhase as Phase,
      progress: r.progress,
      prompt: r.prompt,
      duration_s: r.durationS,
      aspect_ratio: r.aspectRatio as AspectRatio,
      archetype: r.archetype,
      cost_usd: r.costUsd,
      cost_estimate_usd: r.costEstimateUsd,
      error: r.error,
      created_at: new Date(r.createdAt).toISOString(),
      completed_at: r.completedAt ? new Date(r.completedAt).toISOString() : null,
    })),
    next_cursor: rows.length > limit ? String(page[page.length - 1]!.createdAt) : null,
  } satisfies VideoList);
}
