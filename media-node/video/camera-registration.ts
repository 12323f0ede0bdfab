import { srgbToLinear } from "../../lib/color.ts";

/**
 * Camera registration: which camera move (a zoom about the centre and a shift) turns one
 * picture into another. The double-exposure detector uses it to follow a camera over its
 * sources; the draft video model uses it to move from its start image to its end image.
 *
 * Pictures are linear-light luminance planes (0..1), at most REGISTRATION_WIDTH wide. The
 * search runs on a 3-level pyramid: a coarse grid of moves at the smallest level (or the moves
 * the caller suggests, e.g. the previous frame's), then a pattern search down the levels.
 * The fit allows a gain, so a picture that only got darker (a fade) still registers.
 */

/** Linear-light luminance, 0..1. */
export interface Plane {
  data: Float32Array;
  width: number;
  height: number;
}

/**
 * A camera move from a source picture: the view zooms by e^logZoom about the centre and its
 * centre shifts by (tx·width, ty·height) source pixels. Output pixel (x, y) shows source point
 * (cx + (x − cx)/zoom + tx·width, cy + (y − cy)/zoom + ty·height).
 */
export interface Warp {
  logZoom: number;
  tx: number;
  ty: number;
}

export const IDENTITY: Warp = { logZoom: 0, tx: 0, ty: 0 };

/** Planes are registered at most this wide: a picture's shapes are plain at 128 px, and the search stays cheap. */
export const REGISTRATION_WIDTH = 128;

const LINEAR = Float32Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));

/** Rec. 709 luminance of linearised sRGB. */
export function linearLuminance(rgb: Uint8Array, width: number, height: number): Plane {
  if (rgb.length !== width * height * 3) throw new Error(`expected ${width}x${height} RGB, got ${rgb.length} bytes`);
  const data = new Float32Array(width * height);
  for (let i = 0, p = 0; i < data.length; i++, p += 3) data[i] = 0.2126 * LINEAR[rgb[p]!]! + 0.7152 * LINEAR[rgb[p + 1]!]! + 0.0722 * LINEAR[rgb[p + 2]!]!;
  return { data, width, height };
}

function halve(plane: Plane): Plane {
  const width = plane.width >> 1;
  const height = plane.height >> 1;
  const data = new Float32Array(width * height);
  const src = plane.data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 2 * y * plane.width + 2 * x;
      data[y * width + x] = (src[i]! + src[i + 1]! + src[i + plane.width]! + src[i + plane.width + 1]!) / 4;
    }
  }
  return { data, width, height };
}

/** RGB (a decoded analysis frame, a still) → the plane registration works on, halved down to REGISTRATION_WIDTH. */
export function registrationPlane(rgb: Uint8Array, width: number, height: number): Plane {
  let plane = linearLuminance(rgb, width, height);
  while (plane.width > REGISTRATION_WIDTH && plane.width % 2 === 0 && plane.height % 2 === 0) plane = halve(plane);
  return plane;
}

/** The source seen through the warp (bilinear, edges repeated). Separable: a zoom and a shift map columns and rows independently. */
function warped(plane: Plane, warp: Warp, out: Float32Array): Float32Array {
  const { width, height, data } = plane;
  const zoom = Math.exp(warp.logZoom);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const x0 = new Int32Array(width);
  const fx = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = Math.min(width - 1, Math.max(0, cx + (x - cx) / zoom + warp.tx * width));
    x0[x] = Math.min(width - 2, Math.floor(u));
    fx[x] = u - x0[x]!;
  }
  for (let y = 0; y < height; y++) {
    const v = Math.min(height - 1, Math.max(0, cy + (y - cy) / zoom + warp.ty * height));
    const y0 = Math.min(height - 2, Math.floor(v));
    const fy = v - y0;
    const row0 = y0 * width;
    const row1 = row0 + width;
    for (let x = 0; x < width; x++) {
      const i = x0[x]!;
      const f = fx[x]!;
      const top = data[row0 + i]! + f * (data[row0 + i + 1]! - data[row0 + i]!);
      const bottom = data[row1 + i]! + f * (data[row1 + i + 1]! - data[row1 + i]!);
      out[y * width + x] = top + fy * (bottom - top);
    }
  }
  return out;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Residual (mean squared) of F ≈ g·X with the best gain g ≥ 0. */
