import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CameraMove } from "../contracts/spec.ts";
import { ffmpeg, ffprobe, run } from "../media-node/ffmpeg.ts";
import { reframe } from "../media-node/images/reframe.ts";
import { InputError } from "../media-node/io.ts";
import { registrationPlane } from "../media-node/video/camera-registration.ts";
import { DoubleExposureDetector } from "../media-node/video/double-exposure.ts";
import { lumaOf, meanAbsoluteDifference, median } from "../media-node/video/frame-metrics.ts";
import { decodeAllFrames } from "../media-node/video/frames.ts";
import { rgbOf, scene } from "../test/support/scenes.ts";
import { partsOf, renderDraftVideo } from "./video.ts";

// The draft video model: exact frames, first frame = start image, and the camera really moves.

const W = 160;
const H = 90;
const FRAMES = 24;
const FPS = 12;

let dir: string;
let startImage: Buffer;
let startGray: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "draft-video-test-"));
  // A bright square in the middle of a dark, textured frame: its size and position show the move.
  const square = await sharp({ create: { width: 30, height: 30, channels: 3, background: "#F0F0F0" } }).png().toBuffer();
  const backdrop = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) backdrop.fill(30 + ((x * 3 + y * 5) % 40), (y * W + x) * 3, (y * W + x) * 3 + 3);
  startImage = await sharp(backdrop, { raw: { width: W, height: H, channels: 3 } }).composite([{ input: square, left: 65, top: 30 }]).png().toBuffer();
  startGray = luma(await sharp(startImage).removeAlpha().raw().toBuffer());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function render(camera: CameraMove, frames = FRAMES, parts = 1): Promise<string> {
  const path = join(dir, `${camera}-${frames}-${parts}.mp4`);
  await renderDraftVideo({ startImage, frames, fps: FPS, width: W, height: H, camera, seed: 1, parts }, path, dir);
  return path;
}

/** Luma (0..255) of RGB pixels: decoded through RGB so video range and full range compare. */
function luma(rgb: Buffer): Buffer {
  const out = Buffer.alloc(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!);
  return out;
}

async function grayFrames(path: string): Promise<Buffer[]> {
  const { stdout } = await run("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
  const size = W * H * 3;
  const frames: Buffer[] = [];
  for (let at = 0; at + size <= stdout.length; at += size) frames.push(luma(stdout.subarray(at, at + size)));
  return frames;
}

function difference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Area and centroid of the bright square. */
function square(frame: Buffer): { area: number; x: number; y: number } {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (frame[y * W + x]! > 150) {
        area++;
        sx += x;
        sy += y;
      }
    }
  }
  return { area, x: sx / area, y: sy / area };
}

