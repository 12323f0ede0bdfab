import type { ChunkPlan } from "../contracts/spec.ts";
import { registrationPlane } from "../media-node/video/camera-registration.ts";
import { DoubleExposureDetector, type DoubleExposureVerdict } from "../media-node/video/double-exposure.ts";
import { lumaOf, meanAbsoluteDifference, median } from "../media-node/video/frame-metrics.ts";
import { analysisSize, decodeAllFrames } from "../media-node/video/frames.ts";
import { clearBand } from "../media-node/video/seam-decorations.ts";
import { MIN_JUDGED_SHARE } from "../media-node/video/seams.ts";
import { type MadeAd, sourceKeys } from "./made-ad.ts";

/**
 * The acceptance measurements of issue 13 on a finished ad (test/seams.test.ts asserts them,
 * bench/seams.ts tabulates them), over every frame of the final MP4 decoded at the analysis
 * size (media-node/video/frames.ts, 256 px wide):
 *
 * - frame difference D(i) between frames i−1 and i: mean |ΔY′| (BT.601 luma from the decoded
 *   RGB, 0..255) over the pixels (media-node/video/frame-metrics.ts);
 * - the steps inside chunks: every D(i) whose two frames belong to one chunk and lie outside
 *   any planned transition window; their median is the shot's ordinary motion;
 * - each seam inside a beat: D at the incoming chunk's first frame, and its ratio to that median;
 * - double exposures (media-node/video/double-exposure.ts): every frame of every chunk, outside
 *   planned blends (a dissolve between beats is a double exposure by design), judged against
 *   the pictures the chunk may have been made from (bench/made-ad.ts `sourceKeys`).
 *
 * Both read only the rows the ad's finish leaves clear (bench/made-ad.ts `decorated`: the copy's
 * layers in their windows, the caption band everywhere). They judge the pictures the models
 * made, and a headline or a caption drawn over a ghost hides it from any whole-frame measure.
 * The rows are whole image rows, so a ghost or a jump in the picture still shows in them: the
 * checks keep failing on a composite's blends and jumps (test/seams.test.ts asserts that too).
 * A frame whose clear band is under media-node's MIN_JUDGED_SHARE of its height is not judged.
 */

export interface AdFrames {
  width: number;
  height: number;
  rgb: Buffer[];
  luma: Float32Array[];
}

export async function decodeAd(ad: MadeAd): Promise<AdFrames> {
  const size = analysisSize(ad.spec.width, ad.spec.height);
  const rgb = await decodeAllFrames(ad.finalPath, size);
  if (rgb.length !== ad.spec.total_frames) throw new Error(`${ad.finalPath} has ${rgb.length} frames, the spec ${ad.spec.total_frames}`);
  return { ...size, rgb, luma: rgb.map(lumaOf) };
}

/** Output frames [from, to) a chunk fills, and the planned blend windows (the incoming beat's first frames). */
/** The rows [from, to) of frames [first, last] no decoration covers, made even in height; null when too few to judge. */
function clearRows(ad: MadeAd, frames: AdFrames, first: number, last: number, minShare = MIN_JUDGED_SHARE): { from: number; to: number } | null {
  const band = clearBand(ad.decorated, first, last + 1, frames);
  const to = band.to - ((band.to - band.from) % 2);
  return to - band.from >= Math.max(12, Math.ceil(minShare * frames.height)) ? { from: band.from, to } : null;
}

/** Rows [from, to) of an RGB frame at the analysis width. */
const rgbRows = (rgb: Uint8Array, width: number, rows: { from: number; to: number }) => rgb.subarray(rows.from * width * 3, rows.to * width * 3);

function spans(plan: readonly ChunkPlan[]) {
  const chunks = plan.map((c) => ({ chunk: c, from: c.video_start_frame, to: c.video_start_frame + c.frames }));
  const blends = plan.filter((c) => c.seam_in.frames > 0).map((c) => ({ from: c.video_start_frame, to: c.video_start_frame + c.seam_in.frames }));
  return { chunks, blends };
}

