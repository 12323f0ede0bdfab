import { GRID, Levels, type Plane, STEPS, type Warp, dot, explained, patternSearch, registerCamera } from "./camera-registration.ts";

/**
 * Double-exposure detector: is a frame two pictures on top of each other?
 *
 * Definition. Given a frame F and the source pictures it may have been made from (storyboard
 * frames, reference images, previous chunks' last frames, an end image), all as linear-light
 * luminance planes (camera-registration.ts `registrationPlane`):
 *
 * - a single source X explains F with residual r₁(X) = min over a camera move W and a gain g of
 *   mean (F − g·W(X))²;
 * - a pair (A, B) explains F with residual r₂(A, B) = min over one shared camera move W and
 *   coefficients a, b > 0 of mean (F − a·W(A) − b·W(B))², with α = a / (a + b).
 *
 * F is a double exposure when some pair, with α inside [ALPHA_MIN, 1 − ALPHA_MIN], explains it
 * with at most MIX_GAIN_MAX times the residual of the best single source, and explains at least
 * MIN_EXPLAINED of its variance: a blend of two different pictures fits clearly better than
 * either picture alone, both contribute visibly, and the blend really is what the frame shows.
 *
 * The camera move is shared by both sources because that is how a blended start image reaches
 * later frames: a model moving a camera over αA + (1−α)B shows αW(A) + (1−α)W(B). The gain lets
 * a fade or an exposure change count as one picture. A frame that neither source made (deep
 * into a generated clip) is explained by no single source and no pair, and is not flagged.
 */

export const ALPHA_MIN = 0.15;
export const MIX_GAIN_MAX = 0.5;
export const MIN_EXPLAINED = 0.8;

/**
 * A pair that fits no better than PRUNE × the best single at half resolution, or whose α there
 * is far outside the range, cannot qualify at full resolution: it is not refined further.
 */
const PRUNE = 0.9;

interface PairFit {
  residual: number;
  a: number;
  b: number;
}

/** Least squares F ≈ a·A + b·B; null when the best fit is not a mix of both (a coefficient ≤ 0). */
function pairFit(f: Float32Array, ff: number, a: Float32Array, b: Float32Array): PairFit | null {
  const aa = dot(a, a);
  const bb = dot(b, b);
  const ab = dot(a, b);
  const fa = dot(f, a);
  const fb = dot(f, b);
  const det = aa * bb - ab * ab;
  if (det <= 1e-12 * aa * bb) return null;
  const ca = (fa * bb - fb * ab) / det;
  const cb = (fb * aa - fa * ab) / det;
  if (!(ca > 0 && cb > 0)) return null;
  return { residual: Math.max(0, ff - ca * fa - cb * fb) / f.length, a: ca, b: cb };
}

/** The pair's best shared camera move, from its sources' own moves: searched at half resolution, refined at full unless pruned. */
function fitPair(frame: Levels, a: Levels, b: Levels, starts: readonly Warp[], singleHalfResidual: number): PairFit | null {
  const fitAt = (level: number, w: Warp) => pairFit(frame.planes[level]!.data, frame.energy[level]!, a.warped(level, w), b.warped(level, w));
  const costAt = (level: number) => (w: Warp) => fitAt(level, w)?.residual ?? Infinity;
  let warp = starts[0]!;
  let cost = Infinity;
  for (const start of starts) {
    const c = costAt(1)(start);
    if (c < cost || cost === Infinity) [warp, cost] = [start, c];
  }
  ({ warp, cost } = patternSearch(warp, cost, costAt(1), STEPS[1][0], STEPS[1][1]));
  const half = fitAt(1, warp);
  if (!half) return null;
  const alpha = half.a / (half.a + half.b);
  if (half.residual <= PRUNE * singleHalfResidual && alpha >= ALPHA_MIN / 2 && alpha <= 1 - ALPHA_MIN / 2) {
    warp = patternSearch(warp, costAt(0)(warp), costAt(0), STEPS[0][0], STEPS[0][1]).warp;
  }
  return fitAt(0, warp);
}

export interface Mix {
  /** Indexes of the two sources. */
  sources: [number, number];
  /** Share of the first. */
  alpha: number;
  residual: number;
  /** 1 − residual / the frame's variance. */
  explained: number;
}

export interface DoubleExposureVerdict {
  doubleExposure: boolean;
  /** Residual (mean squared, linear light) of the best single source. */
  singleResidual: number;
  /** The qualifying mix when there is one, else the best-fitting pair with both weights positive (null: none). */
  mix: Mix | null;
}

function qualifies(mix: Mix, singleBest: number): boolean {
  return mix.alpha >= ALPHA_MIN && mix.alpha <= 1 - ALPHA_MIN && mix.residual <= MIX_GAIN_MAX * singleBest && mix.explained >= MIN_EXPLAINED;
}

/**
 * Judges frames against one set of candidate sources (planes of one size). Frames of one shot
 * are best judged in order: each source's camera move found for a frame seeds the search for
 * the next, so the coarse grid is searched only every GRID_EVERY frames (and on the first).
 */
export class DoubleExposureDetector {
  static readonly GRID_EVERY = 8;
  private readonly sources: Levels[];
  private readonly previous: (Warp | null)[];
  private judged = 0;

  constructor(sources: readonly Plane[]) {
    if (sources.length === 0) throw new Error("double-exposure detection needs at least one source");
    const { width, height } = sources[0]!;
    for (const s of sources) if (s.width !== width || s.height !== height) throw new Error("sources must all have one size");
    this.sources = sources.map((s) => new Levels(s));
    this.previous = sources.map(() => null);
  }

  judge(plane: Plane): DoubleExposureVerdict {
    const size = this.sources[0]!.planes[0]!;
    if (plane.width !== size.width || plane.height !== size.height) throw new Error(`the frame is ${plane.width}x${plane.height}, the sources ${size.width}x${size.height}`);
    const frame = new Levels(plane);
    const grid = this.judged++ % DoubleExposureDetector.GRID_EVERY === 0;
    const singles = this.sources.map((source, i) => registerCamera(frame, source, [...(grid ? GRID : []), ...(this.previous[i] ? [this.previous[i]!] : [])]));
    singles.forEach((single, i) => (this.previous[i] = single.warp));
    const singleBest = Math.min(...singles.map((s) => s.residual));
    const singleHalfBest = Math.min(...singles.map((s) => s.halfResidual));
    let best: Mix | null = null;
    let found: Mix | null = null;
    for (let i = 0; i < this.sources.length; i++) {
      for (let j = i + 1; j < this.sources.length; j++) {
        const fit = fitPair(frame, this.sources[i]!, this.sources[j]!, [singles[i]!.warp, singles[j]!.warp], singleHalfBest);
        if (!fit) continue;
        const mix: Mix = { sources: [i, j], alpha: fit.a / (fit.a + fit.b), residual: fit.residual, explained: explained(plane, fit.residual) };
        if (!best || mix.residual < best.residual) best = mix;
        if (qualifies(mix, singleBest) && (!found || mix.residual < found.residual)) found = mix;
      }
    }
    return { doubleExposure: found !== null, singleResidual: singleBest, mix: found ?? best };
  }
}

/** One frame against its sources (a detector of its own: no warm start). */
export function detectDoubleExposure(frame: Plane, sources: readonly Plane[]): DoubleExposureVerdict {
  return new DoubleExposureDetector(sources).judge(frame);
}
