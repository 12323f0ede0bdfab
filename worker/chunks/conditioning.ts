import type { Conditioning } from "../../contracts/api.ts";
import type { ChunkPlan } from "../../contracts/spec.ts";
import { type CameraView, shotTravel, viewInsideFrame } from "../../lib/camera.ts";
import type { ChunkJobInput } from "./job-input.ts";

/**
 * What each chunk is conditioned on (docs/SEAMS.md), decided from the plan alone; the chunk
 * step (steps/chunk.ts) turns it into image URLs.
 *
 * `continuity` (the default):
 * - a beat's first chunk starts from the beat's storyboard frame, which already carries the
 *   references' look; every later chunk starts from the previous chunk's exact last frame (the
 *   stored PNG, not a re-encode), so the join inside a beat is a step of the same shot;
 * - the storyboard keeps steering the rest of the beat through the video model's end-frame
 *   input, where it has one, on the beat's last chunk only: it ends on the storyboard frame seen
 *   from where the beat's camera move arrives (lib/camera.ts `shotTravel`). Never on the
 *   storyboard frame itself, which the beat opened on: the viewer would watch the shot travel
 *   and then return to its first picture. Only moves whose end view lies inside the storyboard
 *   frame get one (a push-in); a pull-out, a pan past the frame's edge or a still camera would
 *   need pixels the storyboard does not have, or would end where the beat began. A beat of one
 *   chunk gets none: it starts on its storyboard and has no chain to drift along, and an end
 *   frame would only hold its motion to a zoom. Middle chunks get none either: each would pin
 *   the subject to the storyboard's pose at every seam. Without an end frame, the prompt (the
 *   beat's own, "continuous shot, part k of n", and the consistency context) steers.
 * - a chunk the run re-anchored (chunks/drift.ts: the previous chunk drifted from the
 *   references) starts from that exact last frame recoloured toward the storyboard instead.
 *
 * `composite` (seed 003, SPEC §7.2): a weighted blend as the start image, the weights from
 * the configuration: the first chunk of a beat is storyboard + style reference, every later one
 * previous last frame + storyboard. Image-to-video models open on their start image, so these
 * chunks open on a double exposure; it is kept because the seed specifies it.
 */

/** A picture the run already has, or (`reanchored`) a chunk's last frame recoloured toward the storyboard. */
export type Picture = { kind: "storyboard" } | { kind: "style" } | { kind: "last_frame"; chunk_num: number } | { kind: "reanchored"; chunk_num: number; strength: number };

export type ChunkConditioning =
  | { strategy: "continuity"; start: Picture; end: CameraView | null }
  | { strategy: "composite"; layers: { picture: Picture; weight: number }[] };

export interface CompositeWeights {
  storyboard: number;
  style: number;
  previousFrame: number;
  storyboardAfterFirst: number;
}

/** Unless configured (worker/config.ts): the default strategy, and seed 003's 70/30 weights (SPEC §7.2). */
export const DEFAULT_CONDITIONING: Conditioning = "continuity";
export const DEFAULT_WEIGHTS: CompositeWeights = { storyboard: 0.7, style: 0.3, previousFrame: 0.7, storyboardAfterFirst: 0.3 };

export interface ConditioningOptions {
  weights: CompositeWeights;
  fps: number;
  /** The video model has an end-frame input (providers/models/clip.ts `acceptsEndImage`). */
  endFrames: boolean;
  /** A style reference exists (the composite's second layer of a beat's first chunk). */
  style: boolean;
}

/** Where the beat's camera arrives, for the beat's last chunk when it gets an end frame; else null. */
export function beatEndView(chunk: ChunkPlan, fps: number): CameraView | null {
  if (!chunk.last_in_beat || chunk.chunks_in_beat < 2) return null;
  // The last chunk ends where the beat's rendered frames end.
  const view = shotTravel(chunk.camera, (chunk.start_frame + chunk.frames) / fps);
  return viewInsideFrame(view) ? view : null;
}

export function conditioningOf(chunk: ChunkJobInput, strategy: Conditioning, options: ConditioningOptions): ChunkConditioning {
  const previous: Picture = { kind: "last_frame", chunk_num: chunk.chunk_num - 1 };
  if (strategy === "composite") {
    const { weights } = options;
    const layers = chunk.first_in_beat
      ? [{ picture: { kind: "storyboard" } as Picture, weight: weights.storyboard }, ...(options.style ? [{ picture: { kind: "style" } as Picture, weight: weights.style }] : [])]
      : [
          { picture: previous, weight: weights.previousFrame },
          { picture: { kind: "storyboard" } as Picture, weight: weights.storyboardAfterFirst },
        ];
    return { strategy, layers };
  }
  const start: Picture = chunk.first_in_beat ? { kind: "storyboard" } : chunk.reanchor ? { kind: "reanchored", chunk_num: chunk.reanchor.from_chunk, strength: chunk.reanchor.strength } : previous;
  return { strategy, start, end: options.endFrames ? beatEndView(chunk, options.fps) : null };
}
