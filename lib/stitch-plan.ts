import type { TransitionType } from "../contracts/spec.ts";

/**
 * Where every output frame of a stitched video comes from, in whole frames.
 *
 * Chunk i occupies output frames [start_i, start_i + frames_i), start_i = Σ_{m<i}(frames_m −
 * overlap_m); its first `overlap_{i−1}` frames are blended with the previous chunk's last ones,
 * its last `overlap_i` frames with the next chunk's first ones. What lies between is the
 * chunk's own region, shown unchanged.
 *
 * The plan is a list of spans in output order: `copy` spans take a chunk's frames as they
 * are (joined by stream copy), `encode` spans are rendered through a filtergraph and encoded.
 * A copy may start only on a keyframe; with B-frames off it may end anywhere (see encoding.ts).
 *
 * Frames that carry an overlay or a burned caption (`marked` ranges, output frames) are drawn
 * on, so they are encoded too: a chunk's own region is copied only outside them, each copy
 * again from the first keyframe at or after where the marked range ends.
 */

/**
 * Chunks and joins that do not fit together: the caller's input is wrong (media-node answers
 * 422). Shared by the Worker, which plans the progressive assembly's windows, and media-node,
 * which renders and checks them, so both place every frame the same way.
 */
export class StitchPlanError extends Error {
  readonly statusCode = 422;
  /** The request field at fault (contracts/media.ts MediaError `field`): `chunks.2`, `transitions`. */
  readonly field: string;
  constructor(message: string, field: string) {
    super(message);
    this.field = field;
    this.name = "StitchPlanError";
  }
}

/** Output frames [from, to). */
export interface FrameRange {
  from: number;
  to: number;
}

/** Sorted, merged, without empty ranges. */
export function mergeRanges(ranges: readonly FrameRange[]): FrameRange[] {
  const sorted = ranges.filter((r) => r.to > r.from).sort((a, b) => a.from - b.from);
  const merged: FrameRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.from <= last.to) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged;
}

/** Chunk frames [from, to) under output ranges `ranges`, for a chunk of `frames` frames whose frame 0 lands at output frame `at`; merged. */
export function chunkFramesUnder(ranges: readonly FrameRange[], at: number, frames: number): FrameRange[] {
  return mergeRanges(ranges.map((r) => ({ from: Math.max(0, r.from - at), to: Math.min(frames, r.to - at) })));
}

/** `range` minus every (merged) range in `holes`. */
export function subtract(range: FrameRange, holes: readonly FrameRange[]): FrameRange[] {
  const parts: FrameRange[] = [];
  let from = range.from;
  for (const hole of holes) {
    if (hole.to <= from || hole.from >= range.to) continue;
    if (hole.from > from) parts.push({ from, to: hole.from });
    from = Math.max(from, hole.to);
  }
  if (from < range.to) parts.push({ from, to: range.to });
  return parts;
}

export interface PlanChunk {
  frames: number;
  /** Keyframe indexes; ignored when not `copyable`. */
  keyframes: readonly number[];
  /** Its bitstream can be spliced with ours (same SPS/PPS, no B-frames). */
  copyable: boolean;
}

export interface PlanJoin {
  type: TransitionType;
  /** Overlap in frames; 0 for a cut. */
  frames: number;
}

/** A run of one chunk's frames inside an encode span, and how it attaches to the run before it. */
export interface Piece {
  chunk: number;
  from: number;
  to: number;
  /** The transition from the previous piece's chunk; null for a span's first piece. */
  join: PlanJoin | null;
}

export type Span =
  | { kind: "copy"; chunk: number; from: number; to: number; at: number }
  | { kind: "encode"; at: number; to: number; pieces: Piece[] };

export interface Layout {
  /** Output frame where each chunk starts. */
  starts: number[];
  /** Σ frames − Σ overlaps. */
  total: number;
}

/** Check the joins fit the chunks and place the chunks on the output timeline. */
export function layoutChunks(chunks: readonly Pick<PlanChunk, "frames">[], joins: readonly PlanJoin[]): Layout {
  if (chunks.length === 0) throw new StitchPlanError("chunks: at least one chunk is needed", "chunks");
  if (joins.length !== chunks.length - 1) throw new StitchPlanError(`transitions: expected ${chunks.length - 1} entries, got ${joins.length}`, "transitions");
  joins.forEach((join, i) => {
    if ((join.type === "cut") !== (join.frames === 0)) throw new StitchPlanError(`transitions[${i}]: a cut has 0 overlap frames and a ${join.type} needs at least 1`, `transitions.${i}`);
  });
  const starts: number[] = [];
  let at = 0;
  chunks.forEach((chunk, i) => {
    const overlapIn = i > 0 ? joins[i - 1]!.frames : 0;
    const overlapOut = i < joins.length ? joins[i]!.frames : 0;
    if (chunk.frames < overlapIn + overlapOut) {
      throw new StitchPlanError(`chunks[${i}] has ${chunk.frames} frames, fewer than its transitions overlap (${overlapIn} in + ${overlapOut} out)`, `chunks.${i}`);
    }
    starts.push(at);
    at += chunk.frames - overlapOut;
  });
  return { starts, total: at };
}

