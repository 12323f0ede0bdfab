import { type Cue, cueFrames } from "../../contracts/media.ts";
import { type FrameRange, mergeRanges, subtract } from "../../lib/stitch-plan.ts";
import type { ChunkPlan } from "./plan.ts";

/**
 * Decorations drawn in a chunk's normalize pass (issue 16: the pass encodes every frame anyway,
 * so the stitch can copy the decorated frames instead of re-encoding them). Only the chunk's own
 * frames are drawn there: its transition overlaps are blended in windows, which draw on the
 * blend. What a chunk drew is recorded with a revision, an identity of the decorations as they
 * fall on its own frames, so the assembly subtracts those frames only while the run's
 * decorations still draw exactly that there.
 */

/** Stored overlay layers and held burned cues: what every window, seam measure and the assembly draw and plan with. */
export interface AssemblyDecorations {
  overlays: { key: string; from_frame: number; to_frame: number }[];
  cues: Cue[];
}

/** What a chunk's normalize pass drew: chunk frames [from, to), merged, and the revision of the decorations drawn. */
export interface ChunkDecorated {
  frames: FrameRange[];
  revision: string;
}

/** Output frames of the chunk's own region: between its incoming and outgoing transition overlaps. */
export function ownFrames(chunk: Pick<ChunkPlan, "video_start_frame" | "frames" | "seam_in" | "seam_out">): FrameRange {
  return { from: chunk.video_start_frame + (chunk.seam_in?.frames ?? 0), to: chunk.video_start_frame + chunk.frames - (chunk.seam_out?.frames ?? 0) };
}

/** The parts of `range` inside, or outside, the merged ranges `ranges`. */
function cut(range: FrameRange, ranges: readonly FrameRange[], side: "inside" | "outside"): FrameRange[] {
  if (side === "outside") return subtract(range, ranges);
  return ranges.map((r) => ({ from: Math.max(r.from, range.from), to: Math.min(r.to, range.to) })).filter((r) => r.to > r.from);
}

/**
 * The decorations' pieces inside or outside output frames `ranges`. A layer's piece is the same
 * layer over fewer frames; a cue's piece runs from `from/fps` to `to/fps`, which cueFrames maps
 * back to exactly those frames. The caption script (media-node finish/captions.ts, assScript)
 * draws a cue the same on every frame it covers (no fade, no animation), so a cue in pieces
 * draws the pixels the whole cue would.
 */
export function decorationPieces(decorations: AssemblyDecorations, ranges: readonly FrameRange[], side: "inside" | "outside", fps: number): AssemblyDecorations {
  const merged = mergeRanges(ranges);
  return {
    overlays: decorations.overlays.flatMap((o) => cut({ from: o.from_frame, to: o.to_frame }, merged, side).map((r) => (r.from === o.from_frame && r.to === o.to_frame ? o : { ...o, from_frame: r.from, to_frame: r.to }))),
    cues: decorations.cues.flatMap((cue) => {
      const whole = cueFrames(cue, fps);
      return cut(whole, merged, side).map((r): Cue => (r.from === whole.from && r.to === whole.to ? cue : { ...cue, start_s: r.from / fps, end_s: r.to / fps }));
    }),
  };
}

/**
 * An identity of decorations by what they draw where: each layer's stored key and output frames,
 * each cue's text and output frames (FNV-1a, 32 bits: it tells revisions of one run apart).
 */
export function decorationsRevision(decorations: AssemblyDecorations, fps: number): string {
  const canonical = JSON.stringify([
    decorations.overlays.map((o) => [o.key, o.from_frame, o.to_frame]),
    decorations.cues.map((c) => {
      const frames = cueFrames(c, fps);
      return [c.text, frames.from, frames.to];
    }),
  ]);
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) hash = Math.imul(hash ^ canonical.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** The decorations a chunk's normalize pass draws: those falling on its own frames; null when none do. */
export function chunkDecorations(decorations: AssemblyDecorations, chunk: Pick<ChunkPlan, "video_start_frame" | "frames" | "seam_in" | "seam_out">, fps: number): AssemblyDecorations | null {
  const drawn = decorationPieces(decorations, [ownFrames(chunk)], "inside", fps);
  return drawn.overlays.length || drawn.cues.length ? drawn : null;
}
