import { DRAFT_MODELS } from "../../../contracts/draft-models.ts";
import { type ClipContract, clipContractOf, modelName } from "../../../contracts/model-contracts.ts";
import type { ClipRequest } from "./requests.ts";
import { UnknownModel } from "./image.ts";

/**
 * Video models: one chunk of a beat per prediction, from a start image (and optionally toward
 * an end image). The clip is asked for at the model's native frame rate, long enough to cover
 * the chunk and never longer than the model's contract allows; normalize converts it to 24 fps
 * without changing the motion's speed (media-node/video/normalize.ts).
 */

/** Frames at the model's rate that cover `frames` at the ad's rate, before the model's minimum. */
export function nativeFramesNeeded(contract: ClipContract, frames: number, fps: number): number {
  // The 1e-9 keeps an exact product (e.g. 120 × 16 / 24 = 80) from rounding up through float noise.
  return Math.ceil((frames * contract.fps) / fps - 1e-9);
}

/** Frames one prediction renders (and, for per-frame prices, is billed for) to cover the chunk. */
export function nativeFrames(contract: ClipContract, frames: number, fps: number): number {
  const needed = nativeFramesNeeded(contract, frames, fps);
  if (needed > contract.max_frames) {
    throw new RangeError(`${contract.model} renders at most ${contract.max_frames} frames at ${contract.fps} fps; a chunk of ${frames} frames at ${fps} fps needs ${needed}`);
  }
  return Math.max(contract.min_frames, needed);
}

type ClipAdapter = (request: ClipRequest, contract: ClipContract) => Record<string, unknown>;

const CLIP_ADAPTERS: Record<string, ClipAdapter> = {
  [DRAFT_MODELS.video]: (r, contract) => ({
    prompt: r.prompt,
    start_image: r.startImage,
    ...(r.endImage ? { last_image: r.endImage } : {}),
    num_frames: nativeFrames(contract, r.frames, r.fps),
    fps: contract.fps,
    width: r.width,
    height: r.height,
    camera: r.camera,
    seed: r.seed,
  }),
  /**
   * Wan 2.2 i2v fast: 81..121 frames for 16 fps motion, priced per video whatever the length,
   * so the chunk plan makes chunks that use what is paid for. There is no aspect_ratio input:
   * the framing follows the start image (upstream Wan keeps the image's aspect inside the
   * resolution's pixel area). A 1:1 start image is therefore sent as is; whether Replicate's
   * build keeps it square is not published, and normalize covers and centre-crops whatever
   * size comes back, so a wider clip loses its sides rather than being stretched.
   * `interpolate_output` stays off: what it does to the delivered frames is not published, and
   * it moves the price to the "interpolate" tier.
   */
  "wan-video/wan-2.2-i2v-fast": (r, contract) => ({
    image: r.startImage,
    ...(r.endImage ? { last_image: r.endImage } : {}),
    prompt: r.prompt,
    num_frames: nativeFrames(contract, r.frames, r.fps),
    frames_per_second: contract.fps,
    resolution: r.resolution,
    go_fast: true,
    interpolate_output: false,
    seed: r.seed,
  }),
};

export function clipInput(model: string, request: ClipRequest): Record<string, unknown> {
  const adapter = CLIP_ADAPTERS[modelName(model)];
  const contract = clipContractOf(model);
  if (!adapter || !contract) throw new UnknownModel(model, "video", Object.keys(CLIP_ADAPTERS));
  return adapter(request, contract);
}

export const VIDEO_MODELS: readonly string[] = Object.keys(CLIP_ADAPTERS);

/**
 * Video models with an end-frame input, which chunks/conditioning.ts may give a beat's last
 * chunk: the draft model's `last_image` and Wan 2.2's (its vendored schema, captured 2026-10-05).
 */
const END_IMAGE_MODELS = new Set<string>([DRAFT_MODELS.video, "wan-video/wan-2.2-i2v-fast"]);

export function acceptsEndImage(model: string): boolean {
  return END_IMAGE_MODELS.has(modelName(model));
}
