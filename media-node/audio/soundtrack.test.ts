import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrepareMusicResponse, type SpeechSpan, SpeechTimingResponse } from "../../contracts/media.ts";
import { buildCues, placeLines } from "../../lib/voice-cues.ts";
import { ffmpeg } from "../ffmpeg.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { MAX_TEMPO, prepareSoundtrack } from "./soundtrack.ts";

let dir: string;
let music: string;

/** A "line" of `seconds` of tone between `pad` seconds of silence, like a TTS output with padding. */
async function line(name: string, seconds: number, pad = 0.3): Promise<string> {
  const path = join(dir, `${name}.wav`);
  await ffmpeg(["-f", "lavfi", "-i", `sine=f=300:sample_rate=22050:d=${seconds}`, "-af", `adelay=${pad * 1000}:all=1,apad=pad_dur=${pad}`, "-ac", "1", path]);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-soundtrack-test-"));
  music = join(dir, "music.wav");
  await ffmpeg(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000:d=4", "-ac", "2", music]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OPTIONS = { frames: 144, fps: 24, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.5, fadeOutS: 1, duckDb: 12 };

async function workDir(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  return path;
}

describe("prepareSoundtrack", () => {
  it("places each line's speech (padding trimmed) on its frame and writes a cue for it", async () => {
    const phrases = [
      { path: await line("a", 1.0), text: "First line.", atFrame: 6 },
      { path: await line("b", 1.5), text: "Second line.", atFrame: 60 },
    ];
    const result = await prepareSoundtrack(music, phrases, join(dir, "mix.m4a"), { ...OPTIONS, workDir: await workDir("placed") });
    expect(result.phrases.map((p) => p.start_s)).toEqual([0.25, 2.5]);
    expect(result.phrases[0]!.duration_s).toBeCloseTo(1.0, 2);
    expect(result.phrases[1]!.duration_s).toBeCloseTo(1.5, 2);
    expect(result.cues).toEqual([
      { start_s: 0.25, end_s: 1.25, text: "First line." },
      { start_s: 2.5, end_s: 4, text: "Second line." },
    ]);
    expect(result.durationS).toBeCloseTo(6, 2);
    expect(result.integratedLufs).toBeGreaterThan(-15);
    expect(result.truePeakDb).toBeLessThanOrEqual(-1);
  });

  it("speeds up a line a little to end before the next, and refuses one that would need more", async () => {
    // 2.2 s of speech with 2.05 s of room before the next line (at 2.5 s, less a 0.2 s gap).
    const tight = [
      { path: await line("long", 2.2), text: "A long line.", atFrame: 6 },
      { path: await line("next", 0.5), text: "Next.", atFrame: 60 },
    ];
    const fitted = await prepareSoundtrack(music, tight, join(dir, "tight.m4a"), { ...OPTIONS, workDir: await workDir("tight") });
    expect(fitted.phrases[0]!.tempo).toBeCloseTo(2.2 / 2.05, 2);
    expect(fitted.phrases[0]!.start_s + fitted.phrases[0]!.duration_s).toBeCloseTo(2.3, 2);
    const tooLong = [{ ...tight[0]!, path: await line("longer", 3.0) }, tight[1]!];
    await expect(prepareSoundtrack(music, tooLong, join(dir, "x.m4a"), { ...OPTIONS, workDir: await workDir("too-long") })).rejects.toMatchObject({
      statusCode: 422,
      field: "voiceover.phrases.0",
      message: `voiceover.phrases.0: 3.00 s of speech does not fit the 2.05 s before the next line, even at ${MAX_TEMPO}x`,
    });
  });
});

describe("POST /v1/media/audio/prepare with a voiceover", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/music.wav", await readFile(music), "audio/wav");
    origin.serveBytes("/line.wav", await readFile(await line("route", 1.0)), "audio/wav");
    const silence = join(dir, "silence.wav");
    await ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "1", silence]);
    origin.serveBytes("/silence.wav", await readFile(silence), "audio/wav");
  });
  const body = (voiceover: Record<string, unknown>) => ({
    music_url: node.origin.url("/music.wav"),
    frames: 144,
    fps: 24,
    voiceover: { phrases: [{ url: node.origin.url("/line.wav"), text: "Hello there & welcome.", at_frame: 12 }], ...voiceover },
    output_url: node.origin.url("/out/mix.m4a"),
  });

  it("stores the mix, the voice alone and the WebVTT captions", async () => {
    const response = await postSigned(node.app, "/v1/media/audio/prepare", body({ voice_url: node.origin.url("/out/voice.m4a"), captions_url: node.origin.url("/out/captions.vtt") }));
    expect(response.statusCode, response.body).toBe(200);
    const result = PrepareMusicResponse.parse(response.json());
    expect(result.voiceover).toMatchObject({ duck_db: 12, cues: [{ start_s: 0.5, text: "Hello there & welcome." }] });
    expect(result.voiceover!.voice_bytes).toBe(node.origin.uploads.get("/out/voice.m4a")!.body.length);
    const vtt = node.origin.uploads.get("/out/captions.vtt")!;
    expect(vtt.contentType).toBe("text/vtt; charset=utf-8");
    expect(vtt.body.toString("utf8")).toBe("WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.500\nHello there &amp; welcome.\n");
  });

  it("answers 422 for lines out of order, beyond the end, or without speech", async () => {
    const line = (at_frame: number) => ({ url: node.origin.url("/line.wav"), text: "Hi.", at_frame });
    const disorder = await postSigned(node.app, "/v1/media/audio/prepare", body({ phrases: [line(50), line(20)] }));
    expect(disorder.statusCode).toBe(422);
    expect(disorder.json().error).toBe("voiceover.phrases.1.at_frame: phrases must be in time order");
    const late = await postSigned(node.app, "/v1/media/audio/prepare", body({ phrases: [line(144)] }));
    expect(late.json().error).toBe("voiceover.phrases.0.at_frame: must be within the 144 frames");
    const silent = await postSigned(node.app, "/v1/media/audio/prepare", body({ phrases: [{ ...line(10), url: node.origin.url("/silence.wav") }] }));
    expect(silent.statusCode).toBe(422);
    expect(silent.json()).toMatchObject({ field: "voiceover.phrases.0.url", error: expect.stringMatching(/^voiceover\.phrases\.0\.url has no speech/) });
  });
});