export interface SeamJump {
  chunk_num: number;
  at_frame: number;
  difference: number;
  /** difference ÷ the median step inside chunks. */
  ratio: number;
}

export interface JumpReport {
  /** Median frame difference between consecutive frames of one chunk. */
  medianStep: number;
  seams: SeamJump[];
}

export function withinBeatJumps(ad: MadeAd, frames: AdFrames): JumpReport {
  const { chunks, blends } = spans(ad.plan);
  // Each step on the rows clear in both its frames; a step with too few is left out of the median.
  const step = (i: number) => {
    const rows = clearRows(ad, frames, i - 1, i);
    if (!rows) return null;
    const band = (luma: Float32Array) => luma.subarray(rows.from * frames.width, rows.to * frames.width);
    return meanAbsoluteDifference(band(frames.luma[i - 1]!), band(frames.luma[i]!));
  };
  const blended = (i: number) => blends.some((b) => i >= b.from && i < b.to);
  const inside: number[] = [];
  for (const { from, to } of chunks) {
    for (let i = from + 1; i < to; i++) {
      const d = blended(i) || blended(i - 1) ? null : step(i);
      if (d !== null) inside.push(d);
    }
  }
  const medianStep = median(inside);
  const seams = ad.plan
    .filter((c) => !c.first_in_beat)
    .flatMap((c) => {
      const difference = step(c.video_start_frame);
      if (difference === null) return [];
      return [{ chunk_num: c.chunk_num, at_frame: c.video_start_frame, difference, ratio: difference / medianStep }];
    });
  return { medianStep, seams };
}

export interface FrameVerdict {
  frame: number;
  chunk_num: number;
  verdict: DoubleExposureVerdict;
}

/**
 * Every frame (or every `every`-th, and always each chunk's first three) of every chunk,
 * outside planned blends, judged against its chunk's sources. `minClearShare` raises the share
 * of rows a frame must have clear to be judged: under the end card the clear rows are a strip,
 * on which a found blend's α is looser than on the frame (0.75 for the composite's 0.70), so a
 * claim about α is made on wider bands. Returns only the double exposures
 * and how many frames were judged.
 */
export async function doubleExposures(ad: MadeAd, frames: AdFrames, every = 1, options: { minClearShare?: number } = {}): Promise<{ judged: number; found: FrameVerdict[] }> {
  const { chunks, blends } = spans(ad.plan);
  const blended = (i: number) => blends.some((b) => i >= b.from && i < b.to);
  const found: FrameVerdict[] = [];
  let judged = 0;
  for (const { chunk, from, to } of chunks) {
    const pictures = await Promise.all(sourceKeys(ad, chunk).map((key) => ad.picture(key, frames.width, frames.height)));
    const stored = pictures.filter((p): p is Buffer => p !== null);
    // One detector per clear band: the frame and its sources are judged on the same rows.
    const detectors = new Map<string, DoubleExposureDetector>();
    const detectorFor = (rows: { from: number; to: number }) => {
      const id = `${rows.from}-${rows.to}`;
      let detector = detectors.get(id);
      if (!detector) {
        detector = new DoubleExposureDetector(stored.map((p) => registrationPlane(rgbRows(p, frames.width, rows), frames.width, rows.to - rows.from)));
        detectors.set(id, detector);
      }
      return detector;
    };
    for (let i = from; i < Math.min(to, frames.rgb.length); i++) {
      if (blended(i) || ((i - from) % every !== 0 && i - from >= 3)) continue;
      const rows = clearRows(ad, frames, i, i, options.minClearShare);
      if (!rows) continue;
      judged++;
      const verdict = detectorFor(rows).judge(registrationPlane(rgbRows(frames.rgb[i]!, frames.width, rows), frames.width, rows.to - rows.from));
      if (verdict.doubleExposure) found.push({ frame: i, chunk_num: chunk.chunk_num, verdict });
    }
  }
  return { judged, found };
}
