import type { Conditioning } from "../../contracts/api.ts";
import type { PaletteEntry } from "../../contracts/media.ts";
import { ChunkPlan } from "../../contracts/spec.ts";
import { paletteDistance } from "../../lib/color.ts";
import { beatEndView } from "./conditioning.ts";
import type { ChunkJobInput } from "./job-input.ts";

/**
 * Drift correction (docs/SEAMS.md), decided from numbers alone: when a chunk's last frame has
 * drifted from the references past the threshold, the next chunk of its beat is brought back.
 * If that next chunk is the beat's last and ends on an end frame cut from the storyboard, the
 * end frame already pulls the shot back inside the chunk, without a step at the seam. Otherwise
 * it starts from the exact last frame recoloured toward the beat's storyboard frame (media-node
 * `images/palette-transfer`: per pixel, so no ghost), not from the last frame itself.
 */

export type DriftCorrection =
  | { action: "end_frame"; chunk_num: number; next_chunk_num: number; drift: number; threshold: number }
  | { action: "reanchor"; chunk_num: number; next_chunk_num: number; drift: number; threshold: number; strength: number };

export interface DriftOptions {
  threshold: number;
  strategy: Conditioning;
  /** The video model has an end-frame input. */
  endFrames: boolean;
  fps: number;
}

/** ΔE2000 (share-weighted) of a frame's palette to the references' pooled palette; null without both. */
export function referenceDrift(palette: readonly PaletteEntry[], references: readonly { palette: readonly PaletteEntry[] }[]): number | null {
  const pooled = references.flatMap((r) => r.palette.map((p) => ({ lab: p.lab, share: p.share / references.length })));
  return pooled.length && palette.length ? Math.round(paletteDistance(palette, pooled) * 100) / 100 : null;
}

/**
 * How far to recolour: enough to bring the drift to ¾ of the threshold if the storyboard sits
 * on the references' palette (it was drawn conditioned on them) and the distance falls in
 * proportion to the strength; never more than all the way.
 */
export function reanchorStrength(drift: number, threshold: number): number {
  return Math.min(1, Math.round((1 - (0.75 * threshold) / drift) * 100) / 100);
}

/** What to do about `drifting` (whose last frame drifted by `drift`) for `next`, the following chunk of its beat; null when nothing. */
export function driftCorrection(drifting: ChunkPlan, next: ChunkPlan | undefined, drift: number | null, options: DriftOptions): DriftCorrection | null {
  // Under `composite` every start image already carries the storyboard; a beat's first chunk starts on its storyboard anyway.
  if (drift === null || drift <= options.threshold || options.strategy !== "continuity" || !next || next.first_in_beat || next.beat_index !== drifting.beat_index) return null;
  const facts = { chunk_num: drifting.chunk_num, next_chunk_num: next.chunk_num, drift, threshold: options.threshold };
  if (options.endFrames && beatEndView(next, options.fps)) return { action: "end_frame", ...facts };
  return { action: "reanchor", ...facts, strength: reanchorStrength(drift, options.threshold) };
}

/** The next chunk's job input: its plan, re-anchored when the correction says so (and only then, so a re-render that no longer drifts clears it). */
export function nextChunkInput(next: ChunkPlan, correction: DriftCorrection | null): ChunkJobInput {
  const plan = ChunkPlan.parse(next);
  if (correction?.action !== "reanchor") return plan;
  return { ...plan, reanchor: { from_chunk: correction.chunk_num, strength: correction.strength, drift: correction.drift } };
}
