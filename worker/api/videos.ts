import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { AspectRatio } from "../../contracts/spec.ts";
import { type CancelResponse, type ErrorResponse, type Phase, type StatusResponse, VideoId, type VideoList, VideoListQuery, type VideoResponse, type VideoStatus } from "../../contracts/api.ts";
import type { LiveSnapshot } from "../../contracts/live.ts";
import { type AppContext, invalid } from "../app.ts";
import { videos } from "../db/schema.ts";
import { signMediaUrl } from "../media/signed-url.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { consistencyReport } from "../references/consistency.ts";

/** Reading videos: status, full record, listing, cancel, live stream. A tenant only ever sees its own. */

/** The video's run, or null when the id is unknown or belongs to another tenant (both answer 404). */
export async function ownedRun(c: AppContext, id: string) {
  if (!VideoId.safeParse(id).success) return null;
  const rows = await drizzle(c.env.DB)
    .select({ id: videos.id })
    .from(videos)
    .where(and(eq(videos.id, id), eq(videos.tenantId, c.get("principal").tenantId)))
    .limit(1);
  if (!rows[0]) return null;
  return c.env.VIDEO_RUN.get(c.env.VIDEO_RUN.idFromName(id));
}

function notFound(c: AppContext, id: string): Response {
  return c.json({ error: `video ${id} not found` } satisfies ErrorResponse, 404);
}

export function statusOf(snapshot: LiveSnapshot): StatusResponse {
  return {
    video_id: snapshot.video_id,
    status: snapshot.status,
    progress: snapshot.progress,
    current_phase: snapshot.phase,
    estimated_time_remaining: snapshot.estimated_time_remaining,
    error: snapshot.error,
    cost_usd: snapshot.cost_usd,
    cost_estimate_usd: snapshot.cost_estimate?.total_usd ?? null,
  };
}

export async function status(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const run = await ownedRun(c, id);
  const snapshot = run ? (await run.snapshot()) as LiveSnapshot | null : null;
  if (!snapshot) return notFound(c, id);
  return c.json(statusOf(snapshot));
}

export async function videoRecord(c: AppContext, snapshot: LiveSnapshot): Promise<VideoResponse> {
  const config = c.get("config");
  const sign = (key: string) => signMediaUrl(config.publicBaseUrl, config.mediaSigningSecret, key, "get", config.mediaUrlTtlSeconds);
  const done = (kind: string) =>
    snapshot.jobs
      .filter((j) => j.kind === kind && j.status === "done")
      .sort((a, b) => a.idx - b.idx)
      .map((j) => snapshot.outputs[j.id] as { key: string; [k: string]: unknown });
  const references = done("reference") as unknown as ({ key: string } & Omit<VideoResponse["reference_images"][number], "url">)[];
  const finished = snapshot.status === "complete";
  const stitchedDone = snapshot.jobs.some((j) => j.kind === "stitch" && j.status === "done");
  return {
    video_id: snapshot.video_id,
    status: snapshot.status,
    current_phase: snapshot.phase,
    progress: snapshot.progress,
    prompt: snapshot.request.prompt,
    final_video_url: finished ? await sign(mediaKeys.final(snapshot.video_id)) : null,
    stitched_video_url: stitchedDone ? await sign(mediaKeys.stitched(snapshot.video_id)) : null,
    cost_usd: snapshot.cost_usd,
    cost_estimate: snapshot.cost_estimate,
    cost_by_phase: snapshot.cost_by_phase,
    cost_ledger: snapshot.cost_ledger.map(({ prediction_id, job_id, attempt, phase, model, estimate_usd, actual_usd, usd }) => ({ prediction_id, job_id, attempt, phase, model, estimate_usd, actual_usd, usd })),
    generation_time_seconds: snapshot.completed_at ? Math.round((snapshot.completed_at - snapshot.created_at) / 100) / 10 : null,
    created_at: new Date(snapshot.created_at).toISOString(),
    completed_at: snapshot.completed_at ? new Date(snapshot.completed_at).toISOString() : null,
    error: snapshot.error,
    spec: snapshot.spec,
    storyboard_images: await Promise.all(done("storyboard").map((o) => sign(o.key))),
    chunk_urls: await Promise.all(done("chunk").map((o) => sign(o.key))),
    reference_images: await Promise.all(
      references.map(async (r) => ({
        url: await sign(r.key),
        type: r.type,
        source: r.source,
        ...(r.asset ? { asset: r.asset } : {}),
        analysis: r.analysis,
        ...(r.analyser ? { analyser: r.analyser } : {}),
        ...(r.analysis_note ? { analysis_note: r.analysis_note } : {}),
      })),
    ),
    consistency_context: snapshot.consistency_context,
    ...consistencyOf(snapshot, c.get("config").consistencyDriftThreshold),
  };
}

/** Per-chunk colour consistency and its summary, once any chunk is done. */
function consistencyOf(snapshot: LiveSnapshot, threshold: number): Pick<VideoResponse, "consistency"> {
  const chunks = snapshot.jobs
    .filter((j) => j.kind === "chunk" && j.status === "done")
    .map((j) => ({ ...(snapshot.outputs[j.id] as ChunkOutput), chunk_num: j.idx, beat_index: j.beat }));
  return chunks.length ? { consistency: consistencyReport(chunks, threshold) } : {};
}

export async function video(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const run = await ownedRun(c, id);
  const snapshot = run ? (await run.snapshot()) as LiveSnapshot | null : null;
  if (!snapshot) return notFound(c, id);
  return c.json(await videoRecord(c, snapshot));
}

export async function cancel(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const run = await ownedRun(c, id);
  if (!run) return notFound(c, id);
  const cancelled = await run.cancel("cancelled by request");
  const snapshot = (await run.snapshot()) as LiveSnapshot | null;
  return c.json({ video_id: id, cancelled, status: snapshot?.status ?? "cancelled" } satisfies CancelResponse, cancelled ? 200 : 409);
}

export async function list(c: AppContext): Promise<Response> {
  const query = VideoListQuery.safeParse(c.req.query());
  if (!query.success) return invalid(c, query.error);
  const { status: wanted, limit, cursor } = query.data;
  const tenant = c.get("principal").tenantId;
  const conditions = [eq(videos.tenantId, tenant)];
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

export async function live(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  if (c.req.header("upgrade") !== "websocket") return c.json({ error: "expected a WebSocket upgrade" } satisfies ErrorResponse, 426);
  const run = await ownedRun(c, id);
  if (!run) return notFound(c, id);
  // Without `since` the snapshot is all a viewer gets before the live stream; with it (0: the whole log) the events after it are replayed.
  const since = c.req.query("since");
  return run.fetch(new Request(`https://run/live${since === undefined ? "" : `?since=${encodeURIComponent(since)}`}`, { headers: { upgrade: "websocket" } }));
}
