import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StitchResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import type { Decorations } from "./decoration.ts";
import { normalizeChunk } from "./normalize.ts";
import { type StitchChunk, type StitchMethod, stitchChunks } from "./stitch.ts";
import type { PlanJoin } from "../../lib/stitch-plan.ts";
import { framePsnr, synthClip } from "../../test/support/synth-media.ts";

// Three 24-frame chunks: fade(6) then cut. Output: c0 at 0, c1 at 18, c2 at 42; 66 frames.
const W = 320;
const H = 180;
const FPS = 24;
const JOINS: PlanJoin[] = [{ type: "fade", frames: 6 }, { type: "cut", frames: 0 }];
/** c0 has a keyframe where overlay A ends (10), c1 where the fade ends (6); c2 none but 0. */
const KEYFRAMES = [[10], [6], []];
const SQUARE = { left: 200, top: 20, size: 60 };

let dir: string;
let chunks: StitchChunk[];
let overlayA: string;
let overlayB: string;
const DECORATIONS = (): Decorations => ({
  overlays: [
    { path: overlayA, from: 4, to: 10 },
    { path: overlayB, from: 60, to: 66 },
  ],
  cues: [{ from: 46, to: 52, text: "Made for moments\nlike these" }],
});
const outputs = new Map<StitchMethod, { path: string; copied: number; decorated: number; frames: number }>();

/** An RGBA layer: opaque white square, transparent elsewhere. */
async function squareLayer(path: string) {
  const square = await sharp({ create: { width: SQUARE.size, height: SQUARE.size, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } } }).png().toBuffer();
  await sharp({ create: { width: W, height: H, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: square, left: SQUARE.left, top: SQUARE.top }])
    .png()
    .toFile(path);
}

/** Frame `n` of a video as RGB pixels. */
async function frameRgb(path: string, n: number): Promise<Buffer> {
  const { stdout } = await ffmpeg(["-i", path, "-vf", `select='eq(n,${n})',scale=in_color_matrix=bt709:in_range=tv,format=rgb24`, "-frames:v", "1", "-f", "rawvideo", "-"]);
  expect(stdout.length).toBe(W * H * 3);
  return stdout;
}

/** Mean |a − b| over a box. */
function meanDiff(a: Buffer, b: Buffer, box: { left: number; top: number; width: number; height: number }): number {
  let sum = 0;
  for (let y = box.top; y < box.top + box.height; y++) {
    for (let x = box.left; x < box.left + box.width; x++) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a[(y * W + x) * 3 + c]! - b[(y * W + x) * 3 + c]!);
    }
  }
  return sum / (box.width * box.height * 3);
}