function gainResidual(f: Float32Array, ff: number, x: Float32Array): number {
  const xx = dot(x, x);
  const fx = dot(f, x);
  if (xx <= 0 || fx <= 0) return ff / f.length;
  return Math.max(0, ff - (fx * fx) / xx) / f.length;
}

/** How far the search may move the camera: ±0.5 log-zoom (×0.61..×1.65), shifts up to 30 % of the frame. */
const LIMIT = { logZoom: 0.5, tx: 0.3, ty: 0.3 } as const;
/** Rounds of the pattern search per level: a valley it has not left by then is not a camera move we look for. */
const MAX_ROUNDS = 12;

/** Pattern search from `start`: each parameter ±step while it helps, halving the step down to `minStep`. */
export function patternSearch(start: Warp, startCost: number, cost: (w: Warp) => number, step: number, minStep: number): { warp: Warp; cost: number } {
  let best = start;
  let bestCost = startCost;
  for (let round = 0; round < MAX_ROUNDS && step >= minStep; round++) {
    let improved = false;
    for (const key of ["logZoom", "tx", "ty"] as const) {
      for (const sign of [1, -1]) {
        const value = best[key] + sign * step;
        if (Math.abs(value) > LIMIT[key]) continue;
        const trial = { ...best, [key]: value };
        const c = cost(trial);
        if (c < bestCost) {
          best = trial;
          bestCost = c;
          improved = true;
        }
      }
    }
    if (!improved) step /= 2;
  }
  return { warp: best, cost: bestCost };
}

/** Per pyramid level, finest first: the pattern search's first and smallest step. */
export const STEPS = [
  [0.003, 0.0015],
  [0.012, 0.003],
  [0.04, 0.006],
] as const;
export const LEVELS = STEPS.length;

/** The coarse grid searches start from: zoom ×0.74..×1.35, shifts up to 15 % of the frame. */
const GRID_LOG_ZOOM = [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3];
const GRID_SHIFT = [-0.15, -0.075, 0, 0.075, 0.15];
export const GRID: readonly Warp[] = GRID_LOG_ZOOM.flatMap((logZoom) => GRID_SHIFT.flatMap((tx) => GRID_SHIFT.map((ty) => ({ logZoom, tx, ty }))));

/** One plane at every pyramid level (finest first), with scratch space for warped copies. */
export class Levels {
  readonly planes: Plane[];
  /** Σ v² per level. */
  readonly energy: number[];
  private readonly scratch: Float32Array[];

  constructor(plane: Plane) {
    this.planes = [plane];
    while (this.planes.length < LEVELS) this.planes.push(halve(this.planes.at(-1)!));
    this.energy = this.planes.map((p) => dot(p.data, p.data));
    this.scratch = this.planes.map((p) => new Float32Array(p.data.length));
  }

  warped(level: number, warp: Warp): Float32Array {
    return warped(this.planes[level]!, warp, this.scratch[level]!);
  }
}

export interface Registration {
  warp: Warp;
  /** Mean squared residual of the frame against the warped source (with its best gain). */
  residual: number;
  /** The same at half resolution, where pairs of sources are first compared. */
  halfResidual: number;
}

/** The camera move that best turns `source` into `frame`, searched from `starts` (and the identity). */
export function registerCamera(frame: Levels, source: Levels, starts: readonly Warp[] = GRID): Registration {
  const coarse = LEVELS - 1;
  const costAt = (level: number) => (w: Warp) => gainResidual(frame.planes[level]!.data, frame.energy[level]!, source.warped(level, w));
  let best = { warp: IDENTITY, cost: costAt(coarse)(IDENTITY) };
  for (const warp of starts) {
    const c = costAt(coarse)(warp);
    if (c < best.cost) best = { warp, cost: c };
  }
  let halfResidual = best.cost;
  for (let level = coarse; level >= 0; level--) {
    const cost = costAt(level);
    best = patternSearch(best.warp, cost(best.warp), cost, STEPS[level]![0], STEPS[level]![1]);
    if (level === 1) halfResidual = best.cost;
  }
  return { warp: best.warp, residual: best.cost, halfResidual };
}

/** Share of the plane's variance a residual leaves unexplained, as 1 − residual / variance (1 = perfect). */
export function explained(plane: Plane, residual: number): number {
  const n = plane.data.length;
  const mean = plane.data.reduce((s, v) => s + v, 0) / n;
  const variance = plane.data.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  return variance > 0 ? 1 - residual / variance : 0;
}
