import { type ErrorResponse, RegenerateBeatRequest, type RegenerateBeatResponse, type RegenerateOutcome } from "../../contracts/api.ts";
import type { LiveSnapshot } from "../../contracts/live.ts";
import { type AppContext, invalid, jsonBody } from "../app.ts";
import { tooManyVideos, underConcurrencyCap } from "./limits.ts";
import { ownedRun } from "./videos.ts";

/** POST /api/video/{id}/beats/{n}/regenerate — re-render one beat of a complete video. */

const MAX_BODY = 16 * 1024;

export async function regenerateBeat(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const n = c.req.param("n")!;
  const run = await ownedRun(c, id);
  if (!run) return c.json({ error: `video ${id} not found` } satisfies ErrorResponse, 404);
  if (!/^\d{1,3}$/.test(n)) return invalid(c, { field: "n", message: `beat ${JSON.stringify(n.slice(0, 20))} is not a beat index (0, 1, 2, …)` });
  // No body (or an empty one) keeps the beat's prompt.
  let value: unknown = {};
  if (c.req.header("content-length") !== "0" && c.req.raw.body) {
    const body = await jsonBody(c, MAX_BODY);
    if (!body.ok) {
      if (body.response.status !== 422) return body.response;
      // jsonBody's 422 is "not valid JSON": an empty body is not an error here.
      const raw = await c.req.text().catch(() => "x");
      if (raw.trim() !== "") return body.response;
    } else value = body.value;
  }
  const parsed = RegenerateBeatRequest.safeParse(value);
  if (!parsed.success) return invalid(c, parsed.error);
  const prompt = parsed.data.prompt ?? null;
  // A regenerating video is processing again, so it takes one of the tenant's slots: reserved
  // in D1 before the run is asked, and given back if the run refuses.
  const slot = await reserveSlot(c, id);
  if (slot === "over_cap") return tooManyVideos(c);
  let outcome: RegenerateOutcome;
  try {
    outcome = (await run.regenerateBeat(Number(n), prompt)) as RegenerateOutcome;
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
  return c.json({ video_id: id, beat: Number(n), status: "processing", chunks: outcome.chunks, prompt: outcome.prompt } satisfies RegenerateBeatResponse, 202);
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
