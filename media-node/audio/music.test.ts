import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrepareMusicResponse } from "../../contracts/media.ts";
import { ffmpeg, ffprobe } from "../ffmpeg.ts";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../../test/support/origin.ts";
import { buildServer } from "../server.ts";
import { measureLoudness } from "./loudness.ts";
import { type MusicOptions, prepareMusic } from "./music.ts";

const FPS = 24;
const ONE_FRAME = 1 / FPS;
const defaults: MusicOptions = { frames: 120, fps: FPS, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.5, fadeOutS: 1 };

let dir: string;
/** 2 s, quiet, mono 44.1 kHz: a gliding tone under a pulsing envelope plus a fifth. No 2 s repeats inside. */
let tune: string;
/** 6 s mp3 of the same kind, longer than needed. */
let longMp3: string;
/** Clicks over a faint drone: peaks ~20 dB above the loudness, so one gain cannot meet both targets. */
let clicks: string;

async function synth(path: string, expression: string, seconds: number, rate = 44100) {
  await ffmpeg(["-f", "lavfi", "-i", `aevalsrc=${expression}:s=${rate}:d=${seconds}`, path]);
}

/** Mono float samples of a file at 48 kHz. */
async function samplesOf(path: string): Promise<Float32Array> {
  const { stdout } = await ffmpeg(["-i", path, "-ac", "1", "-ar", "48000", "-f", "f32le", "-"]);
  return new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
}

function window(samples: Float32Array, fromS: number, seconds: number): Float32Array {
  return samples.subarray(Math.round(fromS * 48000), Math.round((fromS + seconds) * 48000));
}

function rms(samples: Float32Array): number {
  return Math.sqrt(samples.reduce((s, v) => s + v * v, 0) / samples.length);
}

function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-music-test-"));
  tune = join(dir, "tune.wav");
  longMp3 = join(dir, "long.mp3");
  clicks = join(dir, "clicks.wav");
  const melody = "0.08*sin(2*PI*(220+40*t)*t)*(0.6+0.4*sin(2*PI*1.5*t))+0.03*sin(2*PI*330*t)";
  await Promise.all([
    synth(tune, melody, 2),
    synth(longMp3, melody, 6),
    synth(clicks, "0.02*sin(2*PI*110*t)+0.95*sin(2*PI*1200*t)*exp(-80*mod(t\\,0.5))", 2.3, 48000),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("prepareMusic", () => {
  it("loops a short track to the exact length at −14 LUFS under −1 dBTP, as 48 kHz stereo AAC", async () => {
    const out = join(dir, "tune.m4a");
    const music = await prepareMusic(tune, out, defaults);
    expect(music.normalization).toBe("linear");
    expect(music.loops).toBe(3);
    expect(Math.abs(music.durationS - 5)).toBeLessThan(ONE_FRAME);
    expect(Math.abs(music.integratedLufs + 14)).toBeLessThanOrEqual(1);
    expect(music.truePeakDb).toBeLessThanOrEqual(-1 + 0.2);
    // The figures are the file's own, not loudnorm's estimate.
    const measured = await measureLoudness(["-i", out]);
    expect(measured.integratedLufs).toBe(music.integratedLufs);

    const probe = await ffprobe(out);
    expect(probe.streams).toHaveLength(1);
    expect(probe.streams[0]).toMatchObject({ codec_name: "aac", sample_rate: "48000", channels: 2 });
    // The length read from its MP4 index is the one ffprobe reports.
    expect(music.durationS).toBe(Number(probe.streams[0]!.duration));

    const samples = await samplesOf(out);
    expect(Math.abs(samples.length / 48000 - 5)).toBeLessThan(ONE_FRAME);
    // Looped: 2 s later the same music plays again; 0.7 s later it does not.
    expect(correlation(window(samples, 0.6, 0.1), window(samples, 2.6, 0.1))).toBeGreaterThan(0.95);
    expect(correlation(window(samples, 0.6, 0.1), window(samples, 1.3, 0.1))).toBeLessThan(0.5);
    // Faded: silent at both ends, full in the middle.
    const body = rms(window(samples, 2, 0.5));
    expect(rms(window(samples, 0, 0.02))).toBeLessThan(body / 10);
    expect(rms(window(samples, 4.98, 0.02))).toBeLessThan(body / 10);
  });

  it("cuts a long mp3 without looping", async () => {
    // 73 frames: 3.041666 s, not a whole millisecond.
    const music = await prepareMusic(longMp3, join(dir, "long.m4a"), { ...defaults, frames: 73, fadeInS: 0, fadeOutS: 0.5 });
    expect(music.loops).toBe(1);
    expect(Math.abs(music.durationS - 73 / FPS)).toBeLessThan(ONE_FRAME);
    expect(music.durationS).toBe(Number((await ffprobe(join(dir, "long.m4a"))).streams[0]!.duration));
    expect(Math.abs(music.integratedLufs + 14)).toBeLessThanOrEqual(1);
  });

  it("limits peaky music instead of missing the targets", async () => {
    const music = await prepareMusic(clicks, join(dir, "clicks.m4a"), defaults);
    expect(music.normalization).toBe("limited");
    expect(Math.abs(music.integratedLufs + 14)).toBeLessThanOrEqual(1);
    expect(music.truePeakDb).toBeLessThanOrEqual(-1 + 0.2);
    expect(Math.abs(music.durationS - 5)).toBeLessThan(ONE_FRAME);
  });

  it("refuses silence and files without audio", async () => {
    const silence = join(dir, "silence.wav");
    await synth(silence, "0", 1);
    await expect(prepareMusic(silence, join(dir, "s.m4a"), defaults)).rejects.toMatchObject({ statusCode: 422, message: "music_url is silent" });
    const text = join(dir, "text.wav");
    await writeFile(text, "not audio");
    await expect(prepareMusic(text, join(dir, "t.m4a"), defaults)).rejects.toMatchObject({ statusCode: 422, message: expect.stringMatching(/music_url/) });
  });
});

describe("POST /v1/media/audio/prepare", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    // buildServer mounts every capability, this one included.
    app = await buildServer({ secret: TEST_SECRET });
    origin = await startOrigin();
    origin.serveBytes("/music.wav", await readFile(tune), "audio/wav");
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  it("stores the prepared .m4a and reports its loudness", async () => {
    const response = await postSigned(app, "/v1/media/audio/prepare", { music_url: origin.url("/music.wav"), frames: 96, fps: 24, output_url: origin.url("/out/music.m4a?sig=z") });
    expect(response.statusCode, response.body).toBe(200);
    const body = PrepareMusicResponse.parse(response.json());
    expect(Math.abs(body.duration_s - 4)).toBeLessThan(ONE_FRAME);
    expect(Math.abs(body.integrated_lufs + 14)).toBeLessThanOrEqual(1);
    const upload = origin.uploads.get("/out/music.m4a");
    expect(upload?.contentType).toBe("audio/mp4");
    expect(upload?.body.length).toBe(body.bytes);
  });

  it("answers 422 when the fades do not fit", async () => {
    const response = await postSigned(app, "/v1/media/audio/prepare", {
      music_url: origin.url("/music.wav"),
      frames: 24,
      fps: 24,
      fade_in_s: 0.5,
      fade_out_s: 1,
      output_url: origin.url("/out/x.m4a"),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatch(/fade_out_s/);
  });
});
