import sharp from "sharp";
import type { SeamMeasure, SeamSpec } from "../../contracts/media.ts";
import { symmetricPaletteDistance } from "../../lib/color.ts";
import { paletteOf } from "../images/palette.ts";
import { lumaOf, meanAbsoluteDifference, median, ssim } from "./frame-metrics.ts";
import { type AnalysisSize, type FrameRange, analysisSize, decodeFrameRanges } from "./frames.ts";
import { type DecoratedRows, clearBand } from "./seam-decorations.ts";

/**
 * How the seams of a stitched video look to a viewer. Every measure is taken on the frames as
 * they stand in the video, decoded at the analysis size (frames.ts: long side 256 px, area
 * averaged). Notation: f(n) is output frame n; D(a, b) is the frame difference of frame-metrics.ts
 * (mean |ΔY′| over pixels, 0..255); a seam starts at frame p (the incoming chunk's first frame,
 * or the first frame of its transition window) and its window has n frames (0 for a cut).
 *
 * Per seam:
 * - `ssim` and `palette_delta_e` compare the last clean frame before the seam, f(p−1), with the
 *   first clean frame after it, f(p+n): inside a beat that is the outgoing chunk's last frame
 *   and the incoming chunk's first. SSIM as in frame-metrics.ts; palettes as media-node's
 *   analyse route finds them, compared with lib/color.ts `symmetricPaletteDistance` (ΔE2000).
 * - `difference` = D(f(p−1), f(p)), the change a viewer sees at the join.
 * - `motion` = the median of D(f(i−1), f(i)) over the MOTION_STEPS steps before the seam and
 *   the MOTION_STEPS after its window (steps that stay inside the two chunks), floored at
 *   MOTION_FLOOR so that a still shot's encoding noise does not make every join a jump.
 * - `jump_ratio` = difference ÷ motion: 1 is a step like any other inside the shot.
 *
 * Per beat transition, whether the planned transition is what the viewer gets:
 * - a cut: with m the median of D over the steps around p (p excluded, MOTION_STEPS each side),
 *   a step is abrupt when D ≥ CUT_RATIO × max(m, MOTION_FLOOR). Delivered when the step into p is
 *   abrupt and no other step around it is: the change happens at exactly the planned frame.
 * - a blended transition (fade, dissolve, wipe, slide…): with A = f(p−1) and B = f(p+n), each
 *   frame's progress π(i) = D(A, f(i)) / (D(A, f(i)) + D(f(i), B)), π(p−1) = 0 and π(p+n) = 1.
 *   Delivered when π never falls by more than MONOTONE_TOLERANCE (a monotone change across the
 *   window), no single step covers more than max(0.5, 1.5 / (n + 1)) of it (no cut hidden in
 *   the window), and no step around the window is abrupt in the cut's sense. When A and B are
 *   nearly alike (D(A, B) < MOTION_FLOOR·3) progress means nothing and only the last two
 *   conditions apply.
 *
 * Decorations (seam-decorations.ts): every measure of a seam reads only the largest band of
 * rows that no overlay or burned cue covers in any of the seam's frames (the same rows on both
 * sides). When that band is under MIN_JUDGED_SHARE of the frame's height the seam is not
 * judged: it is measured on the whole frame, says why in `unjudged`, and has no transition check.
 */

export const MOTION_STEPS = 6;
export const MOTION_FLOOR = 0.5;
export const CUT_RATIO = 3;
export const MONOTONE_TOLERANCE = 0.05;
/** A seam is judged on a clear band of at least this share of the frame's rows (and never under SSIM's 11-row window). */
export const MIN_JUDGED_SHARE = 0.2;

export interface MeasureSeamsOptions {
  width: number;
  height: number;
  fps: number;
  /** Frames of the video. */
  frames: number;
  /** Rows the ad's decorations cover, and when (seam-decorations.ts `decoratedRows`). */
  decorated?: readonly DecoratedRows[];
  /**
   * Indexes of the seams to measure (default all). The others only bound the motion steps of
   * their neighbours, as in the whole list: progressive assembly measures a few seams at a time
   * and gets exactly the measures the whole video would give.
   */
  measure?: readonly number[];
}

/** The video's output frames n for every n in `ranges`, RGB at the analysis size. */
export type FrameSource = (ranges: readonly FrameRange[], size: AnalysisSize) => Promise<Map<number, Buffer>>;

/** Frames of one video file. */
export const fileFrames =
  (path: string, fps: number): FrameSource =>
  (ranges, size) =>
    decodeFrameRanges(path, ranges, fps, size);

export interface SeamsMeasured {
  size: AnalysisSize;
  decodedFrames: number;
  seams: SeamMeasure[];
}

