import { paletteDistance } from "../../lib/color.ts";
import { AnalyzeImageResponse, CompositeResponse, LastFrameResponse, NormalizeChunkResponse } from "../../contracts/media.ts";
import { mediaKeys } from "../media/keys.ts";
import { clipInput } from "../providers/models/clip.ts";
import type { ChunkLastFrame, ChunkOutput } from "../chunks/output.ts";
import { ChunkPlan, stitchKeyframes } from "../chunks/plan.ts";
import { composePrompt } from "../planning/prompts.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { type JobSteps, outputUrl } from "./step.ts";

/**
 * One video chunk (SPEC §7). Its conditioning image is a composite: the first chunk
 * of a beat blends the beat's storyboard frame with the style reference; every later chunk
 * blends the previous chunk's last frame with the storyboard frame, so motion continues
 * across the cut while the beat stays on its board.
 */

export const chunkSteps: JobSteps = {
  async start(deps, claim) {
    const chunk = ChunkPlan.parse(claim.job.input);
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const { weights } = deps.config;
    const storyboard = await deps.url(mediaKeys.storyboard(videoId, chunk.beat_index));
    // The style layer sets the look of the world: never a logo blended into every first shot.
    const style = claim.references.find((r) => r.type === "environment") ?? claim.references.find((r) => r.type !== "logo");
    const layers = chunk.first_in_beat
      ? [{ url: storyboard, weight: weights.storyboard }, ...(style ? [{ url: await deps.url(style.key), weight: weights.style }] : [])]
      : [
          { url: await deps.url(mediaKeys.lastFrame(videoId, chunk.chunk_num - 1)), weight: weights.previousFrame },
          { url: storyboard, weight: weights.storyboardAfterFirst },
        ];
    const compositeKey = mediaKeys.composite(videoId, chunk.chunk_num);
    await deps.media.call("/v1/media/images/composite", { layers, width: spec.width, height: spec.height, output_url: await deps.url(compositeKey, "put") }, CompositeResponse);
    const model = deps.config.models.video;
    const prompt = composePrompt(chunk.prompt, claim.video.consistency_context ?? "");
    const input = clipInput(model, {
      prompt,
      startImage: await deps.url(compositeKey),
      frames: chunk.frames,
      fps: spec.fps,
      width: spec.width,
      height: spec.height,
      aspectRatio: spec.aspect_ratio,
      resolution: deps.config.models.videoResolution ?? "480p",
      camera: chunk.camera,
      // A new attempt (a retry or a regenerated beat) must not repeat the same render.
      seed: spec.seed + 1000 + chunk.chunk_num + 7919 * (claim.job.attempt - 1),
    });
    // Priced from the input itself: Wan bills per video by the resolution it was asked for.
    return { kind: "predict", model, input, estimateUsd: estimatePrediction(deps.config, model, chunk.frames / spec.fps, input) };
  },
  /** The last frame first, from the raw clip: chunk k+1 of the beat waits for nothing else. */
  async ingest(deps, claim) {
    const chunk = ChunkPlan.parse(claim.job.input);
    const spec = claim.video.spec!;
    const lastFrameKey = mediaKeys.lastFrame(claim.video.video_id, chunk.chunk_num);
    const rawKey = mediaKeys.rawChunk(claim.video.video_id, chunk.chunk_num);
    const frame = await deps.media.call(
      "/v1/media/chunks/last-frame",
      {
        input_url: outputUrl(claim),
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        frames: chunk.frames,
        last_frame_url: await deps.url(lastFrameKey, "put"),
        raw_url: await deps.url(rawKey, "put"),
      },
      LastFrameResponse,
    );
    return { kind: "publish", output: { last_frame_key: lastFrameKey, raw_key: rawKey, palette: frame.palette } satisfies ChunkLastFrame };
  },
  /** The normalize pass, off the beat's critical path (it runs on the media queue while the next chunk generates). */
  async normalize(deps, claim) {
    const chunk = ChunkPlan.parse(claim.job.input);
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const key = mediaKeys.chunk(videoId, chunk.chunk_num);
    const published = claim.published as ChunkLastFrame;
    // Measured alongside normalization; a measurement failure must not fail the chunk.
    const startPalette = deps.url(mediaKeys.composite(videoId, chunk.chunk_num))
      .then((url) => deps.media.call("/v1/media/images/analyze", { url }, AnalyzeImageResponse, 60_000))
      .then((stats) => stats.palette)
      .catch((error: Error) => {
        deps.log.warn("chunk.palette_unmeasured", { chunk: chunk.chunk_num, error });
        return null;
      });
    const result = await deps.media.call(
      "/v1/media/chunks/normalize",
      {
        input_url: await deps.url(published.raw_key),
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        frames: chunk.frames,
        // The stitcher copies whole spans between transition windows and overlays: a keyframe
        // where each ends and where the outgoing window begins keeps its re-encoding short.
        keyframes: stitchKeyframes(chunk, spec, claim.cues),
        output_url: await deps.url(key, "put"),
      },
      NormalizeChunkResponse,
    );
    const palette = published.palette;
    const referencePalette = claim.references.flatMap((r) => r.palette.map((p) => ({ lab: p.lab, share: p.share / claim.references.length })));
    const drift = referencePalette.length && palette.length ? Math.round(paletteDistance(palette, referencePalette) * 100) / 100 : null;
    return { kind: "done", output: { key, last_frame_key: published.last_frame_key, frames: result.frames, palette, reference_drift: drift, start_palette: await startPalette, keyframes: result.keyframes } satisfies ChunkOutput };
  },
};