describe("POST /v1/media/audio/speech", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/music.wav", await readFile(music), "audio/wav");
    origin.serveBytes("/a.wav", await readFile(await line("speech-a", 1.2, 0.4)), "audio/wav");
    origin.serveBytes("/b.wav", await readFile(await line("speech-b", 0.7, 0.2)), "audio/wav");
    const silence = join(dir, "speech-silence.wav");
    await ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "1", silence]);
    origin.serveBytes("/silence.wav", await readFile(silence), "audio/wav");
    origin.serveBytes("/text.wav", Buffer.from("not audio at all"), "audio/wav");
  });

  it("measures each line's speech as the mix trims it: the lines placed by it time the mix's own cues", async () => {
    const lines = [
      { path: "/a.wav", text: "Meet Aurora, the bottle that glows.", at_frame: 12 },
      { path: "/b.wav", text: "Drink up.", at_frame: 90 },
    ];
    const measured: number[] = [];
    for (const l of lines) {
      const response = await postSigned(node.app, "/v1/media/audio/speech", { url: node.origin.url(l.path) });
      expect(response.statusCode, response.body).toBe(200);
      measured.push(SpeechTimingResponse.parse(response.json()).speech_s);
    }
    expect(measured[0]).toBeCloseTo(1.2, 2);
    expect(measured[1]).toBeCloseTo(0.7, 2);
    const mix = await postSigned(node.app, "/v1/media/audio/prepare", {
      music_url: node.origin.url("/music.wav"),
      frames: 144,
      fps: 24,
      voiceover: { phrases: lines.map((l) => ({ url: node.origin.url(l.path), text: l.text, at_frame: l.at_frame })) },
      output_url: node.origin.url("/out/speech-mix.m4a"),
    });
    expect(mix.statusCode, mix.body).toBe(200);
    const placed = placeLines(lines.map((l, i) => ({ text: l.text, atFrame: l.at_frame, speechS: measured[i]! })), 144, 24);
    if (!Array.isArray(placed)) throw new Error(placed.error);
    expect(buildCues(placed)).toEqual(PrepareMusicResponse.parse(mix.json()).voiceover!.cues);
  });

  it("answers where the speech is: the very samples the silence trim keeps, at 48 kHz mono float", async () => {
    for (const name of ["speech-a", "speech-b"]) {
      const path = join(dir, `${name}.wav`);
      const response = await postSigned(node.app, "/v1/media/audio/speech", { url: node.origin.url(`/${name === "speech-a" ? "a" : "b"}.wav`) });
      const { speech_s, span } = SpeechTimingResponse.parse(response.json());
      expect(span.sha256).toBe(createHash("sha256").update(await readFile(path)).digest("hex"));
      expect(speech_s).toBe(span.samples / 48_000);
      // The line trimmed as the mix trimmed it before it was handed the span, and the span cut out of it.
      const format = "aresample=48000,aformat=sample_fmts=flt:channel_layouts=mono";
      const trim = "silenceremove=start_periods=1:start_threshold=-50dB";
      const trimmed = join(dir, `${name}-trimmed.wav`);
      const cut = join(dir, `${name}-cut.wav`);
      await ffmpeg(["-i", path, "-af", `${format},${trim},areverse,${trim},areverse`, "-c:a", "pcm_f32le", trimmed]);
      await ffmpeg(["-i", path, "-af", `${format},atrim=start_sample=${span.start_sample}:end_sample=${span.start_sample + span.samples},asetpts=N/SR/TB`, "-c:a", "pcm_f32le", cut]);
      expect(span.start_sample).toBeGreaterThan(0);
      expect((await readFile(cut)).equals(await readFile(trimmed))).toBe(true);
    }
  });

  it("mixes lines handed their spans exactly as lines it trims itself, and refuses a span measured on other audio", async () => {
    const lines = [
      { path: "/a.wav", text: "Meet Aurora, the bottle that glows.", at_frame: 12 },
      { path: "/b.wav", text: "Drink up.", at_frame: 90 },
    ];
    const spans: SpeechSpan[] = [];
    for (const l of lines) spans.push(SpeechTimingResponse.parse((await postSigned(node.app, "/v1/media/audio/speech", { url: node.origin.url(l.path) })).json()).span);
    const mix = (name: string, speech: (i: number) => object) =>
      postSigned(node.app, "/v1/media/audio/prepare", {
        music_url: node.origin.url("/music.wav"),
        frames: 144,
        fps: 24,
        voiceover: { phrases: lines.map((l, i) => ({ url: node.origin.url(l.path), text: l.text, at_frame: l.at_frame, ...speech(i) })), voice_url: node.origin.url(`/out/${name}-voice.m4a`) },
        output_url: node.origin.url(`/out/${name}.m4a`),
      });
    const trimmedHere = await mix("trimmed-here", () => ({}));
    const handed = await mix("handed", (i) => ({ speech: spans[i] }));
    expect(handed.statusCode, handed.body).toBe(200);
    expect(handed.json()).toEqual(trimmedHere.json());
    expect(node.origin.uploads.get("/out/handed.m4a")!.body.equals(node.origin.uploads.get("/out/trimmed-here.m4a")!.body)).toBe(true);
    expect(node.origin.uploads.get("/out/handed-voice.m4a")!.body.equals(node.origin.uploads.get("/out/trimmed-here-voice.m4a")!.body)).toBe(true);

    const swapped = await mix("swapped", (i) => ({ speech: spans[1 - i] }));
    expect(swapped.statusCode).toBe(422);
    expect(swapped.json()).toEqual({ field: "voiceover.phrases.0.speech", error: "voiceover.phrases.0.speech was measured on other audio than voiceover.phrases.0.url holds (its sha256 differs)" });
    const malformed = await mix("malformed", (i) => ({ speech: { ...spans[i]!, samples: 0 } }));
    expect(malformed.statusCode).toBe(422);
    expect(malformed.json().error).toBe("voiceover.phrases.0.speech.samples: Too small: expected number to be >=1");
  });

  it("answers 422 naming the url for a line without speech or not audio", async () => {
    const silent = await postSigned(node.app, "/v1/media/audio/speech", { url: node.origin.url("/silence.wav") });
    expect(silent.statusCode).toBe(422);
    expect(silent.json().error).toMatch(/^url has no speech/);
    const text = await postSigned(node.app, "/v1/media/audio/speech", { url: node.origin.url("/text.wav") });
    expect(text.statusCode).toBe(422);
    expect(text.json().error).toMatch(/^url is not readable audio/);
    const missing = await postSigned(node.app, "/v1/media/audio/speech", {});
    expect(missing.statusCode).toBe(422);
  });
});