/** Pieces of every chunk that intersects output frames [at, to), in order. */
function piecesBetween(chunks: readonly PlanChunk[], joins: readonly PlanJoin[], layout: Layout, at: number, to: number): Piece[] {
  const pieces: Piece[] = [];
  chunks.forEach((chunk, i) => {
    const start = layout.starts[i]!;
    const from = Math.max(0, at - start);
    const end = Math.min(chunk.frames, to - start);
    if (from >= end) return;
    pieces.push({ chunk: i, from, to: end, join: pieces.length === 0 ? null : joins[i - 1]! });
  });
  return pieces;
}

/** Everything re-encoded in one span: the reference method. */
export function planSinglePass(chunks: readonly PlanChunk[], joins: readonly PlanJoin[]): Span[] {
  const layout = layoutChunks(chunks, joins);
  return [{ kind: "encode", at: 0, to: layout.total, pieces: piecesBetween(chunks, joins, layout, 0, layout.total) }];
}

/**
 * Copy every chunk's own region from its first keyframe on; encode the rest (the overlap
 * windows, plus any frames before B's first keyframe after the overlap, plus chunks that
 * cannot be copied, plus the `marked` frames). Encode spans never start or end inside an
 * overlap: they start where a copyable run ends or a chunk starts, and stop where a copy or the
 * next chunk starts.
 */
export function planSeams(chunks: readonly PlanChunk[], joins: readonly PlanJoin[], marked: readonly FrameRange[] = []): Span[] {
  const layout = layoutChunks(chunks, joins);
  const holes = mergeRanges(marked);
  const copies: Extract<Span, { kind: "copy" }>[] = [];
  chunks.forEach((chunk, i) => {
    if (!chunk.copyable) return;
    const start = layout.starts[i]!;
    const ownFrom = i > 0 ? joins[i - 1]!.frames : 0;
    const ownTo = chunk.frames - (i < joins.length ? joins[i]!.frames : 0);
    const keyframes = [...chunk.keyframes].sort((a, b) => a - b);
    for (const part of subtract({ from: start + ownFrom, to: start + ownTo }, holes)) {
      const key = keyframes.find((k) => k >= part.from - start);
      if (key === undefined || start + key >= part.to) continue;
      copies.push({ kind: "copy", chunk: i, from: key, to: part.to - start, at: start + key });
    }
  });
  const spans: Span[] = [];
  let at = 0;
  const encode = (from: number, to: number) => {
    // Split where each chunk starts: a piece then reads two chunks at most, and is ready as soon
    // as those are (readySpans), however far the encoded frames run (a chunk under a decoration
    // it was not drawn with is re-encoded whole, between its two transitions).
    const cuts = [from, ...layout.starts.filter((s) => s > from && s < to), to];
    for (let i = 0; i + 1 < cuts.length; i++) spans.push({ kind: "encode", at: cuts[i]!, to: cuts[i + 1]!, pieces: piecesBetween(chunks, joins, layout, cuts[i]!, cuts[i + 1]!) });
  };
  for (const copy of copies) {
    if (copy.at > at) encode(at, copy.at);
    spans.push(copy);
    at = copy.at + (copy.to - copy.from);
  }
  if (at < layout.total) encode(at, layout.total);
  return spans;
}

export function spanFrames(span: Span): number {
  return span.kind === "copy" ? span.to - span.from : span.to - span.at;
}

/** Chunks an encode span reads, in order. */
export function spanChunks(span: Extract<Span, { kind: "encode" }>): number[] {
  return [...new Set(span.pieces.map((p) => p.chunk))];
}

/**
 * The encode spans (transition windows, decorated frames) that can be rendered now, with only
 * some chunks normalized (`null` for one that is not). A chunk not yet known is planned as
 * uncopyable, so every span next to it grows into it and is not ready; a span whose chunks are
 * all known is bounded by copies of known chunks, which later chunks never move (a chunk's
 * copies depend on its own keyframes, the layout and the marked frames only). So each span
 * returned here is exactly the one the whole plan will have: progressive assembly renders it
 * as soon as the chunks it reads and the copies around it are known (usually when the second
 * of its two chunks lands), and the final plan finds it ready.
 */
export function readySpans(chunks: readonly (PlanChunk | null)[], declaredFrames: readonly number[], joins: readonly PlanJoin[], marked: readonly FrameRange[] = []): Extract<Span, { kind: "encode" }>[] {
  const known = chunks.map((c, i) => c ?? { frames: declaredFrames[i]!, keyframes: [], copyable: false });
  return planSeams(known, joins, marked).filter((s): s is Extract<Span, { kind: "encode" }> => s.kind === "encode" && spanChunks(s).every((i) => chunks[i] !== null));
}

/**
 * Where each output frame of the assembled video is stored, span by span: a copy span in its
 * chunk's file (from the span's first chunk frame), an encode span in the window rendered for
 * it (keyed by its first output frame). The seam measures of progressive assembly read these.
 */
export type AssemblyPiece = { from_frame: number; to_frame: number; file_from_frame: number } & ({ chunk: number } | { window: number });

export function assemblyPieces(spans: readonly Span[]): AssemblyPiece[] {
  return spans.map((span) =>
    span.kind === "copy"
      ? { from_frame: span.at, to_frame: span.at + spanFrames(span), file_from_frame: span.from, chunk: span.chunk }
      : { from_frame: span.at, to_frame: span.to, file_from_frame: 0, window: span.at },
  );
}
