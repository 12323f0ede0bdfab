import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NormalizeChunkResponse } from "../../contracts/media.ts";
import type { PlanJoin } from "../../lib/stitch-plan.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { framePsnr, framePsnrs, synthClip } from "../../test/support/synth-media.ts";
import type { Decorations } from "./decoration.ts";
import { normalizeChunk } from "./normalize.ts";
import { type StitchChunk, stitchChunks } from "./stitch.ts";

/**
 * Decorations drawn by the normalize pass (issue 16: the last chunk's decorated frames encoded
 * before its `chunk` event). Three 24-frame chunks, fade(6) then cut: c0 at output 0, c1 at 18,
 * c2 at 42; 66 frames. The overlay spans the fade, so the fade window blends two decorated chunks.
 */
const W = 320;
const H = 180;
const FPS = 24;
const JOINS: PlanJoin[] = [{ type: "fade", frames: 6 }, { type: "cut", frames: 0 }];
const STARTS = [0, 18, 42];
/** Output frames of the fade: c0's last 6 blended with c1's first 6. */
const FADE = { from: 18, to: 24 };
/** Keyframes where the stitch cuts each chunk (the fade's end in c1) and where decorations end. */
const KEYFRAMES = [[], [6, 12], [10]];
/**
 * The two files compared went through different x264 generations: the after_all stitch decodes
 * the plain chunk, draws and encodes again; a pre-drawn chunk is drawn before its one encode and
 * (in a stitch) encoded once more without drawing. Each differs from the footage by its own
 * generation's loss, measured on the same frame with nothing drawn (plain chunk against the
 * undecorated stitch). Two independent errors of equal power add: the files then differ by
 * up to 3 dB less than either does from the footage (MSE₁ + MSE₂ = 2·MSE). So each frame is
 * held to its generation loss − 3 dB: a drawing that differs (a layer missing, twice, moved,
 * or a frame off) falls far below (double alpha below: > 10 dB).
 */
const GENERATION_SLACK_DB = 3;

let dir: string;
let overlay: string;
const raws: string[] = [];
let plain: StitchChunk[];
let decorated: StitchChunk[];
let decoratedRanges: { from: number; to: number }[][];
let afterAllPath: string;
let undecoratedStitch: string;

const DECORATIONS = (): Decorations => ({
  // Over the fade (18..24) and on into c1's own frames; a second one over c2's end.
  overlays: [
    { path: overlay, from: 10, to: 30 },
    { path: overlay, from: 60, to: 66 },
  ],
  cues: [{ from: 46, to: 52, text: "Made for moments\nlike these" }],
});

