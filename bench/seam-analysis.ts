import type { ChunkPlan } from "../contracts/spec.ts";
import { registrationPlane } from "../media-node/video/camera-registration.ts";
import { DoubleExposureDetector, type DoubleExposureVerdict } from "../media-node/video/double-exposure.ts";
import { lumaOf, meanAbsoluteDifference, median } from "../media-node/video/frame-metrics.ts";
import { analysisSize, decodeAllFrames } from "../media-node/video/frames.ts";
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
  const step = (i: number) => meanAbsoluteDifference(frames.luma[i - 1]!, frames.luma[i]!);
  const blended = (i: number) => blends.some((b) => i >= b.from && i < b.to);
  const inside: number[] = [];
  for (const { from, to } of chunks) for (let i = from + 1; i < to; i++) if (!blended(i) && !blended(i - 1)) inside.push(step(i));
  const medianStep = median(inside);
  const seams = ad.plan
    .filter((c) => !c.first_in_beat)
    .map((c) => {
      const difference = step(c.video_start_frame);
      return { chunk_num: c.chunk_num, at_frame: c.video_start_frame, difference, ratio: difference / medianStep };
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
 * outside planned blends, judged against its chunk's sources. Returns only the double exposures
 * and how many frames were judged.
 */
export async function doubleExposures(ad: MadeAd, frames: AdFrames, every = 1): Promise<{ judged: number; found: FrameVerdict[] }> {
  const { chunks, blends } = spans(ad.plan);
  const blended = (i: number) => blends.some((b) => i >= b.from && i < b.to);
  const found: FrameVerdict[] = [];
  let judged = 0;
  for (const { chunk, from, to } of chunks) {
    const pictures = await Promise.all(sourceKeys(ad, chunk).map((key) => ad.picture(key, frames.width, frames.height)));
    const sources = pictures.filter((p): p is Buffer => p !== null).map((p) => registrationPlane(p, frames.width, frames.height));
    const detector = new DoubleExposureDetector(sources);
    for (let i = from; i < Math.min(to, frames.rgb.length); i++) {
      if (blended(i) || ((i - from) % every !== 0 && i - from >= 3)) continue;
      judged++;
      const verdict = detector.judge(registrationPlane(frames.rgb[i]!, frames.width, frames.height));
      if (verdict.doubleExposure) found.push({ frame: i, chunk_num: chunk.chunk_num, verdict });
    }
  }
  return { judged, found };
}
