import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SeamSpec, SeamsResponse } from "../../contracts/media.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { panClip, scene } from "../../test/support/scenes.ts";
import { analysisSize } from "./frames.ts";
import { normalizeChunk } from "./normalize.ts";
import { clearBand } from "./seam-decorations.ts";
import { fileFrames, measureSeams } from "./seams.ts";
import { stitchChunks } from "./stitch.ts";

/**
 * Seams under the ad's finish: a clean cut into beat 1 at frame 30 and a clean join inside it at
 * 60, with an opaque bar drawn over the top rows from frame 34 (4 frames after the cut) and a
 * burned cue from frame 60 (at the join), as the stitch draws a headline and a caption.
 */

const W = 320;
const H = 180;
const FPS = 24;
const N = 30;
const SEAMS: SeamSpec[] = [
  { at_frame: N, transition: { type: "cut", frames: 0 }, within_beat: false },
  { at_frame: 2 * N, transition: { type: "cut", frames: 0 }, within_beat: true },
];
const BAR_ROWS = 50;

let dir: string;
let stitched: string;
let bar: Buffer;
let full: Buffer;

/** An RGBA layer at the video's size, opaque white over its top `rows`, transparent below. */
async function layer(rows: number): Promise<Buffer> {
  const band = await sharp({ create: { width: W, height: rows, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } } }).png().toBuffer();
  return sharp({ create: { width: W, height: H, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).composite([{ input: band, left: 0, top: 0 }]).png().toBuffer();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seam-decorations-test-"));
  [bar, full] = await Promise.all([layer(BAR_ROWS), layer(H)]);
  const barPath = join(dir, "bar.png");
  await sharp(bar).toFile(barPath);
  const [one, two] = await Promise.all([1, 2].map((seed) => scene(seed, W * 4, H)));
  const pans = [
    { image: one!, fromX: 0 },
    { image: two!, fromX: 0 },
    // Continues from the frame chunk 1 ended on: the join at 60 is clean.
    { image: two!, fromX: (N - 1) * 3 },
  ];
  const chunks = await Promise.all(
    pans.map(async (pan, i) => {
      const raw = join(dir, `raw-${i}.mp4`);
      const path = join(dir, `chunk-${i}.mp4`);
      await panClip(raw, pan.image, { width: W, height: H, fps: FPS, frames: N, fromX: pan.fromX, stepX: 3 });
      await normalizeChunk(raw, path, null, { width: W, height: H, fps: FPS, frames: N, keyframes: i === 1 ? [4] : [] });
      return { path, frames: N };
    }),
  );
  stitched = join(dir, "stitched.mp4");
  const decorations = { overlays: [{ path: barPath, from: N + 4, to: 3 * N }], cues: [{ from: 2 * N, to: 2 * N + 15, text: "Fresh every morning" }] };
  await stitchChunks(chunks, SEAMS.map((s) => s.transition), stitched, { width: W, height: H, fps: FPS, method: "seams", workDir: dir, decorations });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = { width: W, height: H, fps: FPS, frames: 3 * N };
const cue = { start_s: (2 * N) / FPS, end_s: (2 * N + 15) / FPS, text: "Fresh every morning" };

describe("the clear band", () => {
  test("is the largest run of rows no decoration on screen in the frames covers", () => {
    const size = { width: 256, height: 144 };
    const decorated = [
      { from_frame: 10, to_frame: 20, top: 0, bottom: 40 },
      { from_frame: 15, to_frame: 30, top: 100, bottom: 144 },
    ];
    expect(clearBand(decorated, 0, 10, size)).toEqual({ from: 0, to: 144 });
    expect(clearBand(decorated, 5, 12, size)).toEqual({ from: 40, to: 144 });
    expect(clearBand(decorated, 12, 16, size)).toEqual({ from: 40, to: 100 });
    expect(clearBand(decorated, 20, 40, size)).toEqual({ from: 0, to: 100 });
  });
});

describe("POST /v1/media/videos/seams with the stitch's decorations", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/stitched.mp4", await readFile(stitched), "video/mp4");
    origin.serveBytes("/bar.png", bar, "image/png");
    origin.serveBytes("/full.png", full, "image/png");
  });
  const measure = (decorations?: unknown) =>
    postSigned(node.app, "/v1/media/videos/seams", { video_url: node.origin.url("/stitched.mp4"), ...options, seams: SEAMS, ...(decorations ? { decorations } : {}) });

  test("judges the pictures on the rows the bar and the caption leave clear: the cut is delivered, the join is no jump", async () => {
    // Whole frames: the bar appearing at 34 is a second abrupt change, so the check can fail.
    const bare = await measureSeams(fileFrames(stitched, FPS), SEAMS, options);
    expect(bare.seams[0]!.transition_check).toMatchObject({ delivered: false, detail: expect.stringContaining(`${N + 4}`) });

    const response = await measure({ overlays: [{ url: node.origin.url("/bar.png"), from_frame: N + 4, to_frame: 3 * N }], captions: { cues: [cue] } });
    expect(response.statusCode, response.body).toBe(200);
    const [cut, join] = SeamsResponse.parse(response.json()).seams;
    const size = analysisSize(W, H);
    // The cut: below the bar (and its macroblock of encoder smear); no cue is near it.
    expect(cut!.rows.from).toBeGreaterThanOrEqual(Math.ceil((BAR_ROWS * size.height) / H));
    expect(cut!.rows.to).toBe(size.height);
    expect(cut!).toMatchObject({ unjudged: null, transition_check: { delivered: true } });
    // The join: between the bar and the caption band.
    expect(join!.rows.from).toBe(cut!.rows.from);
    expect(join!.rows.to).toBeLessThan(size.height);
    expect(join!.unjudged).toBeNull();
    expect(join!.jump_ratio).toBeLessThanOrEqual(2);
  });

  test("does not judge a seam a layer covers entirely, and says why", async () => {
    const response = await measure({ overlays: [{ url: node.origin.url("/full.png"), from_frame: N + 4, to_frame: 3 * N }] });
    expect(response.statusCode, response.body).toBe(200);
    const [cut, join] = SeamsResponse.parse(response.json()).seams;
    for (const seam of [cut!, join!]) {
      expect(seam.unjudged).toMatch(/leave at most 0 of 144 rows clear/);
      expect(seam.transition_check).toBeNull();
      expect(seam.rows).toEqual({ from: 0, to: 144 });
    }
  });

  test("answers 422 for a decoration that is not one", async () => {
    const response = await measure({ overlays: [{ url: node.origin.url("/bar.png"), from_frame: 40, to_frame: 40 }] });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatch(/to_frame must be after from_frame/);
  });
});