describe("renderDraftVideo", () => {
  test("H.264 yuv420p with exactly the frames, size and fps asked for; frame 0 is the start image", async () => {
    const path = await render("push_in");
    const video = (await ffprobe(path, true)).streams.find((s) => s.codec_type === "video")!;
    expect(video).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: W, height: H, r_frame_rate: `${FPS}/1`, nb_read_frames: String(FRAMES) });
    const frames = await grayFrames(path);
    expect(frames).toHaveLength(FRAMES);
    expect(difference(frames[0]!, startGray)).toBeLessThan(4);
    // Consecutive frames really change (camera and light sweep), so no two are alike.
    for (let i = 1; i < frames.length; i++) expect(difference(frames[i]!, frames[i - 1]!), `frame ${i}`).toBeGreaterThan(0.1);
  });

  test.each<[CameraMove, (first: ReturnType<typeof square>, last: ReturnType<typeof square>) => void]>([
    ["push_in", (a, b) => expect(b.area).toBeGreaterThan(a.area * 1.15)],
    ["pull_out", (a, b) => expect(b.area).toBeLessThan(a.area * 0.87)],
    ["pan_left", (a, b) => expect(b.x).toBeGreaterThan(a.x + 8)], // camera left: the scene slides right
    ["pan_right", (a, b) => expect(b.x).toBeLessThan(a.x - 8)],
    ["tilt_up", (a, b) => expect(b.y).toBeGreaterThan(a.y + 4)],
    ["tilt_down", (a, b) => expect(b.y).toBeLessThan(a.y - 4)],
    ["orbit", (a, b) => expect(b.area).toBeGreaterThan(a.area * 1.03)],
  ])("%s moves the camera the right way", async (camera, check) => {
    const frames = await grayFrames(await render(camera));
    expect(difference(frames[0]!, startGray)).toBeLessThan(4);
    check(square(frames[0]!), square(frames.at(-1)!));
  });

  test("static breathes and handheld wobbles, both only a little", async () => {
    for (const camera of ["static", "handheld"] as const) {
      const frames = await grayFrames(await render(camera));
      const first = square(frames[0]!);
      expect(difference(frames[0]!, startGray)).toBeLessThan(4);
      let moved = 0;
      for (const frame of frames) {
        const now = square(frame);
        moved = Math.max(moved, Math.hypot(now.x - first.x, now.y - first.y));
        expect(Math.abs(now.area / first.area - 1)).toBeLessThan(0.12);
      }
      expect(moved).toBeLessThan(4);
      if (camera === "handheld") expect(moved).toBeGreaterThan(0.3);
      expect(difference(frames.at(-1)!, frames[0]!)).toBeGreaterThan(0.3);
    }
  });

  test("a shot split into chained parts shares one shot's move, so chained copies stay close", async () => {
    expect(partsOf("Hero shot. Camera: slow push-in. Continuous shot, part 2 of 3. Look: clean.")).toBe(3);
    expect(partsOf("Hero shot. Camera: slow push-in.")).toBe(1);
    const first = square((await grayFrames(await render("push_in", FRAMES, 1)))[0]!);
    const whole = square((await grayFrames(await render("push_in", FRAMES, 1))).at(-1)!);
    const part = square((await grayFrames(await render("push_in", FRAMES, 3))).at(-1)!);
    // Still a push-in, but a third of a capped 6 s shot (1.25^(1/3): +7.7 % zoom) instead of
    // a 2 s clip's own +12 %, which three chained parts would compound to +40 %.
    expect(part.area).toBeGreaterThan(first.area * 1.03);
    expect(part.area - first.area).toBeLessThan((whole.area - first.area) * 0.8);
  });

  test("a single frame works; odd sizes and undecodable images are input errors", async () => {
    expect(await grayFrames(await render("orbit", 1))).toHaveLength(1);
    await expect(renderDraftVideo({ startImage, frames: 4, fps: FPS, width: 161, height: H, camera: "static", seed: 0 }, join(dir, "odd.mp4"), dir)).rejects.toBeInstanceOf(InputError);
    await expect(renderDraftVideo({ startImage: Buffer.from("nope"), frames: 4, fps: FPS, width: W, height: H, camera: "static", seed: 0 }, join(dir, "bad.mp4"), dir)).rejects.toBeInstanceOf(InputError);
  });
});

