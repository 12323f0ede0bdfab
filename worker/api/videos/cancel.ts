import { createRoute } from "@hono/zod-openapi";
import { CancelResponse } from "../../../contracts/api.ts";
import type { LiveSnapshot } from "../../../contracts/live.ts";
import { API_KEY, apiResponses, jsonResponse, ownVideo, type RouteContext, UNKNOWN_VIDEO, VideoPath } from "../router.ts";

export const cancelRoute = createRoute({
  method: "post",
  path: "/video/{id}/cancel",
  operationId: "cancelVideo",
  tags: ["videos"],
  summary: "Cancel a video",
  description: "Stops a queued or running video; predictions already paid for keep their cost.",
  security: API_KEY,
  middleware: [ownVideo] as const,
  request: { params: VideoPath },
  responses: apiResponses({
    200: jsonResponse(CancelResponse, "Cancelled."),
    404: UNKNOWN_VIDEO,
    409: jsonResponse(CancelResponse, "The video had already ended (`cancelled: false`, `status` says how)."),
  }),
});

export async function cancel(c: RouteContext<typeof cancelRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  const run = c.get("run");
  const cancelled = await run.cancel("cancelled by request");
  const snapshot = (await run.snapshot()) as LiveSnapshot | null;
  return c.json({ video_id: id, cancelled, status: snapshot?.status ?? "cancelled" } satisfies CancelResponse, cancelled ? 200 : 409);
}
