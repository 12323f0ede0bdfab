import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MuxResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../../test/support/origin.ts";
import { buildServer } from "../server.ts";
import { CHUNK_ENCODING, encoderArgs } from "../video/encoding.ts";
import { prepareMusic } from "./music.ts";
import { muxFinal } from "./mux.ts";

const FPS = 24;
const FRAMES = 100;

let dir: string;
let video: string;
let music: string;
let rawWav: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-mux-test-"));
  video = join(dir, "stitched.mp4");
  music = join(dir, "music.m4a");
  rawWav = join(dir, "music.wav");
  await Promise.all([
    ffmpeg(["-f", "lavfi", "-i", `testsrc2=s=320x180:r=${FPS}`, "-frames:v", String(FRAMES), ...encoderArgs(CHUNK_ENCODING, FPS), video]),
    ffmpeg(["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*(220+40*t)*t)*(0.6+0.4*sin(2*PI*1.5*t)):s=48000:d=1.5", rawWav]),
  ]);
  await prepareMusic(rawWav, music, { frames: FRAMES, fps: FPS, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.25, fadeOutS: 0.5 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("muxFinal", () => {
  it("puts the prepared music under the video by stream copy: h264 + aac, the video's length", async () => {
    const out = join(dir, "final.mp4");
    const result = await muxFinal(video, music, out);
    const probe = await ffprobe(out, true);
    const v = probe.streams.find((s) => s.codec_type === "video");
    const a = probe.streams.find((s) => s.codec_type === "audio");
    expect(v).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", r_frame_rate: "24/1", nb_read_frames: String(FRAMES) });
    expect(a).toMatchObject({ codec_name: "aac", sample_rate: "48000", channels: 2 });
    const seconds = FRAMES / FPS;
    expect(Math.abs(result.durationS - seconds)).toBeLessThan(1 / FPS);
    expect(Math.abs(result.audioDurationS - seconds)).toBeLessThan(1 / FPS);
    expect(result.videoDurationS).toBeCloseTo(seconds, 3);
    // Stream copy: the video bitstream is the stitched one, untouched.
    const original = await ffmpeg(["-i", video, "-map", "0:v", "-c", "copy", "-f", "h264", "-"]);
    const muxed = await ffmpeg(["-i", out, "-map", "0:v", "-c", "copy", "-f", "h264", "-"]);
    expect(muxed.stdout.equals(original.stdout)).toBe(true);
    // +faststart: the index (moov) precedes the media data (mdat).
    const bytes = await readFile(out);
    expect(bytes.indexOf("moov")).toBeLessThan(bytes.indexOf("mdat"));
  });

  it("refuses an audio input without audio", async () => {
    await expect(muxFinal(video, video, join(dir, "x.mp4"))).rejects.toMatchObject({ statusCode: 422, message: "audio_url has no audio stream" });
  });
});

describe("POST /v1/media/audio/mux", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    // buildServer mounts every capability, this one included.
    app = await buildServer({ secret: TEST_SECRET });
    origin = await startOrigin();
    origin.serveBytes("/stitched.mp4", await readFile(video), "video/mp4");
    origin.serveBytes("/music.m4a", await readFile(music), "audio/mp4");
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  it("stores the final MP4", async () => {
    const response = await postSigned(app, "/v1/media/audio/mux", {
      video_url: origin.url("/stitched.mp4"),
      audio_url: origin.url("/music.m4a"),
      output_url: origin.url("/out/final.mp4?sig=q"),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = MuxResponse.parse(response.json());
    expect(Math.abs(body.duration_s - FRAMES / FPS)).toBeLessThan(1 / FPS);
    const upload = origin.uploads.get("/out/final.mp4");
    expect(upload?.contentType).toBe("video/mp4");
    const stored = join(dir, "stored.mp4");
    await writeFile(stored, upload!.body);
    expect((await ffprobe(stored)).streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
  });

  it("answers 422 when an input is missing its stream", async () => {
    const response = await postSigned(app, "/v1/media/audio/mux", {
      video_url: origin.url("/music.m4a"),
      audio_url: origin.url("/music.m4a"),
      output_url: origin.url("/out/y.mp4"),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({ error: "video_url has no video stream", field: "video_url" });
  });
});
