import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssembleResponse, NormalizeChunkResponse, type SeamSpec, SeamsResponse, StitchWindowResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../../test/support/origin.ts";
import { buildServer } from "../server.ts";
import { PieceCache } from "../piece-cache.ts";
import { probeChunk } from "./chunk-probe.ts";
import { type StitchChunk, stitchChunks } from "./stitch.ts";
import { type AssembledWindow, assembleFinal, renderWindow } from "./assembly.ts";
import { type FrameRange, type PlanChunk, assemblyPieces, layoutChunks, planSeams, readySpans } from "../../lib/stitch-plan.ts";
import { framePsnrs } from "../../test/support/synth-media.ts";
import { FPS, FRAMES, H, JOINS, TOTAL, W, normalizedChunks } from "../../test/support/stitch-fixture.ts";

/** Chunks land out of order, as beats finish at different times. */
const ARRIVAL = [2, 4, 0, 3, 1];
/** An overlay over output frames [40, 46): inside chunk 2's own region, so it is a window of its own. */
const OVERLAY: FrameRange = { from: 40, to: 46 };

let dir: string;
let chunks: StitchChunk[];
let music: string;
let overlayPng: string;

let workDirs = 0;
async function work(name: string): Promise<string> {
  const path = join(dir, `work-${name}-${workDirs++}`);
  await mkdir(path);
  return path;
}