describe("renderDraftVideo with an end image (a first-and-last-frame model)", () => {
  const SW = 256;
  const SH = 144;
  const P = { width: 128, height: 72 };
  const plane = async (image: Buffer) => registrationPlane(await rgbOf(image, P.width, P.height), P.width, P.height);

  async function clip(start: Buffer, end: Buffer, name: string) {
    const path = join(dir, `${name}.mp4`);
    await renderDraftVideo({ startImage: start, endImage: end, frames: FRAMES, fps: FPS, width: SW, height: SH, camera: "push_in", seed: 3 }, path, dir);
    const frames = await decodeAllFrames(path, { width: SW, height: SH });
    return { frames, luma: frames.map(lumaOf) };
  }

  /** Every frame judged against the two pictures it was made from. */
  async function doubleExposures(frames: Buffer[], start: Buffer, end: Buffer): Promise<number[]> {
    const detector = new DoubleExposureDetector([await plane(start), await plane(end)]);
    const found: number[] = [];
    for (const [i, frame] of frames.entries()) {
      const small = await rgbOf(await sharp(frame, { raw: { width: SW, height: SH, channels: 3 } }).png().toBuffer(), P.width, P.height);
      if (detector.judge(registrationPlane(small, P.width, P.height)).doubleExposure) found.push(i);
    }
    return found;
  }

  test("the same scene from closer: the camera travels there, without a jump or a ghost, and the last frame is the end image", async () => {
    const start = await scene(11, SW, SH);
    const end = (await reframe(start, { zoom: 1.15, dx: 0.02, dy: 0 }, SW, SH)).png;
    const { frames, luma } = await clip(start, end, "arrive-closer");
    expect(frames).toHaveLength(FRAMES);
    const [first, last] = [lumaOf(await rgbOf(start, SW, SH)), lumaOf(await rgbOf(end, SW, SH))];
    expect(meanAbsoluteDifference(luma[0]!, first)).toBeLessThan(2);
    expect(meanAbsoluteDifference(luma.at(-1)!, last)).toBeLessThan(2);
    // Closer to the end image frame by frame, at an even pace: no step is a jump.
    const toEnd = luma.map((y) => meanAbsoluteDifference(y, last));
    for (let i = 1; i < toEnd.length; i++) expect(toEnd[i]!, `frame ${i}`).toBeLessThan(toEnd[i - 1]! + 0.5);
    const steps = luma.slice(1).map((y, i) => meanAbsoluteDifference(luma[i]!, y));
    expect(Math.max(...steps)).toBeLessThan(3 * median(steps) + 0.5);
    expect(await doubleExposures(frames, start, end)).toEqual([]);
  });

  test("another scene: a slide lands on it (no frame blends the two), and a crossfade of the same pictures would have been caught", async () => {
    const start = await scene(12, SW, SH);
    const end = await scene(13, SW, SH);
    const { frames, luma } = await clip(start, end, "arrive-elsewhere");
    expect(meanAbsoluteDifference(luma[0]!, lumaOf(await rgbOf(start, SW, SH)))).toBeLessThan(2);
    expect(meanAbsoluteDifference(luma.at(-1)!, lumaOf(await rgbOf(end, SW, SH)))).toBeLessThan(2);
    expect(await doubleExposures(frames, start, end)).toEqual([]);
    // What this model must not do: the crossfade between the same two pictures ghosts every middle frame.
    const [a, b] = [join(dir, "xa.png"), join(dir, "xb.png")];
    await Promise.all([sharp(start).toFile(a), sharp(end).toFile(b)]);
    const { stdout } = await ffmpeg(["-loop", "1", "-t", "1", "-r", "12", "-i", a, "-loop", "1", "-t", "1", "-r", "12", "-i", b, "-lavfi", "[0][1]xfade=transition=fade:duration=0.9:offset=0.05,format=rgb24", "-frames:v", "12", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
    const crossfade = Array.from({ length: 12 }, (_, i) => stdout.subarray(i * SW * SH * 3, (i + 1) * SW * SH * 3));
    const ghosts = await doubleExposures(crossfade, start, end);
    expect(ghosts.length).toBeGreaterThanOrEqual(6);
    expect(ghosts).toEqual(expect.arrayContaining([4, 5, 6, 7]));
  });

  test("an undecodable end image is an input error naming it", async () => {
    await expect(renderDraftVideo({ startImage, endImage: Buffer.from("nope"), frames: 4, fps: FPS, width: W, height: H, camera: "static", seed: 0 }, join(dir, "bad-end.mp4"), dir)).rejects.toThrow(/last_image could not be decoded/);
  });
});

