import { CompositeResponse, LastFrameResponse, NormalizeChunkResponse, type PaletteEntry, PaletteTransferResponse, ReframeResponse } from "../../contracts/media.ts";
import { MediaNodeError } from "../media/media-node.ts";
import { mediaKeys } from "../media/keys.ts";
import { acceptsEndImage, clipInput } from "../providers/models/clip.ts";
import type { ChunkLastFrame, ChunkOutput } from "../chunks/output.ts";
import { type ChunkConditioning, type Picture, conditioningOf } from "../chunks/conditioning.ts";
import { referenceDrift } from "../chunks/drift.ts";
import { ChunkJobInput } from "../chunks/job-input.ts";
import { ChunkPlan, stitchKeyframes } from "../chunks/plan.ts";
import { composePrompt } from "../planning/prompts.ts";
import { chunkDecorations, decorationsRevision } from "../chunks/decorations.ts";
import { decorationsFor, storedPiece } from "./assembly.ts";
import { CHUNK_WINDOW_URLS, type OwnWindowsInput } from "../chunks/windows.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { type ClaimedJob, type JobSteps, type StepDeps, type StepOutcome, outputUrl } from "./step.ts";

/**
 * One video chunk (SPEC §7). What it is conditioned on is decided by chunks/conditioning.ts
 * from the run's strategy (the request's `conditioning`, else `CONDITIONING`): under
 * `continuity` the start image is the storyboard frame or the previous chunk's exact last frame,
 * handed to the model as stored, plus, where the model takes one, an end frame cut from the
 * storyboard; under `composite` it is seed 003's blend, made by media-node. A chunk the run
 * re-anchored (chunks/drift.ts) starts from the previous last frame recoloured toward the
 * storyboard by media-node's palette transfer.
 */

interface ConditioningImages {
  startImage: string;
  endImage?: string;
}

async function conditioningImages(deps: StepDeps, claim: ClaimedJob, chunk: ChunkPlan, plan: ChunkConditioning, styleKey: string | null): Promise<ConditioningImages> {
  const videoId = claim.video.video_id;
  const spec = claim.video.spec!;
  const keyOf = (picture: Picture): string => {
    if (picture.kind === "storyboard") return mediaKeys.storyboard(videoId, chunk.beat_index);
    if (picture.kind === "last_frame") return mediaKeys.lastFrame(videoId, picture.chunk_num);
    if (picture.kind === "reanchored") return mediaKeys.reanchored(videoId, chunk.chunk_num);
    if (!styleKey) throw new Error("the composite needs a style reference and the run has none");
    return styleKey;
  };
  if (plan.strategy === "composite") {
    const compositeKey = mediaKeys.composite(videoId, chunk.chunk_num);
    const layers = await Promise.all(plan.layers.map(async (layer) => ({ url: await deps.url(keyOf(layer.picture)), weight: layer.weight })));
    await deps.media.call("/v1/media/images/composite", { layers, width: spec.width, height: spec.height, output_url: await deps.url(compositeKey, "put") }, CompositeResponse);
    return { startImage: await deps.url(compositeKey) };
  }
  if (plan.start.kind === "reanchored") {
    const target = await deps.url(keyOf({ kind: "storyboard" }));
    const source = await deps.url(keyOf({ kind: "last_frame", chunk_num: plan.start.chunk_num }));
    await deps.media.call("/v1/media/images/palette-transfer", { source_url: source, target_url: target, strength: plan.start.strength, output_url: await deps.url(keyOf(plan.start), "put") }, PaletteTransferResponse);
  }
  const startImage = await deps.url(keyOf(plan.start));
  if (!plan.end) return { startImage };
  const endKey = mediaKeys.endFrame(videoId, chunk.chunk_num);
  await deps.media.call(
    "/v1/media/images/reframe",
    { source_url: await deps.url(keyOf({ kind: "storyboard" })), ...plan.end, width: spec.width, height: spec.height, output_url: await deps.url(endKey, "put") },
    ReframeResponse,
  );
  return { startImage, endImage: await deps.url(endKey) };
}

