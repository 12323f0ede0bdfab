import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StitchResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../../test/support/origin.ts";
import { buildServer } from "../server.ts";
import { type StitchChunk, type StitchMethod, type StitchResult, stitchChunks } from "./stitch.ts";
import type { PlanJoin } from "../../lib/stitch-plan.ts";
import { framePsnr, videoPsnr } from "../../test/support/synth-media.ts";
import { FPS, FRAMES, H, JOINS, TOTAL, W, normalizedChunks } from "../../test/support/stitch-fixture.ts";

/** Output frame where each chunk starts: Σ previous (frames − outgoing overlap). */
const STARTS = [0, 14, 32, 50, 61];

let dir: string;
let chunks: StitchChunk[];
const outputs = new Map<StitchMethod, { path: string; result: StitchResult }>();

async function stitch(name: string, use: StitchChunk[], joins: PlanJoin[], method: StitchMethod, seamsPerEncode?: number) {
  const workDir = join(dir, `work-${name}`);
  await mkdir(workDir);
  const path = join(dir, `${name}.mp4`);
  return { path, result: await stitchChunks(use, joins, path, { width: W, height: H, fps: FPS, method, workDir, seamsPerEncode }) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-stitch-test-"));
  // The last chunk is normalized without its seam keyframe: the seam must run on to frame 24.
  chunks = await normalizedChunks(dir, { keyframes: (i, overlapIn) => (overlapIn > 0 && i < 4 ? [overlapIn] : []), lastFrames: true });
  for (const method of ["single_pass", "seams"] as const) outputs.set(method, await stitch(method, chunks, JOINS, method));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("stitchChunks", () => {
  it.each(["single_pass", "seams"] as const)("%s: exactly Σframes − Σoverlaps frames of H.264 yuv420p at 24 fps", async (method) => {
    const { path, result } = outputs.get(method)!;
    expect(TOTAL).toBe(91);
    expect(result.frames).toBe(TOTAL);
    const probe = await ffprobe(path, true);
    expect(probe.streams).toHaveLength(1);
    expect(probe.streams[0]).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: W, height: H, r_frame_rate: "24/1", nb_read_frames: String(TOTAL) });
    expect(Number(probe.format.duration)).toBeCloseTo(TOTAL / FPS, 3);
  });

  it("seams re-encodes only the transition windows and copies the rest", () => {
    expect(outputs.get("single_pass")!.result.copiedFrames).toBe(0);
    // Own regions from their first keyframe: c0 [0,14) c1 [6,18) c2 [4,18) c3 [0,11) c4 [24,30).
    expect(outputs.get("seams")!.result.copiedFrames).toBe(14 + 12 + 14 + 11 + 6);
  });

  it("both methods give the same pictures, frame for frame", async () => {
    const psnr = await videoPsnr(outputs.get("seams")!.path, outputs.get("single_pass")!.path);
    expect(psnr.frames).toBe(TOTAL);
    expect(psnr.mean).toBeGreaterThan(35);
    // The hue turns 0.25 rad per frame: a frame off by one anywhere would fall far below this.
    expect(psnr.min).toBeGreaterThan(30);
  });

  it("copied frames are the chunk's own frames, bit for bit", async () => {
    const seams = outputs.get("seams")!.path;
    expect(await framePsnr(seams, 5, chunks[0]!.path, 5)).toBe(100);
    expect(await framePsnr(seams, STARTS[1]! + 10, chunks[1]!.path, 10)).toBe(100);
    expect(await framePsnr(seams, STARTS[4]! + 27, chunks[4]!.path, 27)).toBe(100);
  });

  it.each(["single_pass", "seams"] as const)("%s: a fade blends both chunks, a cut does not", async (method) => {
    const { path } = outputs.get(method)!;
    // Middle of the 6-frame fade between chunk 0 (its frames 14..19) and chunk 1 (0..5).
    const mid = STARTS[1]! + 3;
    expect(await framePsnr(path, mid, chunks[0]!.path, 17)).toBeLessThan(25);
    expect(await framePsnr(path, mid, chunks[1]!.path, 3)).toBeLessThan(25);
    // Just before the transition it is still chunk 0; just after, chunk 1.
    expect(await framePsnr(path, STARTS[1]! - 1, chunks[0]!.path, 13)).toBeGreaterThan(38);
    expect(await framePsnr(path, STARTS[1]! + 6, chunks[1]!.path, 6)).toBeGreaterThan(38);
    // The cut: chunk 2's last frame, then chunk 3's first.
    expect(await framePsnr(path, STARTS[3]! - 1, chunks[2]!.path, 17)).toBeGreaterThan(38);
    expect(await framePsnr(path, STARTS[3]!, chunks[3]!.path, 0)).toBeGreaterThan(38);
  });

  it("renders seams in several ffmpeg batches with the same result", async () => {
    const batched = await stitch("batched", chunks, JOINS, "seams", 1);
    expect(batched.result).toMatchObject({ frames: TOTAL, copiedFrames: outputs.get("seams")!.result.copiedFrames });
    // Each batch is its own x264 run (rate control differs slightly); the pictures agree.
    const psnr = await videoPsnr(batched.path, outputs.get("single_pass")!.path);
    expect(psnr.frames).toBe(TOTAL);
    expect(psnr.mean).toBeGreaterThan(35);
    expect(psnr.min).toBeGreaterThan(30);
  });

  it("re-encodes a chunk that is not in our encoding instead of splicing it", async () => {
    // Right size, rate and length, but x264 defaults (B-frames, other parameter sets).
    const foreign = join(dir, "foreign.mp4");
    await ffmpeg(["-i", chunks[1]!.path, "-c:v", "libx264", "-preset", "fast", "-crf", "20", foreign]);
    const use = [chunks[0]!, { path: foreign, frames: FRAMES[1]! }, chunks[2]!];
    const joins = JOINS.slice(0, 2);
    const seams = await stitch("foreign-seams", use, joins, "seams");
    const reference = await stitch("foreign-single", use, joins, "single_pass");
    expect(seams.result.frames).toBe(20 + 22 + 18 - 10);
    // Chunk 1 is neither copied nor cut on its own keyframes: c0 [0,14) and c2 [4,18) are.
    expect(seams.result.copiedFrames).toBe(14 + 14);
    const psnr = await videoPsnr(seams.path, reference.path);
    expect(psnr.frames).toBe(50);
    expect(psnr.min).toBeGreaterThan(30);
    expect(await framePsnr(seams.path, STARTS[1]! + 10, chunks[1]!.path, 10)).toBeGreaterThan(35);
  });

  it("all cuts is a pure copy; a single chunk works", async () => {
    const cuts = await stitch("cuts", chunks.slice(0, 3), [{ type: "cut", frames: 0 }, { type: "cut", frames: 0 }], "seams");
    expect(cuts.result.frames).toBe(20 + 22 + 18);
    expect(cuts.result.copiedFrames).toBe(60);
    expect(await framePsnr(cuts.path, 20, chunks[1]!.path, 0)).toBe(100);
    const single = await stitch("single", [chunks[1]!], [], "seams");
    expect(single.result).toMatchObject({ frames: 22, copiedFrames: 22 });
    const probe = await ffprobe(single.path, true);
    expect(probe.streams[0]?.nb_read_frames).toBe("22");
  });

  it("refuses chunks whose frame count or size is not what the request says", async () => {
    await expect(stitch("bad-count", [{ ...chunks[0]!, frames: 21 }, chunks[1]!], [JOINS[0]!], "seams")).rejects.toMatchObject({
      statusCode: 422,
      message: "chunks[0] has 20 frames, the request says 21",
    });
    await expect(stitch("bad-overlap", [chunks[0]!, chunks[1]!], [{ type: "fade", frames: 21 }], "seams")).rejects.toMatchObject({
      statusCode: 422,
      message: expect.stringMatching(/chunks\[0\] has 20 frames, fewer than/),
    });
  });
});