/** The frames each seam's measures read: MOTION_STEPS steps either side of it and its window. */
function rangesOf(seams: readonly SeamSpec[], total: number): FrameRange[] {
  return seams.map((s) => ({ from: Math.max(0, s.at_frame - MOTION_STEPS - 1), to: Math.min(total, s.at_frame + s.transition.frames + MOTION_STEPS + 1) }));
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function measureSeams(frames: FrameSource, seams: readonly SeamSpec[], options: MeasureSeamsOptions): Promise<SeamsMeasured> {
  const size = analysisSize(options.width, options.height);
  const ranges = rangesOf(seams, options.frames);
  const measuring = options.measure ?? seams.map((_, i) => i);
  const decoded = await frames(measuring.map((i) => ranges[i]!), size);
  const lumas = new Map<number, Float32Array>();
  const fullLuma = (n: number) => {
    let plane = lumas.get(n);
    if (!plane) {
      const rgb = decoded.get(n);
      if (!rgb) throw new Error(`frame ${n} was not decoded`);
      plane = lumaOf(rgb);
      lumas.set(n, plane);
    }
    return plane;
  };
  const minRows = Math.max(11, Math.ceil(MIN_JUDGED_SHARE * size.height));

  const measured: SeamMeasure[] = [];
  for (const i of measuring) {
    const seam = seams[i]!;
    const p = seam.at_frame;
    const n = seam.transition.frames;
    const clear = clearBand(options.decorated ?? [], ranges[i]!.from, ranges[i]!.to, size);
    const judged = clear.to - clear.from >= minRows;
    const rows = judged ? clear : { from: 0, to: size.height };
    // Whole rows are contiguous in the plane: the band is a view, not a copy.
    const luma = (f: number) => fullLuma(f).subarray(rows.from * size.width, rows.to * size.width);
    const step = (f: number) => meanAbsoluteDifference(luma(f - 1), luma(f));
    const pngOf = (f: number) =>
      sharp(decoded.get(f)!, { raw: { width: size.width, height: size.height, channels: 3 } })
        .extract({ left: 0, top: rows.from, width: size.width, height: rows.to - rows.from })
        .png({ compressionLevel: 0 })
        .toBuffer();
    const previousEnd = i > 0 ? seams[i - 1]!.at_frame + seams[i - 1]!.transition.frames : 0;
    const nextStart = i + 1 < seams.length ? seams[i + 1]!.at_frame : options.frames;
    // Steps inside the outgoing chunk (ending at p−1) and inside the incoming one (after its window).
    const before = range(Math.max(previousEnd + 1, p - MOTION_STEPS), p - 1);
    const after = range(p + n + 1, Math.min(nextStart - 1, p + n + MOTION_STEPS));
    const inside = [...before, ...after].map(step);
    const motion = Math.max(MOTION_FLOOR, inside.length ? median(inside) : 0);
    const difference = step(p);
    const [paletteBefore, paletteAfter] = await Promise.all([pngOf(p - 1).then((png) => paletteOf(png)), pngOf(p + n).then((png) => paletteOf(png))]);
    measured.push({
      at_frame: p,
      within_beat: seam.within_beat,
      transition: seam.transition,
      ssim: round(ssim(luma(p - 1), luma(p + n), size.width, rows.to - rows.from), 4),
      palette_delta_e: round(symmetricPaletteDistance(paletteBefore, paletteAfter), 2),
      difference: round(difference),
      motion: round(motion),
      jump_ratio: round(difference / motion, 2),
      transition_check: seam.within_beat || !judged ? null : n === 0 ? cutCheck(p, step, before, after) : blendCheck(p, n, luma, step, before, after),
      rows,
      unjudged: judged ? null : `the ad's overlays and captions leave at most ${clear.to - clear.from} of ${size.height} rows clear around frame ${p} (${minRows} needed)`,
    });
  }
  return { size, decodedFrames: decoded.size, seams: measured };
}

/** Integers from..to inclusive (empty when to < from). */
function range(from: number, to: number): number[] {
  return to < from ? [] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function abruptTest(steps: readonly number[]): (d: number) => boolean {
  const m = Math.max(MOTION_FLOOR, steps.length ? median(steps) : 0);
  return (d) => d >= CUT_RATIO * m;
}

function cutCheck(p: number, step: (n: number) => number, before: number[], after: number[]): SeamMeasure["transition_check"] {
  const around = [...before, ...after];
  const d = around.map(step);
  const abrupt = abruptTest(d);
  const atCut = step(p);
  if (!abrupt(atCut)) return { delivered: false, detail: `no abrupt change at frame ${p}: ${round(atCut, 2)} luma levels, like the steps around it` };
  const elsewhere = around.filter((_, i) => abrupt(d[i]!));
  if (elsewhere.length) return { delivered: false, detail: `another abrupt change at frame ${elsewhere.join(", ")}, besides the cut at ${p}` };
  return { delivered: true, detail: `abrupt change at frame ${p} only` };
}

function blendCheck(p: number, n: number, luma: (n: number) => Float32Array, step: (n: number) => number, before: number[], after: number[]): SeamMeasure["transition_check"] {
  const a = luma(p - 1);
  const b = luma(p + n);
  const around = [...before, ...after];
  const abrupt = abruptTest(around.map(step));
  const outside = around.filter((i) => abrupt(step(i)));
  if (outside.length) return { delivered: false, detail: `abrupt change at frame ${outside.join(", ")}, outside the ${n}-frame window from ${p}` };
  const maxStep = Math.max(0.5, 1.5 / (n + 1));
  if (meanAbsoluteDifference(a, b) < 3 * MOTION_FLOOR) {
    const cut = range(p, p + n).find((i) => abrupt(step(i)));
    return cut === undefined ? { delivered: true, detail: "the two sides look alike; no abrupt change in the window" } : { delivered: false, detail: `abrupt change at frame ${cut} inside the window` };
  }
  const progress = [0, ...range(p, p + n - 1).map((i) => {
    const fromA = meanAbsoluteDifference(a, luma(i));
    return fromA / (fromA + meanAbsoluteDifference(luma(i), b));
  }), 1];
  let peak = 0;
  for (let k = 1; k < progress.length; k++) {
    const frame = p - 1 + k;
    if (progress[k]! < peak - MONOTONE_TOLERANCE) return { delivered: false, detail: `the change turns back at frame ${frame} (progress ${round(progress[k]!, 2)} after ${round(peak, 2)})` };
    if (progress[k]! - progress[k - 1]! > maxStep) return { delivered: false, detail: `frame ${frame} makes ${Math.round((progress[k]! - progress[k - 1]!) * 100)} % of the change at once` };
    peak = Math.max(peak, progress[k]!);
  }
  return { delivered: true, detail: `a monotone change across frames ${p}–${p + n - 1}` };
}