/** An RGBA layer: a half-transparent white bar over an opaque square, so alpha blending shows. */
async function layer(path: string) {
  const square = await sharp({ create: { width: 60, height: 60, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } } }).png().toBuffer();
  const bar = await sharp({ create: { width: W, height: 30, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0.5 } } }).png().toBuffer();
  await sharp({ create: { width: W, height: H, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([
      { input: bar, left: 0, top: 120 },
      { input: square, left: 200, top: 20 },
    ])
    .png()
    .toFile(path);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-normalize-decor-test-"));
  overlay = join(dir, "overlay.png");
  await layer(overlay);
  await Promise.all(
    ["testsrc2", "mandelbrot", "smptehdbars"].map(async (source, i) => {
      raws[i] = join(dir, `raw-${i}.mp4`);
      await synthClip(raws[i]!, { source, width: W, height: H, fps: FPS, seconds: 1.1, hue: i });
    }),
  );
  const options = (i: number) => ({ width: W, height: H, fps: FPS, frames: 24, keyframes: KEYFRAMES[i] });
  plain = [];
  decorated = [];
  decoratedRanges = [];
  for (const i of [0, 1, 2]) {
    const path = join(dir, `plain-${i}.mp4`);
    await normalizeChunk(raws[i]!, path, join(dir, `plain-last-${i}.png`), options(i));
    plain.push({ path, frames: 24 });
    const drawnPath = join(dir, `decorated-${i}.mp4`);
    await normalizeChunk(raws[i]!, drawnPath, join(dir, `decorated-last-${i}.png`), options(i), { decorations: DECORATIONS(), at: STARTS[i]!, assPath: join(dir, `captions-${i}.ass`) });
    decorated.push({ path: drawnPath, frames: 24 });
  }
  // The after_all stitch: undecorated chunks, every decoration drawn by the stitch.
  const stitch = async (name: string, chunks: StitchChunk[], decorations?: Decorations) => {
    const workDir = join(dir, `work-${name}`);
    await mkdir(workDir);
    const path = join(dir, `${name}.mp4`);
    await stitchChunks(chunks, JOINS, path, { width: W, height: H, fps: FPS, method: "single_pass", workDir, decorations });
    return path;
  };
  afterAllPath = await stitch("after-all", plain, DECORATIONS());
  undecoratedStitch = await stitch("undecorated", plain);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The generation loss of the stitch at output frame `out` with nothing drawn: the plain chunk's
 * frame against the undecorated stitch's. A fade frame has no one chunk frame to compare with:
 * it takes the lower of the frames on either side of the fade.
 */
async function generationLoss(out: number): Promise<number> {
  if (out >= FADE.from && out < FADE.to) return Math.min(await generationLoss(FADE.from - 1), await generationLoss(FADE.to));
  const chunk = out >= STARTS[2]! ? 2 : out >= FADE.to ? 1 : 0;
  return framePsnr(undecoratedStitch, out, plain[chunk]!.path, out - STARTS[chunk]!);
}

describe("the normalize pass drawing the ad's decorations", () => {
  it("draws them on the chunk's own frames as the after_all stitch does, and only there", async () => {
    // c1's own frames under the overlay (24..29), after it (30), c2 under the cue and the second overlay.
    const deficits: string[] = [];
    for (const [out, chunk] of [[25, 1], [29, 1], [30, 1], [47, 2], [62, 2]] as const) {
      const psnr = await framePsnr(afterAllPath, out, decorated[chunk]!.path, out - STARTS[chunk]!);
      const baseline = await generationLoss(out);
      if (psnr < baseline - GENERATION_SLACK_DB) deficits.push(`output frame ${out}: ${psnr.toFixed(2)} dB, the generation's ${baseline.toFixed(2)} dB`);
    }
    expect(deficits).toEqual([]);
    // The overlay is there on c1's frame 8 (output 26), and gone by its frame 14 (output 32).
    expect(await framePsnr(decorated[1]!.path, 8, plain[1]!.path, 8)).toBeLessThan(30);
    expect(await framePsnr(decorated[1]!.path, 14, plain[1]!.path, 14)).toBeGreaterThan(40);
  });

  it("leaves the last frame (the next chunk's conditioning) undecorated", async () => {
    // c2's last frame is under the second overlay; its PNG must still be the footage.
    expect((await readFile(join(dir, "decorated-last-2.png"))).equals(await readFile(join(dir, "plain-last-2.png")))).toBe(true);
  });

  it("a fade of two decorated chunks, decorations not drawn again, equals the after_all stitch; drawn again it is darker", async () => {
    const workDir = join(dir, "work-predrawn");
    await mkdir(workDir);
    const path = join(dir, "predrawn.mp4");
    // Blending two frames that carry the same layer at the same place is the layer over the blend.
    await stitchChunks(decorated, JOINS, path, { width: W, height: H, fps: FPS, method: "single_pass", workDir });
    const psnrs = await framePsnrs(path, afterAllPath);
    expect(psnrs).toHaveLength(66);
    const deficits: string[] = [];
    for (let out = 0; out < 66; out++) {
      const baseline = await generationLoss(out);
      if (psnrs[out]! < baseline - GENERATION_SLACK_DB) deficits.push(`output frame ${out}: ${psnrs[out]!.toFixed(2)} dB, the generation's ${baseline.toFixed(2)} dB`);
    }
    expect(deficits).toEqual([]);
    // Drawn twice, the half-transparent bar is blended twice: a different picture.
    const twiceDir = join(dir, "work-twice");
    await mkdir(twiceDir);
    const twice = join(dir, "twice.mp4");
    await stitchChunks(decorated, JOINS, twice, { width: W, height: H, fps: FPS, method: "single_pass", workDir: twiceDir, decorations: DECORATIONS() });
    expect(await framePsnr(twice, 20, afterAllPath, 20)).toBeLessThan((await generationLoss(20)) - 10);
  });
});

describe("POST /v1/media/chunks/normalize with decorations", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/raw.mp4", await readFile(raws[1]!), "video/mp4");
    origin.serveBytes("/overlay.png", await readFile(overlay), "image/png");
    origin.serveBytes("/small.png", await sharp({ create: { width: 16, height: 16, channels: 4, background: "#fff" } }).png().toBuffer(), "image/png");
  });

  const body = (decorations: Record<string, unknown>) => ({
    input_url: node.origin.url("/raw.mp4"),
    width: W,
    height: H,
    fps: FPS,
    frames: 24,
    keyframes: KEYFRAMES[1],
    output_url: node.origin.url("/out/chunk.mp4"),
    decorations,
  });

  it("draws those falling on the chunk and answers their chunk frames", async () => {
    const response = await postSigned(node.app, "/v1/media/chunks/normalize", body({
      output_from_frame: 18,
      overlays: [{ url: node.origin.url("/overlay.png"), from_frame: 10, to_frame: 30 }, { url: node.origin.url("/overlay.png"), from_frame: 60, to_frame: 66 }],
      // Output frames 40..43: chunk frames 22..23 (the rest is the next chunk's).
      captions: { cues: [{ start_s: 40 / 24, end_s: 44 / 24, text: "Made for moments" }] },
    }));
    expect(response.statusCode, response.body).toBe(200);
    const result = NormalizeChunkResponse.parse(response.json());
    expect(result.decorated).toEqual([{ from: 0, to: 12 }, { from: 22, to: 24 }]);
    const stored = join(dir, "route-chunk.mp4");
    await writeFile(stored, node.origin.uploads.get("/out/chunk.mp4")!.body);
    // The overlay on frame 5, the caption on frame 23, nothing on frame 14.
    expect(await framePsnr(stored, 5, plain[1]!.path, 5)).toBeLessThan(30);
    expect(await framePsnr(stored, 23, plain[1]!.path, 23)).toBeLessThan(40);
    expect(await framePsnr(stored, 14, plain[1]!.path, 14)).toBeGreaterThan(40);
  });

  it("answers 422 for an overlay of the wrong size", async () => {
    const response = await postSigned(node.app, "/v1/media/chunks/normalize", body({ output_from_frame: 18, overlays: [{ url: node.origin.url("/small.png"), from_frame: 0, to_frame: 5 }] }));
    expect(response.statusCode).toBe(422);
    // Named where the overlay sits in a normalize request: under decorations.
    expect(response.json()).toEqual({ error: `overlays[0] is 16x16, expected ${W}x${H}`, field: "decorations.overlays.0" });
  });
});