/** What the Worker does: after each chunk lands, render every window that just became ready. */
async function progressive(decorated: boolean): Promise<{ windows: AssembledWindow[]; readyAfter: number[][] }> {
  const decorations = decorated ? { overlays: [{ path: overlayPng, ...OVERLAY }], cues: [] } : undefined;
  const known: (PlanChunk | null)[] = FRAMES.map(() => null);
  const windows: AssembledWindow[] = [];
  const readyAfter: number[][] = [];
  for (const landed of ARRIVAL) {
    const probe = await probeChunk(chunks[landed]!.path, "chunk");
    known[landed] = { frames: probe.frames, keyframes: probe.keyframes, copyable: true };
    const fresh = readySpans(known, FRAMES, JOINS, decorated ? [OVERLAY] : []).filter((s) => !windows.some((w) => w.from === s.at));
    readyAfter.push(fresh.map((s) => s.at));
    for (const span of fresh) {
      const path = join(dir, `window-${decorated ? "d" : "p"}-${span.at}.mp4`);
      const input = chunks.map((c, i) => ({ path: known[i] ? c.path : null, frames: c.frames }));
      const result = await renderWindow(input, JOINS, { from: span.at, to: span.to }, path, { width: W, height: H, fps: FPS, workDir: await work(`w-${decorated}-${span.at}`), decorations });
      expect(result.chunks.every((i) => known[i] !== null)).toBe(true);
      expect(result.frames).toBe(span.to - span.at);
      windows.push({ path, from: span.at, to: span.to });
    }
  }
  return { windows, readyAfter };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-assembly-test-"));
  chunks = await normalizedChunks(dir);
  music = join(dir, "music.m4a");
  await ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-c:a", "aac", "-ar", "48000", "-ac", "2", "-f", "mp4", music]);
  overlayPng = join(dir, "overlay.png");
  await ffmpeg(["-f", "lavfi", "-i", `color=white@0.5:s=${W}x${H},format=rgba`, "-frames:v", "1", overlayPng]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("progressive assembly", () => {
  it("times the final file's store apart from its ffmpeg work: the store starts once the concat is written and is counted in full", async () => {
    const { windows } = await progressive(false);
    const output = join(dir, "stored.mp4");
    // The store is held open until the test lets it go, a while after it was called with the file written.
    let called!: () => void;
    const calledNow = new Promise<void>((resolve) => (called = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let framesWhenStored = 0;
    const store = async () => {
      framesWhenStored = (await probeChunk(output, "stored")).frames;
      called();
      await released;
    };
    const assembling = assembleFinal(chunks, JOINS, windows, music, output, { width: W, height: H, fps: FPS, workDir: await work("assemble-stored") }, store);
    await calledNow;
    const heldFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = (performance.now() - heldFrom) / 1000;
    release();
    const result = await assembling;
    expect(framesWhenStored).toBe(TOTAL);
    // By order alone, not by how long anything took: the concat ended before the store was
    // called, and the store ended after it was let go.
    expect(held).toBeGreaterThan(0);
    expect(result.storeSeconds).toBeGreaterThanOrEqual(held);
  });

  it("renders each window once, as soon as its chunks land, and assembles the same video as the one-shot stitch", async () => {
    const { windows, readyAfter } = await progressive(false);
    // Windows: c0|c1 fade at [14, 20), c1|c2 dissolve at [32, 36), c3|c4 wipe at [61, 66); the cut c2|c3 is a
    // plain copy. Chunks 2, 4 and 0 land with no neighbour: nothing is ready until chunk 3, then chunk 1.
    expect(readyAfter).toEqual([[], [], [], [61], [14, 32]]);
    const output = join(dir, "assembled.mp4");
    const result = await assembleFinal(chunks, JOINS, windows, music, output, { width: W, height: H, fps: FPS, workDir: await work("assemble") });
    expect(result.frames).toBe(TOTAL);
    expect(result.windows).toBe(3);
    // Nothing to store: no upload time. The concat is a part of the ffmpeg work.
    expect(result.storeSeconds).toBe(0);
    expect(result.concatSeconds).toBeGreaterThan(0);
    expect(result.concatSeconds).toBeLessThanOrEqual(result.encodeSeconds);
    const probe = await ffprobe(output, true);
    const video = probe.streams.find((s) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", r_frame_rate: "24/1", nb_read_frames: String(TOTAL) });
    expect(probe.streams.find((s) => s.codec_type === "audio")?.codec_name).toBe("aac");
    // The lengths read from the MP4's index are ffprobe's, to the movie timescale's millisecond.
    expect(Math.abs(result.durationS - Number(probe.format.duration))).toBeLessThanOrEqual(0.001);
    expect(Math.abs(result.audioDurationS - Number(probe.streams.find((s) => s.codec_type === "audio")?.duration))).toBeLessThanOrEqual(0.001);
    expect(result.videoDurationS).toBeCloseTo(Number(video?.duration), 6);
    // The music is cut to the picture.
    expect(result.audioDurationS).toBeLessThanOrEqual(TOTAL / FPS + 0.03);
    expect(result.videoDurationS).toBeCloseTo(TOTAL / FPS, 3);

    // Own regions from their seam keyframes: c0 [0,14) c1 [6,18) c2 [4,18) c3 [0,11) c4 [5,30); the windows are the rest.
    expect(result.copiedFrames).toBe(14 + 12 + 14 + 11 + 25);
    // Against the one-shot stitch of the same chunks: every copied frame is the same frame, bit for bit
    // (so timing and transitions are exact); only the windows' own encodes differ, by encoding noise.
    const oneShot = join(dir, "one-shot.mp4");
    await stitchChunks(chunks, JOINS, oneShot, { width: W, height: H, fps: FPS, method: "seams", workDir: await work("one-shot") });
    const psnr = await framePsnrs(output, oneShot);
    expect(psnr).toHaveLength(TOTAL);
    expect(psnr.filter((v) => v < 100).length).toBeLessThanOrEqual(6 + 4 + 5);
    expect(Math.min(...psnr)).toBeGreaterThan(30);

  });

  it("re-encodes the frames under an overlay in their own window", async () => {
    const { windows } = await progressive(true);
    expect(windows.map((w) => [w.from, w.to]).sort((a, b) => a[0]! - b[0]!)).toContainEqual([OVERLAY.from, 50]);
    const output = join(dir, "assembled-decorated.mp4");
    const decorations = { overlays: [{ path: overlayPng, ...OVERLAY }], cues: [] };
    const result = await assembleFinal(chunks, JOINS, windows, music, output, { width: W, height: H, fps: FPS, workDir: await work("assemble-d"), decorations });
    const oneShot = join(dir, "one-shot-decorated.mp4");
    await stitchChunks(chunks, JOINS, oneShot, { width: W, height: H, fps: FPS, method: "seams", workDir: await work("one-shot-d"), decorations });
    expect(result.frames).toBe(TOTAL);
    const psnr = await framePsnrs(output, oneShot);
    // The three transition windows and the overlay's [40, 50) are encoded; everything else is the same frame.
    expect(psnr.filter((v) => v < 100).length).toBeLessThanOrEqual(6 + 4 + 5 + 10);
    expect(Math.min(...psnr)).toBeGreaterThan(30);
  });

  it("renders a window given the chunks it reads, split where each chunk starts (the Worker sends their neighbours too)", async () => {
    // An end card from the cut c2|c3 to the end: c3 (bounded by c2's copy), then from where c4
    // starts, c3|c4's window and c4 (the frames are split where each chunk starts).
    const endCard = { overlays: [{ path: overlayPng, from: 50, to: TOTAL }], cues: [] };
    const options = async () => ({ width: W, height: H, fps: FPS, workDir: await work("end-card"), decorations: endCard });
    const given = (present: number[]) => chunks.map((c, i) => ({ path: present.includes(i) ? c.path : null, frames: c.frames }));
    const c4 = layoutChunks(chunks, JOINS).starts[4]!;
    expect(await renderWindow(given([2, 3, 4]), JOINS, { from: 50, to: c4 }, join(dir, "end-card-c3.mp4"), await options())).toMatchObject({ frames: c4 - 50, chunks: [3] });
    expect(await renderWindow(given([2, 3, 4]), JOINS, { from: c4, to: TOTAL }, join(dir, "end-card-c4.mp4"), await options())).toMatchObject({ frames: TOTAL - c4, chunks: [3, 4] });
    // c3 starts at the cut: its window no longer grows into c2, which it does not need.
    expect(await renderWindow(given([3]), JOINS, { from: 50, to: c4 }, join(dir, "end-card-c3-alone.mp4"), await options())).toMatchObject({ chunks: [3] });
    // Without c3 the c4 part cannot be rendered, and media-node says so.
    await expect(renderWindow(given([4]), JOINS, { from: c4, to: TOTAL }, join(dir, "never-end-card.mp4"), await options())).rejects.toThrow(/are not an encode span/);
  });

  it("refuses a window that is not an encode span, and an assembly with a window missing", async () => {
    const input = chunks.map((c, i) => ({ path: i < 2 ? c.path : null, frames: c.frames }));
    // Chunk 2 has not landed: the dissolve window c1|c2 cannot be rendered yet.
    await expect(renderWindow(input, JOINS, { from: 32, to: 36 }, join(dir, "never.mp4"), { width: W, height: H, fps: FPS, workDir: await work("refused") })).rejects.toThrow(
      /\[32, 36\) are not an encode span .*ready now: \[14, 20\)/,
    );
    const { windows } = await progressive(false);
    await expect(
      assembleFinal(chunks, JOINS, windows.slice(1), music, join(dir, "never-final.mp4"), { width: W, height: H, fps: FPS, workDir: await work("refused-final") }),
    ).rejects.toThrow(/windows: none renders output frames/);
  });
});

/** One window rendered over HTTP from the chunks `origin` serves and stored at `path`: the bytes stored. */
async function windowStored(
  app: FastifyInstance,
  origin: TestOrigin,
  window: { from_frame: number; to_frame: number },
  path: string,
  given: { url: string; etag?: string; frames: number }[] = chunks.map((c, i) => ({ url: origin.url(`/chunk-${i}.mp4?sig=x`), frames: c.frames })),
): Promise<Buffer> {
  const response = await postSigned(app, "/v1/media/videos/stitch/window", {
    transitions: JOINS,
    width: W,
    height: H,
    fps: FPS,
    chunks: given,
    window,
    output_url: origin.url(`${path}?sig=y`),
  });
  expect(response.statusCode, response.body).toBe(200);
  expect(StitchWindowResponse.parse(response.json()).frames).toBe(window.to_frame - window.from_frame);
  return origin.uploads.get(path)!.body;
}

/** Storage serving the normalized chunks and the music, as the Worker's signed URLs do. */
async function originOfInputs(): Promise<TestOrigin> {
  const origin = await startOrigin();
  for (const [i, chunk] of chunks.entries()) origin.serveBytes(`/chunk-${i}.mp4`, await readFile(chunk.path), "video/mp4");
  origin.serveBytes("/music.m4a", await readFile(music), "audio/mp4");
  return origin;
}

describe("POST /v1/media/videos/stitch/window and /v1/media/videos/assemble", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    app = await buildServer({ secret: TEST_SECRET });
    origin = await originOfInputs();
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  const frame = { transitions: JOINS, width: W, height: H, fps: FPS };

  it("renders windows over HTTP and assembles the final MP4 with its music", async () => {
    const windows = [];
    for (const window of [{ from_frame: 14, to_frame: 20 }, { from_frame: 32, to_frame: 36 }, { from_frame: 61, to_frame: 66 }]) {
      const stored = await windowStored(app, origin, window, `/out/window-${window.from_frame}.mp4`);
      origin.serveBytes(`/window-${window.from_frame}.mp4`, stored, "video/mp4");
      windows.push({ url: origin.url(`/window-${window.from_frame}.mp4?sig=z`), ...window });
    }
    const response = await postSigned(app, "/v1/media/videos/assemble", {
      ...frame,
      chunks: chunks.map((c, i) => ({ url: origin.url(`/chunk-${i}.mp4?sig=x`), frames: c.frames })),
      windows,
      audio_url: origin.url("/music.m4a?sig=m"),
      output_url: origin.url("/out/final.mp4?sig=f"),
    });
    expect(response.statusCode, response.body).toBe(200);
    const result = AssembleResponse.parse(response.json());
    expect(result.frames).toBe(TOTAL);
    // The upload is reported apart from the ffmpeg work (not left to the schema's default).
    expect(response.json()).toHaveProperty("store_seconds", expect.any(Number));
    expect(response.json()).toHaveProperty("concat_seconds", expect.any(Number));
    const stored = join(dir, "uploaded-final.mp4");
    await writeFile(stored, origin.uploads.get("/out/final.mp4")!.body);
    expect((await ffprobe(stored, true)).streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);

    // Each seam measured alone on the pieces (chunks' copied frames, the windows) is what the
    // same seam measures on the assembled file, with every seam listed.
    origin.serveBytes("/final.mp4", origin.uploads.get("/out/final.mp4")!.body, "video/mp4");
    const starts = layoutChunks(chunks, JOINS).starts;
    const seams: SeamSpec[] = JOINS.map((join, i) => ({ at_frame: starts[i + 1]!, transition: join, within_beat: false }));
    const measure = { width: W, height: H, fps: FPS, frames: TOTAL, seams };
    const onFile = await postSigned(app, "/v1/media/videos/seams", { ...measure, video_url: origin.url("/final.mp4?sig=s") });
    expect(onFile.statusCode, onFile.body).toBe(200);
    const probes = await Promise.all(chunks.map((c) => probeChunk(c.path, "chunk")));
    const spans = planSeams(probes.map((p) => ({ frames: p.frames, keyframes: p.keyframes, copyable: true })), JOINS);
    const pieces = assemblyPieces(spans).map(({ from_frame, to_frame, file_from_frame, ...source }) => ({
      from_frame,
      to_frame,
      file_from_frame,
      url: "chunk" in source ? origin.url(`/chunk-${source.chunk}.mp4?sig=x`) : origin.url(`/window-${source.window}.mp4?sig=z`),
    }));
    for (const i of seams.keys()) {
      const alone = await postSigned(app, "/v1/media/videos/seams", { ...measure, pieces, measure: [i] });
      expect(alone.statusCode, alone.body).toBe(200);
      expect(SeamsResponse.parse(alone.json()).seams).toEqual([SeamsResponse.parse(onFile.json()).seams[i]]);
    }
    const missing = await postSigned(app, "/v1/media/videos/seams", { ...measure, pieces: pieces.filter((p) => p.from_frame !== 14), measure: [0] });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toEqual({ error: expect.stringMatching(/no piece holds output frame 14/), field: "pieces" });
  });

  it("renders the windows the last chunk left itself, from the chunks they read, and assembles the same file", async () => {
    const windows = [];
    for (const window of [{ from_frame: 14, to_frame: 20 }, { from_frame: 32, to_frame: 36 }]) {
      origin.serveBytes(`/left-window-${window.from_frame}.mp4`, await windowStored(app, origin, window, `/out/left-window-${window.from_frame}.mp4`), "video/mp4");
      windows.push({ url: origin.url(`/left-window-${window.from_frame}.mp4?sig=z`), ...window });
    }
    const response = await postSigned(app, "/v1/media/videos/assemble", {
      ...frame,
      chunks: chunks.map((c, i) => ({ url: origin.url(`/chunk-${i}.mp4?sig=x`), frames: c.frames })),
      windows,
      render_windows: [{ from_frame: 61, to_frame: 66, output_url: origin.url("/out/rendered-61.mp4?sig=r") }],
      audio_url: origin.url("/music.m4a?sig=m"),
      output_url: origin.url("/out/final-rendered.mp4?sig=f"),
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(AssembleResponse.parse(response.json())).toMatchObject({ frames: TOTAL, rendered_frames: 5 });
    const final = join(dir, "uploaded-final-rendered.mp4");
    await writeFile(final, origin.uploads.get("/out/final-rendered.mp4")!.body);
    const window = join(dir, "uploaded-rendered-61.mp4");
    await writeFile(window, origin.uploads.get("/out/rendered-61.mp4")!.body);
    expect((await probeChunk(window, "window")).frames).toBe(5);
    // The same file as the assembly given every chunk and that window rendered from them.
    const given = await Promise.all(windows.map(async (w) => {
      const path = join(dir, `given-${w.from_frame}.mp4`);
      await writeFile(path, origin.uploads.get(`/out/left-window-${w.from_frame}.mp4`)!.body);
      return { path, from: w.from_frame, to: w.to_frame };
    }));
    const last = { path: join(dir, "reference-61.mp4"), from: 61, to: 66 };
    const options = { width: W, height: H, fps: FPS, workDir: await work("route-reference") };
    await renderWindow(chunks, JOINS, last, last.path, options);
    const reference = join(dir, "assembled-with-render.mp4");
    await assembleFinal(chunks, JOINS, [...given, last], music, reference, options);
    expect((await framePsnrs(final, reference)).every((v) => v >= 100)).toBe(true);
  });

  it("normalizes the last chunk and renders the windows it leaves in the same request, as a window job would from that chunk", async () => {
    const outputs = [0, 1, 2, 3].map((n) => origin.url(`/out/own-${n}.mp4?sig=o`));
    /** Chunk `i` normalized again, with `windows` (every chunk given unless said). */
    const normalize = (i: number, windows: Record<string, unknown>, keyframes: number[] = []) =>
      postSigned(app, "/v1/media/chunks/normalize", {
        input_url: origin.url(`/chunk-${i}.mp4?sig=x`),
        width: W,
        height: H,
        fps: FPS,
        frames: chunks[i]!.frames,
        keyframes,
        output_url: origin.url(`/out/own-chunk-${i}.mp4?sig=c`),
        windows: { chunk: i, chunks: chunks.map((c, j) => ({ url: origin.url(`/chunk-${j}.mp4?sig=x`), frames: c.frames })), transitions: JOINS, output_urls: outputs, ...windows },
      });
    const last = chunks.length - 1;
    const { keyframes } = await probeChunk(chunks[last]!.path, "chunk");
    // Only its neighbours are given; its own URL is not read (the pass's output is).
    const neighbours = chunks.map((c, i) => ({ url: Math.abs(i - last) <= 2 ? origin.url(`/chunk-${i}.mp4?sig=x`) : null, frames: c.frames }));
    const response = await normalize(last, { chunks: neighbours }, keyframes.filter((k) => k > 0));
    expect(response.statusCode, response.body).toBe(200);
    const result = NormalizeChunkResponse.parse(response.json());
    expect(result.windows).toEqual([{ from_frame: 61, to_frame: 66, output: 0, frames: 5, decorated_frames: 0 }]);
    expect(origin.uploads.has("/out/own-1.mp4")).toBe(false);
    const own = join(dir, "own-window.mp4");
    await writeFile(own, origin.uploads.get("/out/own-0.mp4")!.body);
    const normalized = join(dir, "own-chunk.mp4");
    await writeFile(normalized, origin.uploads.get(`/out/own-chunk-${last}.mp4`)!.body);
    const reference = join(dir, "own-reference.mp4");
    await renderWindow(chunks.map((c, i) => (i === last ? { path: normalized, frames: c.frames } : c)), JOINS, { from: 61, to: 66 }, reference, { width: W, height: H, fps: FPS, workDir: await work("own-reference") });
    expect((await framePsnrs(own, reference)).every((v) => v >= 100)).toBe(true);

    // Chunk 1, normalized here without its forced keyframes, leaves two windows; given one URL, none is rendered and the pass stands.
    const enough = await normalize(1, {});
    expect(NormalizeChunkResponse.parse(enough.json()).windows!.map((w) => [w.from_frame, w.to_frame, w.output])).toEqual([[14, 32, 0], [32, 36, 1]]);
    const tooFew = await normalize(1, { output_urls: [outputs[0]!] });
    expect(tooFew.statusCode, tooFew.body).toBe(200);
    expect(NormalizeChunkResponse.parse(tooFew.json()).windows).toEqual([]);
    const wrong = await normalize(1, { chunk: 7 });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error).toMatch(/^windows\.chunk: chunk must be an index of chunks/);
  });

  it("answers 422 naming the problem", async () => {
    const response = await postSigned(app, "/v1/media/videos/stitch/window", {
      ...frame,
      chunks: chunks.map((c, i) => ({ url: i === 0 ? origin.url("/chunk-0.mp4?sig=x") : null, frames: c.frames })),
      window: { from_frame: 14, to_frame: 20 },
      output_url: origin.url("/out/w.mp4?sig=y"),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({ error: expect.stringMatching(/window: output frames \[14, 20\)/), field: "window" });
  });
});

describe("POST /v1/media/videos/assemble on a media-node that keeps the pieces it stored (piece-cache.ts)", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;
  let pieces: PieceCache;

  beforeAll(async () => {
    pieces = await PieceCache.open(64 * 1024 * 1024);
    app = await buildServer({ secret: TEST_SECRET, pieces });
    origin = await originOfInputs();
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
    await pieces.close();
  });

  const frame = { transitions: JOINS, width: W, height: H, fps: FPS };
  const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

  it("reads the chunks and windows it stored from its own copies (storage does not serve them here) and assembles the file a download would", async () => {
    // Stored as the normalize route stores them.
    const kept = await Promise.all(
      chunks.map(async (c, i) => {
        await pieces.upload(origin.url(`/kept/chunk-${i}.mp4?sig=put`), c.path, "video/mp4");
        return { url: origin.url(`/kept/chunk-${i}.mp4?sig=get`), etag: md5(origin.uploads.get(`/kept/chunk-${i}.mp4`)!.body), frames: c.frames };
      }),
    );
    const windows: { url: string; etag: string; from_frame: number; to_frame: number }[] = [];
    for (const window of [{ from_frame: 14, to_frame: 20 }, { from_frame: 32, to_frame: 36 }, { from_frame: 61, to_frame: 66 }]) {
      const etag = md5(await windowStored(app, origin, window, `/kept/window-${window.from_frame}.mp4`, kept));
      windows.push({ url: origin.url(`/kept/window-${window.from_frame}.mp4?sig=get`), etag, ...window });
    }
    const assemble = (output: string, given: { url: string; etag?: string; from_frame: number; to_frame: number }[]) =>
      postSigned(app, "/v1/media/videos/assemble", {
        ...frame,
        chunks: kept,
        windows: given,
        audio_url: origin.url("/music.m4a?sig=m"),
        output_url: origin.url(`/out/${output}?sig=f`),
      });
    const assembled = await assemble("final-kept.mp4", windows);
    expect(assembled.statusCode, assembled.body).toBe(200);
    // The five chunks and three windows from its copies; the music, which it did not store, downloaded.
    expect(AssembleResponse.parse(assembled.json())).toMatchObject({ frames: TOTAL, kept_pieces: 8 });
    // The seam measures read the same pieces from the same copies.
    const spans = planSeams((await Promise.all(chunks.map((c) => probeChunk(c.path, "chunk")))).map((p) => ({ frames: p.frames, keyframes: p.keyframes, copyable: true })), JOINS);
    const pieceOf = (source: { chunk: number } | { window: number }) => ("chunk" in source ? kept[source.chunk]! : windows.find((w) => w.from_frame === source.window)!);
    const measuredPieces = assemblyPieces(spans).map(({ from_frame, to_frame, file_from_frame, ...source }) => ({ from_frame, to_frame, file_from_frame, url: pieceOf(source).url, etag: pieceOf(source).etag }));
    const starts = layoutChunks(chunks, JOINS).starts;
    const seams: SeamSpec[] = JOINS.map((join, i) => ({ at_frame: starts[i + 1]!, transition: join, within_beat: false }));
    const measured = await postSigned(app, "/v1/media/videos/seams", { width: W, height: H, fps: FPS, frames: TOTAL, seams, pieces: measuredPieces, measure: [0, 1] });
    expect(measured.statusCode, measured.body).toBe(200);
    expect(SeamsResponse.parse(measured.json()).seams).toHaveLength(2);
    // Storage holding other bytes there now: the copies are not read, and storage's 404 says so.
    const stale = await assemble("final-stale.mp4", windows.map((w) => ({ ...w, etag: md5(Buffer.from("other bytes")) })));
    expect(stale.statusCode).toBe(502);
    expect(stale.json().error).toMatch(/kept\/window-14\.mp4 answered 404/);
    // Downloaded, the same windows make the same file.
    for (const w of windows) origin.serveBytes(`/kept/window-${w.from_frame}.mp4`, origin.uploads.get(`/kept/window-${w.from_frame}.mp4`)!.body, "video/mp4");
    const downloaded = await assemble("final-downloaded.mp4", windows.map(({ etag: _etag, ...w }) => w));
    expect(downloaded.statusCode, downloaded.body).toBe(200);
    expect(AssembleResponse.parse(downloaded.json()).kept_pieces).toBe(5);
    expect(origin.uploads.get("/out/final-kept.mp4")!.body).toEqual(origin.uploads.get("/out/final-downloaded.mp4")!.body);
  });
});
