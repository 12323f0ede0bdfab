import { ffmpeg } from "../ffmpeg.ts";
import { InputError } from "../io.ts";
import { mergeRanges } from "../../lib/stitch-plan.ts";

/**
 * Small RGB copies of a video's frames, for measuring pictures rather than showing them.
 *
 * `decodeFrameRanges` decodes only around the frames asked for: each range is its own input of
 * one ffmpeg process, opened with an input seek, so ffmpeg decodes from the keyframe at or
 * before the range and discards what precedes it. On a stitched 30 s ad (a keyframe every
 * ≤ 24 frames) fifteen seam windows cost ≈ 0.2 CPU-s instead of ≈ 1.3 for decoding all
 * 720 frames (measured with ffmpeg 5.1 on this machine).
 */

/** Output frames [from, to). */
export interface FrameRange {
  from: number;
  to: number;
}

export interface AnalysisSize {
  width: number;
  height: number;
}

/**
 * The copy measured: the long side `longSide` pixels, the aspect kept (even sides). Large
 * enough for SSIM's 11-pixel window to see shapes, small enough that a seam costs microseconds.
 */
export function analysisSize(width: number, height: number, longSide = 256): AnalysisSize {
  const scale = longSide / Math.max(width, height);
  const even = (v: number) => Math.max(16, 2 * Math.round((v * scale) / 2));
  return { width: even(width), height: even(height) };
}

/** Area-averaging downscale to the analysis size, as full-range RGB. */
function scaleTo(size: AnalysisSize): string {
  return `scale=${size.width}:${size.height}:flags=area+accurate_rnd+full_chroma_int,format=rgb24`;
}

function splitFrames(stdout: Buffer, size: AnalysisSize, expected: number, what: string): Buffer[] {
  const bytes = size.width * size.height * 3;
  if (stdout.length !== bytes * expected) throw new InputError(`${what}: decoded ${Math.floor(stdout.length / bytes)} frames, expected ${expected}`);
  return Array.from({ length: expected }, (_, i) => stdout.subarray(i * bytes, (i + 1) * bytes));
}

/**
 * The frames of `ranges` (output frame indexes of a constant-rate video at `fps`), as RGB at
 * `size`, by frame index. Overlapping or touching ranges are decoded once.
 */
export async function decodeFrameRanges(path: string, ranges: readonly FrameRange[], fps: number, size: AnalysisSize, timeoutMs = 120_000): Promise<Map<number, Buffer>> {
  const merged = mergeRanges(ranges.map((r) => ({ from: Math.max(0, r.from), to: r.to })));
  const frames = new Map<number, Buffer>();
  if (merged.length === 0) return frames;
  const inputs: string[] = [];
  const chains: string[] = [];
  merged.forEach((range, i) => {
    // Half a frame early: frame n starts at n/fps exactly, so the seek lands on it and not on
    // its predecessor whatever the rounding. ffmpeg's default accurate seek then decodes from
    // the preceding keyframe and drops every frame before the seek point.
    if (range.from > 0) inputs.push("-ss", ((range.from - 0.5) / fps).toFixed(6));
    inputs.push("-i", path);
    chains.push(`[${i}:v:0]trim=end_frame=${range.to - range.from},setpts=PTS-STARTPTS,${scaleTo(size)}[r${i}]`);
  });
  const graph = `${chains.join(";")};${merged.map((_, i) => `[r${i}]`).join("")}concat=n=${merged.length}:v=1:a=0[out]`;
  // Background work (ffmpeg.ts): the seam measures report on a video, and no file waits for
  // them. At normal class their decodes filled media-node's process slots while the last chunk's
  // normalize pass, which the final file waits for, waited 0.6 s for one (a demo ad, load 5).
  const { stdout } = await ffmpeg([...inputs, "-filter_complex", graph, "-map", "[out]", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], { timeoutMs, background: true });
  const total = merged.reduce((sum, r) => sum + r.to - r.from, 0);
  const decoded = splitFrames(stdout, size, total, "frame ranges");
  let at = 0;
  for (const range of merged) for (let n = range.from; n < range.to; n++) frames.set(n, decoded[at++]!);
  return frames;
}

/** Every frame of the video, in order, as RGB at `size` (tests and benchmarks; the seam report uses ranges). */
export async function decodeAllFrames(path: string, size: AnalysisSize, timeoutMs = 300_000): Promise<Buffer[]> {
  const { stdout } = await ffmpeg(["-i", path, "-map", "0:v:0", "-vf", scaleTo(size), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], { timeoutMs });
  const bytes = size.width * size.height * 3;
  return splitFrames(stdout, size, Math.floor(stdout.length / bytes), "video");
}
