import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SeamSpec, SeamsResponse } from "../../contracts/media.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { panClip, scene } from "../../test/support/scenes.ts";
import { analysisSize, decodeAllFrames, decodeFrameRanges } from "./frames.ts";
import { normalizeChunk } from "./normalize.ts";
import { fileFrames, measureSeams } from "./seams.ts";
import { stitchChunks } from "./stitch.ts";

/**
 * Seams measured on a video stitched by the real stitcher from chunks that pan across scenes:
 * beat 0 is one pan in three chunks (the second continues from the first's exact last frame, the
 * third jumps ahead), beat 1 comes in on a cut, beat 2 on an 8-frame dissolve.
 */

const W = 320;
const H = 180;
const FPS = 24;
const N = 30;

let dir: string;
let stitched: string;
const seams: SeamSpec[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seams-test-"));
  const [one, two, three] = await Promise.all([1, 2, 3].map((seed) => scene(seed, W * 4, H)));
  const pans = [
    { image: one!, fromX: 0, stepX: 3 },
    // Starts on the frame chunk 0 ended on: the shot goes on.
    { image: one!, fromX: (N - 1) * 3, stepX: 3 },
    // Starts 60 px further than chunk 1 ended: a jump inside the shot.
    { image: one!, fromX: 2 * (N - 1) * 3 + 60, stepX: 3 },
    { image: two!, fromX: 0, stepX: 3 },
    { image: three!, fromX: 0, stepX: 3 },
  ];
  const joins = [
    { type: "cut", frames: 0 },
    { type: "cut", frames: 0 },
    { type: "cut", frames: 0 },
    { type: "dissolve", frames: 8 },
  ] as const;
  const chunks = await Promise.all(
    pans.map(async (pan, i) => {
      const raw = join(dir, `raw-${i}.mp4`);
      const path = join(dir, `chunk-${i}.mp4`);
      await panClip(raw, pan.image, { width: W, height: H, fps: FPS, frames: N, fromX: pan.fromX, stepX: pan.stepX });
      await normalizeChunk(raw, path, null, { width: W, height: H, fps: FPS, frames: N, keyframes: i === 3 ? [N - 8] : i === 4 ? [8] : [] });
      return { path, frames: N };
    }),
  );
  stitched = join(dir, "stitched.mp4");
  await stitchChunks(chunks, joins, stitched, { width: W, height: H, fps: FPS, method: "seams", workDir: dir });
  let at = 0;
  joins.forEach((join, i) => {
    at += N - join.frames;
    seams.push({ at_frame: at, transition: join, within_beat: i < 2 });
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = () => ({ width: W, height: H, fps: FPS, frames: 5 * N - 8 });

describe("decoding frame ranges", () => {
  test("gives exactly the frames a full decode gives, for ranges anywhere (overlapping, at the ends)", async () => {
    const size = analysisSize(W, H);
    expect(size).toEqual({ width: 256, height: 144 });
    expect(analysisSize(576, 1024)).toEqual({ width: 144, height: 256 });
    const all = await decodeAllFrames(stitched, size);
    expect(all).toHaveLength(5 * N - 8);
    const ranges = [{ from: 0, to: 3 }, { from: 27, to: 33 }, { from: 31, to: 40 }, { from: 97, to: 101 }, { from: all.length - 2, to: all.length }];
    const some = await decodeFrameRanges(stitched, ranges, FPS, size);
    expect([...some.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2, ...Array.from({ length: 13 }, (_, i) => 27 + i), 97, 98, 99, 100, all.length - 2, all.length - 1]);
    for (const [n, frame] of some) expect(frame.equals(all[n]!), `frame ${n}`).toBe(true);
    await expect(decodeFrameRanges(stitched, [{ from: all.length - 1, to: all.length + 3 }], FPS, size)).rejects.toThrow(/decoded 1 frames, expected 4/);
  });
});

describe("measuring seams", () => {
  test("a shot that goes on scores like one, a jump inside it does not, and each planned transition is what plays", async () => {
    const measured = await measureSeams(fileFrames(stitched, FPS), seams, options());
    const [goesOn, jumps, cut, dissolve] = measured.seams;
    expect(goesOn).toMatchObject({ at_frame: N, within_beat: true, transition_check: null });
    expect(goesOn!.jump_ratio).toBeLessThan(1);
    expect(goesOn!.ssim).toBeGreaterThan(0.95);
    expect(goesOn!.palette_delta_e).toBeLessThan(2);
    // 60 px of a 3-px-a-frame pan: twenty steps' worth of travel at once.
    expect(jumps!.jump_ratio).toBeGreaterThan(4);
    expect(jumps!.ssim).toBeLessThan(goesOn!.ssim);
    expect(cut!.transition_check).toEqual({ delivered: true, detail: `abrupt change at frame ${3 * N} only` });
    expect(cut!.palette_delta_e).toBeGreaterThan(goesOn!.palette_delta_e);
    expect(dissolve!.transition_check).toEqual({ delivered: true, detail: `a monotone change across frames ${4 * N - 8}–${4 * N - 1}` });
    // Only the frames around the four seams were decoded.
    expect(measured.decodedFrames).toBeLessThan(4 * (2 * 7 + 8));
  });

  test("a transition the viewer does not get is reported: a cut planned where the picture flows on, a dissolve planned where it cuts", async () => {
    const wrong: SeamSpec[] = [
      { at_frame: 15, transition: { type: "cut", frames: 0 }, within_beat: false },
      { at_frame: 3 * N - 4, transition: { type: "fade", frames: 8 }, within_beat: false },
      { at_frame: 4 * N - 8, transition: { type: "cut", frames: 0 }, within_beat: false },
    ];
    const [flowing, cutAsFade, dissolveAsCut] = (await measureSeams(fileFrames(stitched, FPS), wrong, options())).seams;
    expect(flowing!.transition_check).toMatchObject({ delivered: false, detail: expect.stringMatching(/^no abrupt change at frame 15/) });
    expect(cutAsFade!.transition_check).toMatchObject({ delivered: false, detail: expect.stringMatching(new RegExp(`^frame ${3 * N} makes \\d+ % of the change at once`)) });
    expect(dissolveAsCut!.transition_check!.delivered).toBe(false);
  });
});

describe("POST /v1/media/videos/seams", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/stitched.mp4", await readFile(stitched), "video/mp4");
  });

  test("measures the seams of the video at the URL", async () => {
    const response = await postSigned(node.app, "/v1/media/videos/seams", { video_url: node.origin.url("/stitched.mp4"), ...options(), seams });
    expect(response.statusCode, response.body).toBe(200);
    const body = SeamsResponse.parse(response.json());
    expect(body.seams.map((s) => s.at_frame)).toEqual(seams.map((s) => s.at_frame));
    expect([body.analysis_width, body.analysis_height]).toEqual([256, 144]);
  });

  // Functions: the seam list exists only once beforeAll has stitched the video.
  test.each<[string, () => Record<string, unknown>, RegExp]>([
    ["seams out of order", () => ({ seams: [seams[1], seams[0]] }), /seams\.1\.at_frame: seams must be in order/],
    ["a window past the video's end", () => ({ seams: [{ at_frame: 5 * N - 10, transition: { type: "fade", frames: 8 }, within_beat: false }] }), /must end before the video's last frame/],
    ["a blend inside a beat", () => ({ seams: [{ at_frame: 40, transition: { type: "dissolve", frames: 4 }, within_beat: true }] }), /chunks of one beat join with a cut/],
    ["a video shorter than it is said to be", () => ({ frames: 200, seams: [...seams, { at_frame: 160, transition: { type: "cut", frames: 0 }, within_beat: false }] }), /decoded \d+ frames, expected/],
  ])("answers 422 for %s", async (_, change, message) => {
    const response = await postSigned(node.app, "/v1/media/videos/seams", { video_url: node.origin.url("/stitched.mp4"), ...options(), seams, ...change() });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatch(message);
  });
});
