import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { z } from "zod";
import { type Conditioning, SeamReport } from "../contracts/api.ts";
import type { LiveSnapshot } from "../contracts/live.ts";
import { DRAFT_MODELS } from "../contracts/draft-models.ts";
import { ChunkPlan, type VideoSpec, copyLayers } from "../contracts/spec.ts";
import type { AdreelClient } from "../cli/client.ts";
import { type DecoratedRows, decoratedRows } from "../media-node/video/seam-decorations.ts";
import { analysisSize } from "../media-node/video/frames.ts";
import type { Stack } from "../scripts/stack.ts";
import { type ChunkConditioning, DEFAULT_CONDITIONING, DEFAULT_WEIGHTS, conditioningOf } from "../worker/chunks/conditioning.ts";
import { mediaKeys } from "../worker/media/keys.ts";
import { measuredSeams } from "../worker/references/seam-scores.ts";
import { signMediaUrl } from "../worker/media/signed-url.ts";
import { acceptsEndImage } from "../worker/providers/models/clip.ts";
import { liveSnapshot } from "./event-log.ts";

/**
 * Everything a finished ad on the local stack is made of, for measuring it: the final MP4, the
 * run as its Durable Object holds it (spec, chunk plan, every job's output), what each chunk
 * was conditioned on, and the stored pictures (storyboard frames, references, last frames,
 * end frames, composites) read through signed media URLs.
 */

/** What the stitch job stored (worker/steps/stitch.ts `StitchOutput`), as far as measuring needs it. */
export const StitchedOutput = z.object({ encode_seconds: z.number(), frames: z.number(), seams: SeamReport.nullable(), seams_error: z.string().optional() });
export type StitchedOutput = z.infer<typeof StitchedOutput>;

export interface MadeAd {
  videoId: string;
  spec: VideoSpec;
  plan: ChunkPlan[];
  snapshot: LiveSnapshot;
  conditioning: Conditioning;
  /** What chunks/conditioning.ts decided for each chunk (by chunk_num). */
  conditioned: ChunkConditioning[];
  finalPath: string;
  stitch: StitchedOutput;
  /**
   * Rows of the analysis frames the ad's finish covers, and when: the copy's layers over their
   * windows (their stored images' opaque rows) and the caption band over every frame (any frame
   * may carry a held cue), as media-node's seam measures find them (video/seam-decorations.ts).
   */
  decorated: DecoratedRows[];
  /** The stored picture at an R2 key as RGB at width×height; null when there is none. */
  picture(key: string, width: number, height: number): Promise<Buffer | null>;
  /** The R2 key of the environment reference: the composite's style layer. */
  styleKey: string | null;
}

export async function fetchMadeAd(stack: Pick<Stack, "workerUrl" | "secrets">, client: AdreelClient, apiKey: string, videoId: string, dir: string): Promise<MadeAd> {
  const snapshot = await liveSnapshot(stack.workerUrl, apiKey, videoId);
  if (snapshot.status !== "complete") throw new Error(`video ${videoId} is ${snapshot.status}: ${snapshot.error}`);
  const spec = snapshot.spec!;
  const plan = (snapshot.chunk_plan ?? []).map((c) => ChunkPlan.parse(c)).sort((a, b) => a.chunk_num - b.chunk_num);
  const video = await client.video(videoId);
  const finalPath = join(dir, `${videoId}.mp4`);
  await client.download(video.final_video_url!, finalPath);
  const references = snapshot.jobs.filter((j) => j.kind === "reference" && j.status === "done").map((j) => snapshot.outputs[j.id] as { key: string; type: string });
  const style = references.find((r) => r.type === "environment") ?? references.find((r) => r.type !== "logo");
  // The local stack runs the draft models with the configuration's defaults (worker/config.ts).
  const conditioning = snapshot.request.conditioning ?? DEFAULT_CONDITIONING;
  const options = { weights: DEFAULT_WEIGHTS, fps: spec.fps, endFrames: acceptsEndImage(DRAFT_MODELS.video), style: style !== undefined };
  const sign = (key: string) => signMediaUrl(stack.workerUrl, stack.secrets.MEDIA_SIGNING_SECRET, key, "get", 3600);
  const cache = new Map<string, Promise<Buffer | null>>();
  const picture = (key: string, width: number, height: number) => {
    const id = `${key}@${width}x${height}`;
    let pending = cache.get(id);
    if (!pending) {
      pending = (async () => {
        const url = await sign(key);
        const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        if (response.status === 404) return null;
        if (!response.ok) throw new Error(`reading ${key}: ${response.status}`);
        return sharp(Buffer.from(await response.arrayBuffer())).resize(width, height, { fit: "fill", kernel: "cubic" }).removeAlpha().raw().toBuffer();
      })();
      cache.set(id, pending);
    }
    return pending;
  };
  const overlays = await Promise.all(copyLayers(spec).map(async ({ layer, from_frame, to_frame }) => ({ url: await sign(mediaKeys.overlay(videoId, layer)), from_frame, to_frame })));
  const everyFrame = { start_s: 0, end_s: spec.total_frames / spec.fps, text: "caption band" };
  const layersDir = join(dir, `${videoId}-finish`);
  mkdirSync(layersDir, { recursive: true });
  const decorated = await decoratedRows({ overlays, captions: { cues: [everyFrame] } }, spec, analysisSize(spec.width, spec.height), layersDir);
  return {
    videoId,
    spec,
    plan,
    decorated,
    snapshot,
    conditioning,
    conditioned: plan.map((chunk) => conditioningOf(chunk, conditioning, options)),
    finalPath,
    // A progressive assembly (the default) has no one stitch: the assembly's encode and its measured seams.
    stitch: StitchedOutput.parse(snapshot.outputs.stitch ?? { ...(snapshot.outputs.mux as object), ...measuredSeams(snapshot) }),
    picture,
    styleKey: style?.key ?? null,
  };
}

/** R2 keys of the pictures chunk `n` may have been made from: its storyboard frame, the style reference, the previous chunk's last frame, its end frame. */
export function sourceKeys(ad: MadeAd, chunk: ChunkPlan): string[] {
  const plan = ad.conditioned[chunk.chunk_num]!;
  return [
    mediaKeys.storyboard(ad.videoId, chunk.beat_index),
    ...(ad.styleKey ? [ad.styleKey] : []),
    ...(chunk.first_in_beat ? [] : [mediaKeys.lastFrame(ad.videoId, chunk.chunk_num - 1)]),
    ...(plan.strategy === "continuity" && plan.end ? [mediaKeys.endFrame(ad.videoId, chunk.chunk_num)] : []),
  ];
}