const squareBox = { left: SQUARE.left + 4, top: SQUARE.top + 4, width: SQUARE.size - 8, height: SQUARE.size - 8 };
const captionBox = { left: 115, top: 150, width: 90, height: 20 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-decor-test-"));
  overlayA = join(dir, "overlay-a.png");
  overlayB = join(dir, "overlay-b.png");
  await Promise.all([squareLayer(overlayA), squareLayer(overlayB)]);
  chunks = await Promise.all(
    ["testsrc2", "mandelbrot", "smptehdbars"].map(async (source, i) => {
      const raw = join(dir, `raw-${i}.mp4`);
      await synthClip(raw, { source, width: W, height: H, fps: FPS, seconds: 1.1, hue: i });
      const path = join(dir, `chunk-${i}.mp4`);
      await normalizeChunk(raw, path, null, { width: W, height: H, fps: FPS, frames: 24, keyframes: KEYFRAMES[i] });
      return { path, frames: 24 };
    }),
  );
  for (const method of ["seams", "single_pass"] as const) {
    const workDir = join(dir, `work-${method}`);
    await mkdir(workDir);
    const path = join(dir, `${method}.mp4`);
    const result = await stitchChunks(chunks, JOINS, path, { width: W, height: H, fps: FPS, method, workDir, decorations: DECORATIONS() });
    outputs.set(method, { path, copied: result.copiedFrames, decorated: result.decoratedFrames, frames: result.frames });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("stitching with overlays and burned captions", () => {
  it("re-encodes only the decorated frames and the seams; the rest is copied", () => {
    const seams = outputs.get("seams")!;
    expect(seams.frames).toBe(66);
    expect(seams.decorated).toBe(18);
    // c0: [0,4) and, from its keyframe at 10, [10,18); c1: [6,24); c2: [0,4) — after the cue at
    // its frames 4..9 the next keyframe is past its end, so the rest of c2 is encoded.
    expect(seams.copied).toBe(4 + 8 + 18 + 4);
    expect(outputs.get("single_pass")!.copied).toBe(0);
  });

  it("leaves frames outside the decorations bit-identical to the chunks' frames", async () => {
    const { path } = outputs.get("seams")!;
    for (const [out, chunk, at] of [[2, 0, 2], [10, 0, 10], [16, 0, 16], [30, 1, 12], [44, 2, 2]] as const) {
      expect(await framePsnr(path, out, chunks[chunk]!.path, at), `output frame ${out}`).toBe(100);
    }
  });

  it.each(["seams", "single_pass"] as const)("%s: draws each overlay on exactly its frames", async (method) => {
    const { path } = outputs.get(method)!;
    const white = Buffer.alloc(W * H * 3, 255);
    for (const n of [4, 9, 60, 65]) expect(meanDiff(await frameRgb(path, n), white, squareBox), `frame ${n}`).toBeLessThan(6);
    for (const [n, chunk, at] of [[3, 0, 3], [10, 0, 10], [59, 2, 17]] as const) {
      const frame = await frameRgb(path, n);
      expect(meanDiff(frame, white, squareBox), `frame ${n}`).toBeGreaterThan(40);
      expect(meanDiff(frame, await frameRgb(chunks[chunk]!.path, at), squareBox), `frame ${n}`).toBeLessThan(4);
    }
  });

  it.each(["seams", "single_pass"] as const)("%s: burns the caption on exactly the cue's frames", async (method) => {
    const { path } = outputs.get(method)!;
    const c2 = chunks[2]!.path;
    for (const n of [46, 49, 51]) expect(meanDiff(await frameRgb(path, n), await frameRgb(c2, n - 42), captionBox), `frame ${n}`).toBeGreaterThan(20);
    for (const n of [45, 52]) expect(meanDiff(await frameRgb(path, n), await frameRgb(c2, n - 42), captionBox), `frame ${n}`).toBeLessThan(4);
  });

  it("refuses a decoration past the end of the video", async () => {
    const workDir = join(dir, "work-late");
    await mkdir(workDir);
    const late = { overlays: [{ path: overlayA, from: 60, to: 67 }], cues: [] };
    await expect(stitchChunks(chunks, JOINS, join(dir, "late.mp4"), { width: W, height: H, fps: FPS, method: "seams", workDir, decorations: late })).rejects.toMatchObject({
      statusCode: 422,
      field: "overlays.0",
      message: "overlays[0] ends at frame 67, after the video's 66 frames",
    });
  });
});

describe("POST /v1/media/videos/stitch with overlays and captions", () => {
  const node = useMediaNode(async (origin) => {
    for (const [i, chunk] of chunks.entries()) origin.serveBytes(`/chunk-${i}.mp4`, await readFile(chunk.path), "video/mp4");
    origin.serveBytes("/overlay.png", await readFile(overlayA), "image/png");
    origin.serveBytes("/small.png", await sharp({ create: { width: 16, height: 16, channels: 4, background: "#fff" } }).png().toBuffer(), "image/png");
  });

  const body = (extra: Record<string, unknown> = {}) => ({
    chunks: chunks.map((c, i) => ({ url: node.origin.url(`/chunk-${i}.mp4`), frames: c.frames })),
    transitions: JOINS,
    width: W,
    height: H,
    fps: FPS,
    overlays: [{ url: node.origin.url("/overlay.png"), from_frame: 4, to_frame: 10 }],
    // 46/24 s to 52/24 s: output frames 46..51.
    captions: { cues: [{ start_s: 1.916, end_s: 2.166, text: "Made for moments\nlike these" }] },
    output_url: node.origin.url("/out/decorated.mp4"),
    ...extra,
  });

  it("draws the overlay and the cue and reports the decorated frames", async () => {
    const response = await postSigned(node.app, "/v1/media/videos/stitch", body());
    expect(response.statusCode, response.body).toBe(200);
    const result = StitchResponse.parse(response.json());
    expect(result).toMatchObject({ frames: 66, decorated_frames: 12, copied_frames: 4 + 8 + 18 + 4 });
    const stored = join(dir, "decorated-upload.mp4");
    await writeFile(stored, node.origin.uploads.get("/out/decorated.mp4")!.body);
    expect((await ffprobe(stored, true)).streams[0]?.nb_read_frames).toBe("66");
  });

  it("answers 422 for an overlay of the wrong size and a cue that is not text", async () => {
    const small = await postSigned(node.app, "/v1/media/videos/stitch", body({ overlays: [{ url: node.origin.url("/small.png"), from_frame: 0, to_frame: 5 }] }));
    expect(small.statusCode).toBe(422);
    expect(small.json()).toEqual({ error: `overlays[0] is 16x16, expected ${W}x${H}`, field: "overlays.0" });
    const backwards = await postSigned(node.app, "/v1/media/videos/stitch", body({ overlays: [{ url: node.origin.url("/overlay.png"), from_frame: 9, to_frame: 3 }] }));
    expect(backwards.statusCode).toBe(422);
    expect(backwards.json().error).toBe("overlays.0.to_frame: to_frame must be after from_frame");
    const markup = await postSigned(node.app, "/v1/media/videos/stitch", body({ captions: { cues: [{ start_s: 0, end_s: 1, text: "{\\pos(0,0)}hi" }] } }));
    expect(markup.statusCode).toBe(422);
    expect(markup.json().error).toMatch(/^captions\.cues\.0\.text: /);
  });
});
