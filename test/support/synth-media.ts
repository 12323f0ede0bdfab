import { ffmpeg } from "../../media-node/ffmpeg.ts";
import { EXACT_COLOUR } from "../../media-node/video/normalize.ts";

/**
 * Test support (not a test file): synthetic clips and PSNR comparisons with real ffmpeg,
 * shared by the video and audio tests.
 */

/**
 * A clip of lavfi `source` (e.g. `testsrc2`, `mandelbrot`) whose hue turns fast, so every
 * frame differs visibly from its neighbours and an off-by-one frame shows up in PSNR.
 */
export async function synthClip(path: string, options: { source: string; width: number; height: number; fps: number; seconds: number; hue?: number; audio?: boolean }) {
  const { source, width, height, fps, seconds, hue = 0, audio = false } = options;
  const args = ["-f", "lavfi", "-i", `${source}=s=${width}x${height}:r=${fps},hue=H=${hue}+t*6`];
  if (audio) args.push("-f", "lavfi", "-i", "sine=f=330:sample_rate=48000");
  args.push("-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
  if (audio) args.push("-c:a", "aac", "-shortest");
  await ffmpeg([...args, path]);
}

export interface PsnrStats {
  /** Mean of per-frame psnr_avg (identical frames count as 100 dB). */
  mean: number;
  min: number;
  frames: number;
}

function parsePsnr(stdout: Buffer): number[] {
  return stdout
    .toString("utf8")
    .split("\n")
    .map((line) => /psnr_avg:(\S+)/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined)
    .map((v) => (v === "inf" ? 100 : Math.min(100, Number(v))));
}

/** PSNR of every frame of two videos of equal length (100 for identical frames). */
export async function framePsnrs(a: string, b: string): Promise<number[]> {
  const { stdout } = await ffmpeg(["-i", a, "-i", b, "-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"]);
  return parsePsnr(stdout);
}

/** Frame-by-frame PSNR of two videos of equal length. */
export async function videoPsnr(a: string, b: string): Promise<PsnrStats> {
  const values = await framePsnrs(a, b);
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, min: Math.min(...values), frames: values.length };
}

/**
 * PSNR of frame `indexA` of video (or image) `a` against frame `indexB` of `b`. `rgb` compares
 * in RGB (BT.709 decode), for comparing a PNG with a video frame.
 */
export async function framePsnr(a: string, indexA: number, b: string, indexB: number, space: "yuv" | "rgb" = "yuv"): Promise<number> {
  // RGB as media-node makes it (normalize.ts EXACT_COLOUR), so a PNG it wrote compares like for like.
  const convert = space === "rgb" ? `scale=in_color_matrix=bt709:in_range=tv:flags=${EXACT_COLOUR},format=rgb24` : "format=yuv420p";
  const { stdout } = await ffmpeg([
    "-i", a, "-i", b,
    "-lavfi",
    `[0:v]select='eq(n,${indexA})',setpts=PTS-STARTPTS,${convert}[a];[1:v]select='eq(n,${indexB})',setpts=PTS-STARTPTS,${convert}[b];[a][b]psnr=stats_file=-`,
    "-f", "null", "-",
  ]);
  const [value] = parsePsnr(stdout);
  if (value === undefined) throw new Error(`no frame ${indexA} in ${a} or ${indexB} in ${b}`);
  return value;
}
