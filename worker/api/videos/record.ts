import { createRoute } from "@hono/zod-openapi";
import { VideoResponse } from "../../../contracts/api.ts";
import type { LiveSnapshot } from "../../../contracts/live.ts";
import type { AppContext } from "../../app.ts";
import type { ChunkOutput } from "../../chunks/output.ts";
import { mediaKeys } from "../../media/keys.ts";
import { signMediaUrl } from "../../media/signed-url.ts";
import { consistencyReport } from "../../references/consistency.ts";
import { measuredSeams } from "../../references/seam-scores.ts";
import { chooseReferences, missingReference } from "../../references/selection.ts";
import type { SoundtrackOutput } from "../../steps/voice.ts";
import { API_KEY, apiResponses, jsonResponse, ownVideo, type RouteContext, UNKNOWN_VIDEO, VideoPath, videoNotFound } from "../router.ts";

export const videoRoute = createRoute({
  method: "get",
  path: "/video/{id}",
  operationId: "getVideo",
  tags: ["videos"],
  summary: "A video's full record",
  description:
    "Everything about a video: its spec, reference images with their analysis, storyboard frames, the chunks generated so far, the final MP4, its copy, the voice track and the WebVTT captions, cost by phase and timings. Media URLs are signed and expire (see the media routes).",
  security: API_KEY,
  middleware: [ownVideo] as const,
  request: { params: VideoPath },
  responses: apiResponses({ 200: jsonResponse(VideoResponse, "The record."), 404: UNKNOWN_VIDEO }),
});

export async function video(c: RouteContext<typeof videoRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  const snapshot = (await c.get("run").snapshot()) as LiveSnapshot | null;
  return snapshot ? c.json(await videoRecord(c, snapshot)) : videoNotFound(c, id);
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
  const chunks = done("chunk");
  const stitchedDone = snapshot.jobs.some((j) => j.id === "stitch" && j.status === "done");
  return {
    video_id: snapshot.video_id,
    status: snapshot.status,
    current_phase: snapshot.phase,
    progress: snapshot.progress,
    prompt: snapshot.request.prompt,
    final_video_url: finished ? await sign(mediaKeys.final(snapshot.video_id)) : null,
    stitched_video_url: stitchedDone ? await sign(mediaKeys.stitched(snapshot.video_id)) : null,
    cost_usd: snapshot.cost_usd,
    cost_pending_usd: snapshot.cost_pending_usd,
    cost_estimate: snapshot.cost_estimate,
    cost_by_phase: snapshot.cost_by_phase,
    cost_ledger: snapshot.cost_ledger.map(({ prediction_id, job_id, attempt, phase, model, estimate_usd, actual_usd, usd }) => ({ prediction_id, job_id, attempt, phase, model, estimate_usd, actual_usd, usd })),
    generation_time_seconds: snapshot.completed_at ? Math.round((snapshot.completed_at - snapshot.created_at) / 100) / 10 : null,
    created_at: new Date(snapshot.created_at).toISOString(),
    completed_at: snapshot.completed_at ? new Date(snapshot.completed_at).toISOString() : null,
    error: snapshot.error,
    spec: snapshot.spec,
    storyboard_images: await Promise.all(done("storyboard").map((o) => sign(o.key))),
    chunk_urls: await Promise.all(chunks.map((o) => sign(o.key))),
    chunk_frame_urls: await Promise.all(chunks.map((o) => (typeof o.last_frame_key === "string" ? sign(o.last_frame_key) : null))),
    poster_url: finished && typeof chunks.at(-1)?.last_frame_key === "string" ? await sign(chunks.at(-1)!.last_frame_key as string) : null,
    missing_references: snapshot.jobs
      .filter((j) => j.kind === "reference" && j.status === "failed")
      .flatMap((j) => {
        const planned = chooseReferences(snapshot.request).find((r) => r.index === j.idx);
        return planned ? [missingReference(planned, j.error)] : [];
      })
      .sort((a, b) => a.index - b.index),
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
    ...consistencyOf(snapshot, config.consistencyDriftThreshold),
    quality: snapshot.request.quality,
    ...(await lineage(c.env.DB, snapshot.video_id)),
    copy: snapshot.spec?.copy ?? null,
    ...(await soundtrackUrls(snapshot, sign)),
  };
}

/** The voice track and the captions, once a voiced ad's soundtrack mix has stored them. */
async function soundtrackUrls(snapshot: LiveSnapshot, sign: (key: string) => Promise<string>): Promise<Pick<VideoResponse, "captions_url" | "voice_url">> {
  const mixed = snapshot.jobs.some((j) => j.kind === "soundtrack" && j.status === "done");
  const output = mixed ? (snapshot.outputs.soundtrack as SoundtrackOutput | undefined) : undefined;
  return {
    captions_url: output?.captions_key ? await sign(output.captions_key) : null,
    voice_url: output?.voice_key ? await sign(output.voice_key) : null,
  };
}

/** The draft a video was rendered from and the videos rendered from it (D1 keeps the link). */
async function lineage(db: D1Database, videoId: string): Promise<Pick<VideoResponse, "rendered_from" | "renders">> {
  const { results } = await db.prepare("SELECT id, rendered_from FROM videos WHERE id = ?1 OR rendered_from = ?1 ORDER BY created_at, id").bind(videoId).all<{ id: string; rendered_from: string | null }>();
  return {
    rendered_from: results.find((r) => r.id === videoId)?.rendered_from ?? null,
    renders: results.filter((r) => r.rendered_from === videoId).map((r) => r.id),
  };
}

/** Per-chunk colour consistency once any chunk is done, and every seam's scores once the stitch has measured them. */
function consistencyOf(snapshot: LiveSnapshot, threshold: number): Pick<VideoResponse, "consistency"> {
  const chunks = snapshot.jobs
    .filter((j) => j.kind === "chunk" && j.status === "done")
    .map((j) => ({ ...(snapshot.outputs[j.id] as ChunkOutput), chunk_num: j.idx, beat_index: j.beat }));
  // Only a finished stitch has an output (a regenerated beat removes the job, and its seams with it);
  // a progressive assembly's seams are in its measures' outputs, scored once all are in.
  const stitch = snapshot.outputs.stitch ?? measuredSeams(snapshot);
  return chunks.length ? { consistency: consistencyReport(chunks, threshold, stitch) } : {};
}
