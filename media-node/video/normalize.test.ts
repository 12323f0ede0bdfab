import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LastFrameResponse, NormalizeChunkResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../../test/support/origin.ts";
import { buildServer } from "../server.ts";
import { probeChunk } from "./chunk-probe.ts";
import { extractLastFrame, normalizeChunk } from "./normalize.ts";
import { framePsnr, synthClip } from "../../test/support/synth-media.ts";

let dir: string;
let shortClip: string;
let longPortrait: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-normalize-test-"));
  shortClip = join(dir, "short.mp4");
  longPortrait = join(dir, "portrait.mp4");
  await Promise.all([
    // 0.5 s at 30 fps with audio: shorter than asked, wrong rate, wrong size.
    synthClip(shortClip, { source: "testsrc2", width: 400, height: 300, fps: 30, seconds: 0.5, audio: true }),
    // 3 s portrait: longer than asked, needs cropping to cover a landscape frame.
    synthClip(longPortrait, { source: "testsrc2", width: 180, height: 320, fps: 25, seconds: 3 }),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("normalizeChunk", () => {
  it("pads a short clip to the exact frame count by holding its last frame, drops audio, forces keyframes", async () => {
    const out = join(dir, "short-n.mp4");
    const last = join(dir, "short-last.png");
    const result = await normalizeChunk(shortClip, out, last, { width: 320, height: 180, fps: 24, frames: 30, keyframes: [12, 20] });
    expect(result.frames).toBe(30);
    expect(result.keyframes).toEqual(expect.arrayContaining([0, 12, 20]));

    const probe = await ffprobe(out, true);
    expect(probe.streams).toHaveLength(1);
    const [video] = probe.streams;
    expect(video).toMatchObject({ codec_name: "h264", width: 320, height: 180, pix_fmt: "yuv420p", r_frame_rate: "24/1", nb_read_frames: "30" });
    expect(Number(probe.format.duration)).toBeCloseTo(30 / 24, 3);

    // 0.5 s at 24 fps is 12 real frames; everything after holds the 12th (only coding noise differs).
    expect(await framePsnr(out, 11, out, 29)).toBeGreaterThan(45);
    expect(await framePsnr(out, 10, out, 11)).toBeLessThan(30);
    expect(await framePsnr(out, 2, out, 8)).toBeLessThan(30);

    // The PNG is the chunk's last frame.
    const png = await sharp(await readFile(last)).metadata();
    expect([png.format, png.width, png.height]).toEqual(["png", 320, 180]);
    expect(await framePsnr(last, 0, out, 29, "rgb")).toBeGreaterThan(35);
  });

  it("trims a long clip and crops it to cover the frame", async () => {
    const out = join(dir, "long-n.mp4");
    const result = await normalizeChunk(longPortrait, out, join(dir, "long-last.png"), { width: 320, height: 180, fps: 24, frames: 24 });
    expect(result.frames).toBe(24);
    const probe = await probeChunk(out, "out");
    expect([probe.width, probe.height, probe.frames, probe.fps]).toEqual([320, 180, 24, 24]);
  });

  it("scales to cover and crops the centre (no bars, no stretching)", async () => {
    // 2:1 red card with a 10 px black frame. Covering 16:9 scales it 1.8x to 360x180 and crops
    // 20 px off each side: the side borders go, the top and bottom ones stay (18 px).
    const card = join(dir, "card.mp4");
    await ffmpeg(["-f", "lavfi", "-i", "color=red:s=180x80:r=24,pad=200:100:10:10:black", "-frames:v", "2", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", card]);
    const last = join(dir, "card.png");
    await normalizeChunk(card, join(dir, "card-n.mp4"), last, { width: 320, height: 180, fps: 24, frames: 2 });
    const { data, info } = await sharp(await readFile(last)).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    const isRed = ([r, g, b]: number[]) => r! > 200 && g! < 60 && b! < 60;
    const isBlack = (p: number[]) => p.every((c) => c < 40);
    expect(isRed(pixel(2, 90))).toBe(true);
    expect(isRed(pixel(317, 90))).toBe(true);
    expect(isBlack(pixel(160, 6))).toBe(true);
    expect(isBlack(pixel(160, 173))).toBe(true);
    expect(isRed(pixel(160, 30))).toBe(true);
  });

  it("extractLastFrame publishes exactly the frame the normalized chunk ends on, without encoding it", async () => {
    for (const [clip, frames] of [[shortClip, 30], [longPortrait, 24]] as const) {
      const options = { width: 320, height: 180, fps: 24, frames };
      const fromNormalize = join(dir, `ln-${frames}.png`);
      const early = join(dir, `le-${frames}.png`);
      const chunk = join(dir, `ln-${frames}.mp4`);
      await normalizeChunk(clip, chunk, fromNormalize, options);
      await extractLastFrame(clip, early, options);
      const [a, b] = await Promise.all([fromNormalize, early].map((f) => sharp(f).raw().toBuffer()));
      expect(b!.equals(a!)).toBe(true);
    }
    // Without a last-frame path normalize writes the chunk alone.
    const alone = join(dir, "alone.mp4");
    expect((await normalizeChunk(longPortrait, alone, null, { width: 320, height: 180, fps: 24, frames: 24 })).frames).toBe(24);
  });

  it("turns a 16 fps clip into 24 fps without changing its motion's speed: the object is where it should be, within one frame", async () => {
    // A 16 fps clip (Wan's rate) of a yellow square moving right at 150 px/s: x = 40 + 150 t.
    const source = join(dir, "moving-16fps.mp4");
    await ffmpeg([
      "-f", "lavfi", "-i", "color=c=0x204060:size=1024x576:rate=16:duration=5.0625",
      "-f", "lavfi", "-i", "color=c=0xffd000:size=64x64:rate=16:duration=5.0625",
      "-filter_complex", "[0][1]overlay=x='40+150*t':y=256", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", source,
    ]);
    const out = join(dir, "moving-24fps.mp4");
    const result = await normalizeChunk(source, out, null, { width: 1024, height: 576, fps: 24, frames: 120 });
    expect(result.frames).toBe(120);
    const raw = join(dir, "moving.gray");
    await ffmpeg(["-i", out, "-vf", "format=gray,crop=1024:1:0:288", "-f", "rawvideo", raw]);
    const rows = await readFile(raw);
    expect(rows.length).toBe(120 * 1024);
    const step = 150 / 24; // pixels the square moves in one output frame
    for (let n = 0; n < 120; n++) {
      const row = rows.subarray(n * 1024, (n + 1) * 1024);
      const left = row.findIndex((v) => v > 150);
      // At 24 fps frame n shows time n/24: the square's left edge is at 40 + 150 n / 24.
      expect(Math.abs(left - (40 + 150 * (n / 24))), `frame ${n}: edge at ${left}`).toBeLessThanOrEqual(step);
    }
  });

  it("refuses a file that is not a video", async () => {
    const junk = join(dir, "junk.mp4");
    await writeFile(junk, "this is not a video");
    await expect(normalizeChunk(junk, join(dir, "x.mp4"), join(dir, "x.png"), { width: 320, height: 180, fps: 24, frames: 10 })).rejects.toMatchObject({
      statusCode: 422,
      message: expect.stringMatching(/input_url is not a readable video/),
    });
    await expect(extractLastFrame(junk, join(dir, "y.png"), { width: 320, height: 180, fps: 24, frames: 10 })).rejects.toMatchObject({ statusCode: 422 });
  });
});

describe("POST /v1/media/chunks/normalize", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    // buildServer mounts every capability, this one included.
    app = await buildServer({ secret: TEST_SECRET });
    origin = await startOrigin();
    origin.serveBytes("/raw.mp4", await readFile(shortClip), "video/mp4");
    origin.serveBytes("/notes.txt", Buffer.from("hello"), "text/plain");
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  const request = (input: string, extra: Record<string, unknown> = {}) => ({
    input_url: origin.url(input),
    width: 320,
    height: 180,
    fps: 24,
    frames: 20,
    keyframes: [6],
    output_url: origin.url("/out/chunk.mp4?sig=abc"),
    last_frame_url: origin.url("/out/last.png?sig=abc"),
    ...extra,
  });

  it("stores the chunk and its last frame and answers frames, duration, palette", async () => {
    const response = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4"));
    expect(response.statusCode, response.body).toBe(200);
    const body = NormalizeChunkResponse.parse(response.json());
    expect(body.frames).toBe(20);
    expect(body.duration_s).toBeCloseTo(20 / 24, 6);
    expect(body.keyframes).toEqual(expect.arrayContaining([0, 6]));
    expect(body.palette.length).toBeGreaterThan(0);
    const chunk = origin.uploads.get("/out/chunk.mp4");
    const last = origin.uploads.get("/out/last.png");
    expect(chunk?.contentType).toBe("video/mp4");
    expect(chunk?.body.length).toBe(body.bytes);
    expect(last?.contentType).toBe("image/png");
    expect(last?.body.subarray(1, 4).toString()).toBe("PNG");
  });

  it("without last_frame_url stores only the chunk", async () => {
    origin.uploads.clear();
    const response = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4", { last_frame_url: undefined, output_url: origin.url("/out/only.mp4?sig=abc") }));
    expect(response.statusCode, response.body).toBe(200);
    expect(NormalizeChunkResponse.parse(response.json()).palette).toEqual([]);
    expect([...origin.uploads.keys()]).toEqual(["/out/only.mp4"]);
  });

  it("last-frame stores the PNG the chunk will end on and the clip as it came, and answers the frame's palette", async () => {
    const response = await postSigned(app, "/v1/media/chunks/last-frame", {
      input_url: origin.url("/raw.mp4"),
      width: 320,
      height: 180,
      fps: 24,
      frames: 20,
      last_frame_url: origin.url("/out/early.png?sig=abc"),
      raw_url: origin.url("/out/raw.mp4?sig=abc"),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = LastFrameResponse.parse(response.json());
    expect([body.width, body.height]).toEqual([320, 180]);
    expect(body.palette.length).toBeGreaterThan(0);
    const png = origin.uploads.get("/out/early.png");
    expect(png?.contentType).toBe("image/png");
    expect(await sharp(png!.body).metadata()).toMatchObject({ width: 320, height: 180 });
    // The provider's clip is kept as it came, for the normalize pass to read later.
    expect(origin.uploads.get("/out/raw.mp4")?.body.equals(await readFile(shortClip))).toBe(true);
    const notVideo = await postSigned(app, "/v1/media/chunks/last-frame", { input_url: origin.url("/notes.txt"), width: 320, height: 180, fps: 24, frames: 20, last_frame_url: origin.url("/out/x.png") });
    expect(notVideo.statusCode).toBe(422);
    expect(notVideo.json().error).toMatch(/input_url/);
  });

  it("last-frame stores the frame while the clip's upload is still running, and answers once both are stored", async () => {
    let rawAnswer: (() => void) | null = null;
    const rawArrived = new Promise<void>((arrived) =>
      origin.serve("/out/held-raw.mp4", (request, response) => {
        request.resume();
        request.on("end", () => ((rawAnswer = () => void response.writeHead(200).end()), arrived()));
      }),
    );
    const pngStored = new Promise<void>((stored) =>
      origin.serve("/out/held.png", (request, response) => {
        request.resume();
        request.on("end", () => (response.writeHead(200).end(), stored()));
      }),
    );
    let answered = false;
    const answer = postSigned(app, "/v1/media/chunks/last-frame", {
      input_url: origin.url("/raw.mp4"),
      width: 320,
      height: 180,
      fps: 24,
      frames: 20,
      last_frame_url: origin.url("/out/held.png?sig=abc"),
      raw_url: origin.url("/out/held-raw.mp4?sig=abc"),
    }).then((response) => ((answered = true), response));
    // The clip's upload is held open: the frame is stored all the same…
    await Promise.all([rawArrived, pngStored]);
    // …and the answer waits for the clip (the normalize pass reads it from there).
    expect(answered).toBe(false);
    rawAnswer!();
    expect((await answer).statusCode).toBe(200);
  });

  it("encodes at the preset asked (x264 writes its options into the stream), and refuses a preset that would not splice", async () => {
    /** x264's motion search in the options SEI of the chunk: `dia` at superfast, `hex` at veryfast. */
    const motionSearch = (path: string) => /\bme=(\w+)/.exec(origin.uploads.get(path)!.body.toString("latin1"))?.[1];
    for (const [preset, me] of [["superfast", "dia"], ["veryfast", "hex"], [undefined, "hex"]] as const) {
      const path = `/out/${preset ?? "default"}.mp4`;
      const response = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4", { output_url: origin.url(`${path}?sig=abc`), ...(preset ? { preset } : {}) }));
      expect(response.statusCode, response.body).toBe(200);
      expect(motionSearch(path), preset).toBe(me);
    }
    const ultrafast = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4", { preset: "ultrafast" }));
    expect(ultrafast.statusCode).toBe(422);
    expect(ultrafast.json().error).toMatch(/preset/);
  });

  it("answers 422 naming the problem for bad input", async () => {
    const notVideo = await postSigned(app, "/v1/media/chunks/normalize", request("/notes.txt"));
    expect(notVideo.statusCode).toBe(422);
    expect(notVideo.json()).toEqual({ error: expect.stringMatching(/input_url/), field: "input_url" });
    const badKeyframe = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4", { keyframes: [20] }));
    expect(badKeyframe.statusCode).toBe(422);
    expect(badKeyframe.json()).toEqual({ error: expect.stringMatching(/keyframes/), field: "keyframes" });
    const odd = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4", { width: 321 }));
    expect(odd.statusCode).toBe(422);
    expect(odd.json()).toEqual({ error: expect.stringMatching(/width/), field: "width" });
  });

  it("refuses unsigned requests", async () => {
    const response = await postSigned(app, "/v1/media/chunks/normalize", request("/raw.mp4"), { sign: false });
    expect(response.statusCode).toBe(401);
  });
});