export const chunkSteps: JobSteps = {
  async start(deps, claim) {
    const chunk = ChunkJobInput.parse(claim.job.input);
    const spec = claim.video.spec!;
    const model = deps.config.models.video;
    // The style layer sets the look of the world: never a logo blended into every first shot.
    const style = claim.references.find((r) => r.type === "environment") ?? claim.references.find((r) => r.type !== "logo");
    const plan = conditioningOf(chunk, claim.video.request.conditioning ?? deps.config.conditioning, {
      weights: deps.config.weights,
      fps: spec.fps,
      endFrames: acceptsEndImage(model),
      style: style !== undefined,
    });
    const images = await conditioningImages(deps, claim, chunk, plan, style?.key ?? null);
    const prompt = composePrompt(chunk.prompt, claim.video.consistency_context ?? "");
    const input = clipInput(model, {
      prompt,
      ...images,
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
  /**
   * The last frame first, from the raw clip: chunk k+1 of the beat waits for nothing else. The
   * chunk the phase ends with (a beat's last, no other chunk generating, the decorations known:
   * the claim's `endsPhase`) is normalized in this very step instead, its last frame written in the
   * same pass: publishing the frame first only put a media-node round trip and a report before
   * the pass the phase waits on. Refused busy, it takes the usual way.
   */
  async ingest(deps, claim) {
    const chunk = ChunkJobInput.parse(claim.job.input);
    const spec = claim.video.spec!;
    const lastFrameKey = mediaKeys.lastFrame(claim.video.video_id, chunk.chunk_num);
    if (claim.endsPhase && chunk.last_in_beat) {
      try {
        return await normalizePass(deps, claim, chunk, { input_url: outputUrl(claim), last_frame_url: await deps.url(lastFrameKey, "put") }, lastFrameKey, null);
      } catch (error) {
        if (!(error instanceof MediaNodeError && error.busyForSeconds !== undefined)) throw error;
      }
    }
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
        // The beat's last chunk: nothing is created from its frame, so chains' frames go first.
        chained: !chunk.last_in_beat,
        chain_after: chunk.chunks_in_beat - chunk.index_in_beat - 1,
      },
      LastFrameResponse,
    );
    return { kind: "publish", output: { last_frame_key: lastFrameKey, raw_key: rawKey, palette: frame.palette } satisfies ChunkLastFrame };
  },
  /** The normalize pass, off the beat's critical path (it runs on the media queue while the next chunk generates). */
  async normalize(deps, claim) {
    const published = claim.published as ChunkLastFrame;
    return normalizePass(deps, claim, ChunkJobInput.parse(claim.job.input), { input_url: await deps.url(published.raw_key) }, published.last_frame_key, published.palette);
  },
};

/**
 * A chunk's normalize pass: the provider's clip (`source.input_url`) conformed, decorated and
 * stored. `palette` is its last frame's, when published already; else the pass writes the frame
 * (`source.last_frame_url`) and answers its palette.
 */
async function normalizePass(deps: StepDeps, claim: ClaimedJob, chunk: ChunkJobInput, source: { input_url: string; last_frame_url?: string }, lastFrameKey: string, palette: PaletteEntry[] | null): Promise<StepOutcome> {
  const spec = claim.video.spec!;
  const videoId = claim.video.video_id;
  const key = mediaKeys.chunk(videoId, chunk.chunk_num);
  const drawn = claim.decorations ? chunkDecorations(claim.decorations, chunk, spec.fps) : null;
  const windowKeys = Array.from({ length: CHUNK_WINDOW_URLS }, (_, n) => mediaKeys.chunkWindow(videoId, chunk.chunk_num, n));
  const result = await deps.media.call(
    "/v1/media/chunks/normalize",
    {
      ...source,
      width: spec.width,
      height: spec.height,
      fps: spec.fps,
      frames: chunk.frames,
      // The stitcher copies whole spans between transition windows and overlays: a keyframe
      // where each ends and where the outgoing window begins keeps its re-encoding short.
      keyframes: stitchKeyframes(chunk, spec, claim.cues),
      output_url: await deps.url(key, "put"),
      video_id: videoId,
      ...(claim.endsPhase ? { ends_chunk_phase: true } : {}),
      // A draft's chunks are encoded faster for larger files; a standard video's at CHUNK_ENCODING's preset.
      ...(claim.video.request.quality === "draft" ? { preset: deps.config.draftChunkPreset } : {}),
      // Drawn in this pass, which encodes every frame anyway: the stitch then copies them.
      ...(drawn ? { decorations: { output_from_frame: chunk.video_start_frame, ...(await decorationsFor(deps, drawn)) } } : {}),
      ...(claim.windows ? { windows: await windowsRequest(deps, claim.windows, windowKeys) } : {}),
    },
    NormalizeChunkResponse,
  );
  const framePalette = palette ?? result.palette;
  const output: ChunkOutput = { key, last_frame_key: lastFrameKey, frames: result.frames, palette: framePalette, reference_drift: referenceDrift(framePalette, claim.references), keyframes: result.keyframes };
  if (drawn && result.decorated.length) output.decorated = { frames: result.decorated, revision: decorationsRevision(drawn, spec.fps) };
  if (claim.windows && result.windows?.length) {
    output.windows = result.windows.map((w) => ({ from_frame: w.from_frame, to_frame: w.to_frame, key: windowKeys[w.output]! }));
    output.windows_drawing = claim.windows.decorations;
    output.windows_read = claim.windows.read;
  }
  return { kind: "done", output: chunk.reanchor ? { ...output, reanchored_key: mediaKeys.reanchored(videoId, chunk.chunk_num) } : output };
}

/** The windows the last chunk leaves, as media-node renders them after its pass: its neighbours' stored copies, the decorations, where each goes. */
async function windowsRequest(deps: StepDeps, windows: OwnWindowsInput, keys: readonly string[]) {
  return {
    chunk: windows.chunk,
    chunks: await Promise.all(windows.chunks.map(async (c) => (c.key === null ? { frames: c.frames, url: null } : { frames: c.frames, ...(await storedPiece(deps, c.key)) }))),
    transitions: windows.transitions,
    ...(await decorationsFor(deps, windows.decorations)),
    output_urls: await Promise.all(keys.map((key) => deps.url(key, "put"))),
  };
}