describe("POST /v1/media/videos/stitch", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    // buildServer mounts every capability, this one included.
    app = await buildServer({ secret: TEST_SECRET });
    origin = await startOrigin();
    for (const [i, chunk] of chunks.entries()) origin.serveBytes(`/chunk-${i}.mp4`, await readFile(chunk.path), "video/mp4");
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  const body = (extra: Record<string, unknown> = {}) => ({
    chunks: chunks.slice(0, 3).map((c, i) => ({ url: origin.url(`/chunk-${i}.mp4?sig=x`), frames: c.frames })),
    transitions: JOINS.slice(0, 2),
    width: W,
    height: H,
    fps: FPS,
    output_url: origin.url("/out/stitched.mp4?sig=y"),
    ...extra,
  });

  it("stitches with seams by default and stores the MP4", async () => {
    const response = await postSigned(app, "/v1/media/videos/stitch", body());
    expect(response.statusCode, response.body).toBe(200);
    const result = StitchResponse.parse(response.json());
    expect(result).toMatchObject({ frames: 20 + 22 + 18 - 10, method: "seams" });
    expect(result.duration_s).toBeCloseTo(50 / FPS, 6);
    expect(result.copied_frames).toBeGreaterThan(0);
    const upload = origin.uploads.get("/out/stitched.mp4");
    expect(upload?.body.length).toBe(result.bytes);
    const stored = join(dir, "uploaded.mp4");
    await writeFile(stored, upload!.body);
    expect((await ffprobe(stored, true)).streams[0]?.nb_read_frames).toBe("50");
  });

  it("answers 422 for contract violations", async () => {
    const cutWithOverlap = await postSigned(app, "/v1/media/videos/stitch", body({ transitions: [{ type: "cut", frames: 4 }, JOINS[1]] }));
    expect(cutWithOverlap.statusCode).toBe(422);
    expect(cutWithOverlap.json().error).toMatch(/transitions/);
    const missing = await postSigned(app, "/v1/media/videos/stitch", body({ transitions: [JOINS[0]] }));
    expect(missing.statusCode).toBe(422);
    const wrongSize = await postSigned(app, "/v1/media/videos/stitch", body({ width: 640, height: 360 }));
    expect(wrongSize.statusCode).toBe(422);
    expect(wrongSize.json()).toEqual({ error: "chunks[0] is 320x180, expected 640x360", field: "chunks.0" });
  });
});
