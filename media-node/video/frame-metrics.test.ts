import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, test } from "vitest";
import { ffmpeg } from "../ffmpeg.ts";
import { rgbOf, scene } from "../../test/support/scenes.ts";
import { lumaOf, meanAbsoluteDifference, median, ssim } from "./frame-metrics.ts";

// The frame measures the seam report is built on, against arithmetic and against ffmpeg's own SSIM.

const W = 256;
const H = 144;

/** ffmpeg's SSIM of two images' luma (x264's 8×8 windows, not the paper's Gaussian: close, not equal). */
async function ffmpegSsim(a: Buffer, b: Buffer): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "frame-metrics-"));
  try {
    const paths = [join(dir, "a.png"), join(dir, "b.png")];
    await Promise.all([a, b].map((rgb, i) => sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toFile(paths[i]!)));
    const { stderr } = await ffmpeg(["-loglevel", "info", "-i", paths[0]!, "-i", paths[1]!, "-lavfi", "[0:v]format=gray[a];[1:v]format=gray[b];[a][b]ssim", "-f", "null", "-"]);
    const match = /SSIM Y:([0-9.]+)/.exec(stderr);
    if (!match) throw new Error(`no SSIM in ffmpeg's output: ${stderr.slice(-300)}`);
    return Number(match[1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("frame measures", () => {
  test("luma is BT.601 Y′ of the RGB; the frame difference is the mean absolute luma difference", () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
    expect([...lumaOf(rgb)].map((v) => Math.round(v * 1000) / 1000)).toEqual([76.245, 149.685, 29.07, 255]);
    const a = Float32Array.from([10, 20, 30, 40]);
    expect(meanAbsoluteDifference(a, a)).toBe(0);
    expect(meanAbsoluteDifference(a, Float32Array.from([15, 15, 35, 35]))).toBe(5);
    expect(() => meanAbsoluteDifference(a, Float32Array.from([1]))).toThrow(/differ in size/);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test("SSIM is 1 for identical frames, falls as structure is lost, and agrees with ffmpeg's", async () => {
    const image = await rgbOf(await scene(7, W * 2, H * 2), W, H);
    const blurred = (sigma: number) => sharp(image, { raw: { width: W, height: H, channels: 3 } }).blur(sigma).raw().toBuffer();
    const [soft, softer] = await Promise.all([blurred(1), blurred(3)]);
    const y = lumaOf(image);
    expect(ssim(y, y, W, H)).toBeCloseTo(1, 10);
    const s1 = ssim(y, lumaOf(soft), W, H);
    const s3 = ssim(y, lumaOf(softer), W, H);
    expect(s1).toBeLessThan(1);
    expect(s3).toBeLessThan(s1);
    // A uniform brightening keeps the structure: SSIM stays far above what a blur costs.
    const brighter = Float32Array.from(y, (v) => Math.min(255, v + 6));
    expect(ssim(y, brighter, W, H)).toBeGreaterThan(s3);
    for (const [other, ours] of [[soft, s1], [softer, s3]] as const) expect(Math.abs(ours - (await ffmpegSsim(image, other)))).toBeLessThan(0.04);
  });
});
