import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compositeLayers } from "../images/composite.ts";
import { ffmpeg } from "../ffmpeg.ts";
import { rgbOf, scene } from "../../test/support/scenes.ts";
import { registrationPlane, type Plane } from "./camera-registration.ts";
import { DoubleExposureDetector, detectDoubleExposure } from "./double-exposure.ts";
import { decodeAllFrames } from "./frames.ts";

// The detector must catch blends of two pictures however they were made and moved, and must
// pass single pictures however they were framed, lit or encoded.

const W = 512;
const H = 288;
const P = { width: 128, height: 72 };

let dir: string;
let a: Buffer = Buffer.alloc(0);
let b: Buffer = Buffer.alloc(0);
let c: Buffer = Buffer.alloc(0);
let sources: Plane[];

const plane = async (image: Buffer) => registrationPlane(await rgbOf(image, P.width, P.height), P.width, P.height);
const png = (rgb: Buffer) => sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
/** A camera view: `zoom` closer, centre moved by (dx, dy) shares of the frame. */
const view = async (image: Buffer, zoom: number, dx = 0, dy = 0) => {
  const width = Math.round(W / zoom);
  const height = Math.round(H / zoom);
  return sharp(image).extract({ left: Math.round((W - width) / 2 + dx * W), top: Math.round((H - height) / 2 + dy * H), width, height }).resize(W, H).png().toBuffer();
};
const blend = (x: Buffer, y: Buffer, weight: number) => compositeLayers([{ image: x, weight }, { image: y, weight: 1 - weight }], W, H);

/** Through H.264 4:2:0 and back, as a frame of a video is. */
async function throughVideo(image: Buffer): Promise<Buffer> {
  const path = join(dir, `encoded-${Math.random().toString(36).slice(2)}.mp4`);
  await ffmpeg(["-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p", path], { input: image });
  const [frame] = await decodeAllFrames(path, { width: W, height: H });
  return png(frame!);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "double-exposure-test-"));
  [a, b, c] = (await Promise.all([1, 2, 3].map((seed) => scene(seed, W, H)))) as [Buffer, Buffer, Buffer];
  sources = await Promise.all([a, b, c].map(plane));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("double-exposure detector", () => {
  test.each<[string, () => Promise<Buffer>, number]>([
    ["a 70/30 linear-light composite (seed 003's start image)", () => blend(a, b, 0.7), 0.7],
    ["a 50/50 composite", () => blend(a, b, 0.5), 0.5],
    ["a 25/75 composite", () => blend(a, b, 0.25), 0.25],
    ["a composite the camera then moved over (8 % closer, shifted)", async () => view(await blend(a, b, 0.7), 1.08, 0.03, -0.02), 0.7],
    ["a composite through H.264", async () => throughVideo(await blend(a, b, 0.7)), 0.7],
  ])("catches %s", async (_, make, alpha) => {
    const verdict = detectDoubleExposure(await plane(await make()), sources);
    expect(verdict.doubleExposure).toBe(true);
    expect(verdict.mix!.sources).toEqual([0, 1]);
    expect(verdict.mix!.alpha).toBeCloseTo(alpha, 1);
  });

  test("catches a gamma-space crossfade (ffmpeg xfade) midway, and a ghost of one scene at two framings", async () => {
    const [pa, pb] = [join(dir, "a.png"), join(dir, "b.png")];
    await Promise.all([sharp(a).toFile(pa), sharp(b).toFile(pb)]);
    const { stdout } = await ffmpeg(["-loop", "1", "-t", "1", "-r", "10", "-i", pa, "-loop", "1", "-t", "1", "-r", "10", "-i", pb, "-lavfi", "[0][1]xfade=transition=fade:duration=0.8:offset=0.1,format=rgb24", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
    const frames = stdout.length / (W * H * 3);
    const middle = stdout.subarray(Math.floor(frames / 2) * W * H * 3, (Math.floor(frames / 2) + 1) * W * H * 3);
    expect(detectDoubleExposure(registrationPlane(await rgbOf(await png(middle), P.width, P.height), P.width, P.height), sources).doubleExposure).toBe(true);
    // The previous chunk's last frame (the scene 12 % closer) blended with the storyboard frame it came from.
    const closer = await view(a, 1.12);
    const verdict = detectDoubleExposure(await plane(await blend(closer, a, 0.7)), [await plane(closer), sources[0]!]);
    expect(verdict.doubleExposure).toBe(true);
    expect(verdict.mix!.alpha).toBeCloseTo(0.7, 1);
  });

  test.each<[string, () => Promise<Buffer>]>([
    ["a source itself", async () => a],
    ["a camera view of a source (12 % closer, shifted)", () => view(b, 1.12, -0.04, 0.03)],
    ["a source faded to 60 %", () => sharp(a).linear(0.6, 0).png().toBuffer()],
    ["a source under a soft band of light", () => sharp(c).composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><defs><linearGradient id="g"><stop offset="0" stop-color="#fff" stop-opacity="0"/><stop offset="0.5" stop-color="#fff" stop-opacity="0.12"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></linearGradient></defs><rect x="${W / 3}" width="${W / 3}" height="${H}" fill="url(#g)"/></svg>`) }]).png().toBuffer()],
    ["a source through H.264", () => throughVideo(b)],
    ["a picture that is none of the sources", () => scene(99, W, H)],
    ["a faint 92/8 blend (the second picture is not visibly there)", () => blend(a, b, 0.92)],
  ])("passes %s", async (_, make) => {
    expect(detectDoubleExposure(await plane(await make()), sources).doubleExposure).toBe(false);
  });

  test("follows a camera across frames: a moving clean shot passes, the same shot of a composite is caught throughout", async () => {
    const clean = new DoubleExposureDetector(sources);
    const ghosted = new DoubleExposureDetector(sources);
    const composite = await blend(a, b, 0.7);
    for (let i = 0; i < 10; i++) {
      const zoom = 1 + 0.015 * i;
      expect(clean.judge(await plane(await view(a, zoom, 0.004 * i))).doubleExposure, `clean frame ${i}`).toBe(false);
      expect(ghosted.judge(await plane(await view(composite, zoom, 0.004 * i))).doubleExposure, `ghosted frame ${i}`).toBe(true);
    }
  });
});
