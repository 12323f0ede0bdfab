import { createRoute, z } from "@hono/zod-openapi";
import { type ErrorResponse, RegenerateBeatRequest, RegenerateBeatResponse, type RegenerateOutcome } from "../../../contracts/api.ts";
import type { LiveSnapshot } from "../../../contracts/live.ts";
import { type AppContext, invalid } from "../../app.ts";
import { tooManyVideos, underConcurrencyCap } from "../limits.ts";
import { API_KEY, apiResponses, errorResponse, jsonBodyWithin, jsonResponse, ownVideo, type RouteContext, retryAfterResponse, UNKNOWN_VIDEO, VideoPath } from "../router.ts";

/** POST /api/video/{id}/beats/{n}/regenerate — re-render one beat of a complete video. */

const MAX_BODY = 16 * 1024;

const NOT_A_BEAT = "is not a beat index (0, 1, 2, …)";

export const regenerateRoute = createRoute({
  method: "post",
  path: "/video/{id}/beats/{n}/regenerate",
  operationId: "regenerateBeat",
  tags: ["videos"],
  summary: "Regenerate one beat",
  description:
    "Renders one beat of a complete video again (its chunks, then stitching and music), optionally with a new prompt, keeping everything else. The video is processing again until it completes, and counts against the tenant's concurrent-video limit.",
  security: API_KEY,
  // Whose video it is is settled first: another tenant's answers 404 whatever else the request holds.
  middleware: [ownVideo, jsonBodyWithin(MAX_BODY, { optional: true })] as const,
  request: {
    params: VideoPath.extend({
      n: z
        .string()
        .regex(/^\d{1,3}$/, NOT_A_BEAT)
        .transform(Number)
        .openapi({ type: "integer", minimum: 0, maximum: 999, param: { description: "The beat's index in the spec (0-based)." } }),
    }),
    body: { description: "Optional: a new prompt (send `application/json`).", required: false, content: { "application/json": { schema: RegenerateBeatRequest } } },
  },
  responses: apiResponses({
    202: jsonResponse(RegenerateBeatResponse, "Regenerating."),
    400: errorResponse("The body could not be read."),
    404: UNKNOWN_VIDEO,
    409: errorResponse("The video is not complete."),
    413: errorResponse("The body is larger than 16 KiB."),
    422: errorResponse("No such beat, or an unusable prompt; `field` names it."),
    429: retryAfterResponse(
      "Too many requests (`limit: rate_limit`) or too many of the tenant's videos in progress (`limit: concurrent_videos`). Wait `retry_after_seconds` (also the `Retry-After` header).",
    ),
  }),
});

export async function regenerateBeat(c: RouteContext<typeof regenerateRoute>): Promise<Response> {
  const { id, n } = c.req.valid("param");
  const run = c.get("run");
  const prompt = c.req.valid("json").prompt ?? null;
  // A regenerating video is processing again, so it takes one of the tenant's slots: reserved
  // in D1 before the run is asked, and given back if the run refuses.
  const slot = await reserveSlot(c, id);
  if (slot === "over_cap") return tooManyVideos(c);
  let outcome: RegenerateOutcome;
  try {
    outcome = (await run.regenerateBeat(n, prompt)) as RegenerateOutcome;
  } catch (error) {
    if (slot) await releaseSlot(c, slot);
    throw error;
  }
  if (!outcome.ok) {
    // A 409 from a run that is processing means a racing regeneration of this video was
    // accepted: the slot is its own now, and its index sync owns the row.
    const taken = outcome.status === 409 && slot && ["queued", "processing"].includes(((await run.snapshot()) as LiveSnapshot | null)?.status ?? "");
    if (slot && !taken) await releaseSlot(c, slot);
    return outcome.status === 422 ? invalid(c, { field: outcome.field ?? "n", message: outcome.error.replace(/^\w+: /, "") }) : c.json({ error: outcome.error } satisfies ErrorResponse, outcome.status);
  }
  return c.json({ video_id: id, beat: n, status: "processing", chunks: outcome.chunks, prompt: outcome.prompt } satisfies RegenerateBeatResponse, 202);
}

/** The index row of a complete video, as it was before its slot was reserved. */
interface Reservation {
  id: string;
  reservedAt: number;
  before: { current_phase: string; final_key: string | null; completed_at: number | null; updated_at: number };
}

/**
 * Take a slot for regenerating a complete video: one conditional UPDATE turns its index row to
 * what the run's index sync writes once the beat is accepted (processing, generating_chunks, no
 * final video), only while the tenant is under its cap — the same condition generate's INSERT
 * carries, so a generate and any number of regenerations racing can never pass the cap.
 * "over_cap" when refused; null when there is nothing to reserve: a row that is not complete
 * either already holds a slot (queued, processing — e.g. a racing regeneration of the same
 * video reserved it first) or belongs to a run that refuses the regeneration (failed, cancelled).
 */
async function reserveSlot(c: AppContext, id: string): Promise<Reservation | "over_cap" | null> {
  const tenant = c.get("principal").tenantId;
  const before = await c.env.DB.prepare("SELECT status, current_phase, final_key, completed_at, updated_at FROM videos WHERE id = ?1 AND tenant_id = ?2")
    .bind(id, tenant)
    .first<Reservation["before"] & { status: string }>();
  if (before?.status !== "complete") return null;
  // Strictly later than the row's last write, so releaseSlot can tell its own reservation apart.
  const reservedAt = Math.max(Date.now(), before.updated_at + 1);
  const reserved = await c.env.DB.prepare(
    `UPDATE videos SET status = 'processing', current_phase = 'generating_chunks', final_key = NULL, completed_at = NULL, updated_at = ?3
     WHERE id = ?1 AND tenant_id = ?2 AND status = 'complete' AND ${underConcurrencyCap("?2", "?4")}`,
  )
    .bind(id, tenant, reservedAt, c.get("config").maxConcurrentVideos)
    .run();
  if (reserved.meta.changes === 1) return { id, reservedAt, before: { current_phase: before.current_phase, final_key: before.final_key, completed_at: before.completed_at, updated_at: before.updated_at } };
  // Still complete: the cap refused it. Otherwise a racing regeneration of this video holds the slot.
  const now = await c.env.DB.prepare("SELECT status FROM videos WHERE id = ?1").bind(id).first<{ status: string }>();
  return now?.status === "complete" ? "over_cap" : null;
}

/**
 * Give a refused regeneration's slot back: the row returns to exactly what it was, unless
 * something else wrote it since (the run's own index sync, for a regeneration it accepted).
 */
async function releaseSlot(c: AppContext, slot: Reservation): Promise<void> {
  await c.env.DB.prepare(
    `UPDATE videos SET status = 'complete', current_phase = ?3, final_key = ?4, completed_at = ?5, updated_at = ?6
     WHERE id = ?1 AND status = 'processing' AND updated_at = ?2`,
  )
    .bind(slot.id, slot.reservedAt, slot.before.current_phase, slot.before.final_key, slot.before.completed_at, slot.before.updated_at)
    .run();
}
