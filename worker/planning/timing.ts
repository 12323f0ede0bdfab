import { type ClipContract, FPS, clipMaxOutputFrames } from "../../contracts/spec.ts";

/**
 * Frame-exact timing. Beat lengths are whole frames whose sum is exactly the ad's length;
 * each beat's outgoing transition is rendered as extra frames after its on-screen frames
 * (see contracts/spec.ts), so overlaps never eat into the total.
 */

/** Video models render clips of up to this many frames (2 s at 24 fps). */
export const CHUNK_FRAMES = 48;

/** The least share of a clip's paid frames a chunk must use (issue 12: waste ≤ 10 % per video). */
export const MIN_CLIP_USE = 0.9;

/**
 * A clip contract in rendered frames at 24 fps: the longest chunk one prediction covers, and
 * the shortest that still uses MIN_CLIP_USE of the frames the model's minimum makes us pay
 * for. Wan (81..121 frames at 16 fps): 110..181.
 */
export function clipBounds(clip: ClipContract): { minRendered: number; maxRendered: number } {
  const scale = FPS / clip.fps;
  return { minRendered: Math.ceil(MIN_CLIP_USE * clip.min_frames * scale - 1e-9), maxRendered: clipMaxOutputFrames(clip) };
}

/** Every beat keeps at least half a second on screen after the incoming transition. */
const CLEAN_FRAMES = 12;

export interface TimingSlot {
  /** Desired on-screen frames (any positive number; targets are scaled to the total). */
  target: number;
  /** Bounds from the beat library. */
  min: number;
  max: number;
  /** Overlap frames of this beat's outgoing transition. */
  out: number;
}

export interface TimingOptions {
  chunkFrames?: number;
  /** Largest cut (frames) below its ideal length a beat may take to save a chunk. */
  maxShift?: number;
}

/** Smallest on-screen length each slot may get. */
export function lowerBounds(slots: readonly TimingSlot[]): number[] {
  return slots.map((slot, i) => Math.max(slot.min, CLEAN_FRAMES, (i > 0 ? slots[i - 1]!.out : 0) + CLEAN_FRAMES));
}

/**
 * On-screen frames per slot, summing exactly to `total`.
 *
 * 1. Targets are scaled to the total within each slot's bounds (water-filling).
 * 2. Chunk packing: a beat whose rendered length (frames + out) runs past a chunk boundary
 *    costs a whole extra prediction. Each beat gets a chunk count; while the others can
 *    absorb the difference, the beat that loses least by dropping one chunk drops it
 *    (never more than `maxShift` frames below its ideal length).
 * 3. The ideal lengths are refitted under those caps and rounded by largest remainder.
 */
export function allocateFrames(slots: readonly TimingSlot[], total: number, options: TimingOptions = {}): number[] {
  if (slots.length === 0) throw new RangeError("cannot time an ad without beats");
  if (!Number.isInteger(total) || total <= 0) throw new RangeError(`total frames must be a positive integer, got ${total}`);
  const chunk = options.chunkFrames ?? CHUNK_FRAMES;
  const maxShift = options.maxShift ?? chunk;
  const lo = lowerBounds(slots);
  let hi = slots.map((slot, i) => Math.max(lo[i]!, slot.max));
  const need = sum(lo);
  if (need > total) throw new RangeError(`these beats need at least ${need} frames but the ad has ${total}`);
  // Too few beats for the length: let every beat stretch rather than refuse the plan.
  if (sum(hi) < total) hi = hi.map(() => Number.POSITIVE_INFINITY);

  const ideal = fitToTotal(slots.map((s) => Math.max(s.target, 1e-6)), lo, hi, total);
  const out = slots.map((s) => s.out);
  const chunks = ideal.map((v, i) => Math.max(1, Math.ceil((v + out[i]! - 1e-9) / chunk)));
  const capFor = (i: number, n: number) => Math.min(hi[i]!, n * chunk - out[i]!);
  const cap = chunks.map((n, i) => Math.max(lo[i]!, capFor(i, n)));
  for (let guard = 0; guard < slots.length * 8; guard++) {
    const capTotal = sum(cap);
    let best = -1;
    let bestShrink = Number.POSITIVE_INFINITY;
    chunks.forEach((n, i) => {
      if (n <= 1) return;
      const lower = capFor(i, n - 1);
      const shrink = ideal[i]! - lower;
      if (lower < lo[i]! || shrink > maxShift || capTotal - cap[i]! + lower < total) return;
      if (shrink < bestShrink) { best = i; bestShrink = shrink; }
    });
    if (best < 0) break;
    chunks[best]! -= 1;
    cap[best] = capFor(best, chunks[best]!);
  }
  return roundToTotal(fitToTotal(ideal, lo, cap, total), lo, cap, total);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * Water-filling: the scale λ for which Σ clamp(target × λ, lo, hi) = total, found by
 * bisection (the sum only grows with λ). Targets that already sum to the total come back
 * unchanged (λ = 1 up to float noise, which the rounding step absorbs).
 */
function fitToTotal(targets: readonly number[], lo: readonly number[], hi: readonly number[], total: number): number[] {
  const at = (scale: number) => targets.map((t, i) => Math.min(hi[i]!, Math.max(lo[i]!, t * scale)));
  let low = 0;
  let high = Math.max(...targets.map((t, i) => Math.max(lo[i]!, Math.min(hi[i]!, total)) / t));
  for (let step = 0; step < 200 && high - low > 1e-12 * high; step++) {
    const mid = (low + high) / 2;
    if (sum(at(mid)) < total) low = mid;
    else high = mid;
  }
  return at(Math.abs(sum(at(low)) - total) < Math.abs(sum(at(high)) - total) ? low : high);
}

function roundToTotal(ideal: readonly number[], lo: readonly number[], hi: readonly number[], total: number): number[] {
  const frames = ideal.map((v, i) => Math.min(hi[i]!, Math.max(lo[i]!, Math.floor(v + 1e-9))));
  const fraction = (i: number) => ideal[i]! - frames[i]!;
  let current = sum(frames);
  while (current !== total) {
    const grow = current < total;
    let best = -1;
    frames.forEach((f, i) => {
      if (grow ? f >= hi[i]! : f <= lo[i]!) return;
      if (best < 0 || (grow ? fraction(i) > fraction(best) : fraction(i) < fraction(best))) best = i;
    });
    if (best < 0) throw new RangeError(`cannot fit beats into ${total} frames`);
    frames[best]! += grow ? 1 : -1;
    current += grow ? 1 : -1;
  }
  return frames;
}

/** Number of chunks a beat with `rendered` frames is split into. */
export function chunkCount(rendered: number, chunkFrames = CHUNK_FRAMES): number {
  return Math.ceil(rendered / chunkFrames);
}
