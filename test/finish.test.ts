import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebVTTParser } from "webvtt-parser";
import {
  MuxResponse,
  PrepareMusicResponse,
  RenderOverlaysResponse,
  StitchResponse,
  cueFrames,
  decorationKeyframes,
  type Cue,
} from "../contracts/media.ts";
import { signRequest } from "../contracts/signing.ts";
import { type AspectRatio, type VideoSpec, copyWindows } from "../contracts/spec.ts";
import { speakLine } from "../draft/speech.ts";
import { measureLoudness } from "../media-node/audio/loudness.ts";
import { ffmpeg, ffprobe } from "../media-node/ffmpeg.ts";
import { type TestOrigin, startOrigin } from "./support/origin.ts";
import { buildServer } from "../media-node/server.ts";
import { normalizeChunk } from "../media-node/video/normalize.ts";
import { synthClip } from "./support/synth-media.ts";
import { planLocally } from "../worker/planning/local.ts";
import { findTemplate, framePng, lowToneLevels, readWords, speechSpans } from "./support/finish-checks.ts";

/**
 * The ad finish end to end through media-node over HTTP on 127.0.0.1, as the Worker will drive
 * it: the local planner's 15 s plan with its copy; the draft voice (espeak-ng) speaking each
 * line; the overlays rendered, the soundtrack mixed and the captions written off the critical
 * path; chunks normalized with the keyframes the decorations need; the stitch drawing the
 * layers and burning the captions; the final mux. Each acceptance check of issue 15 is then
 * measured on the output: the logo by template matching, the call to action by OCR, the
 * loudness and the ducking on the decoded mix, the captions against the voice track's speech.
 */

const SECRET = "finish-test-secret";
const BRIEF = "Tired of juggling receipts? Ledgerly, the mobile app that tracks every expense for you.";
/** The test music bed: a 45 Hz tone to measure the ducking by (speech has next to nothing that low), and two tones above. */
const BED_TONE_HZ = 45;

let dir: string;
let app: FastifyInstance;
let base: string;
let origin: TestOrigin;
let logo: Buffer;

async function call<T>(path: string, body: unknown, schema: { parse(value: unknown): T }): Promise<T> {
  const json = JSON.stringify(body);
  const response = await fetch(`${base}${path}`, { method: "POST", body: json, headers: { "content-type": "application/json", ...(await signRequest(SECRET, "POST", path, json)) } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${text}`);
  return schema.parse(JSON.parse(text));
}

/** What the origin received at `path`, written to a file. */
async function stored(path: string, name: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, origin.uploads.get(path)!.body);
  return file;
}

interface Ad {
  spec: VideoSpec;
  stitched: StitchResponse;
  video: string;
  overlays: RenderOverlaysResponse;
}

/**
 * One chunk per beat (a beat's rendered frames), normalized with the seam keyframes and the
 * keyframes where decorations end, then stitched with the overlays and any burned cues.
 */
async function renderAd(aspect: AspectRatio, spec: VideoSpec, cues: Cue[] | null): Promise<Ad> {
  const { width, height } = spec;
  const tag = aspect.replace(":", "x");
  const windows = copyWindows(spec);
  const overlays = await call(
    "/v1/media/finish/overlays",
    {
      width,
      height,
      headline: { text: spec.copy.headline, output_url: origin.url(`/out/${tag}/headline.png`) },
      end_card: { brand: spec.copy.brand, logo_url: origin.url("/logo.png"), offer: spec.copy.offer, cta: spec.copy.cta, output_url: origin.url(`/out/${tag}/end-card.png`) },
    },
    RenderOverlaysResponse,
  );
  for (const name of ["headline", "end-card"]) origin.serveBytes(`/${tag}/${name}.png`, origin.uploads.get(`/out/${tag}/${name}.png`)!.body, "image/png");
  const decorations = [windows.headline, windows.end_card, ...(cues ?? []).map((c) => {
    const frames = cueFrames(c, spec.fps);
    return { from_frame: frames.from, to_frame: frames.to };
  })];
  let at = 0;
  await Promise.all(
    spec.beats.map(async (beat, i) => {
      const frames = beat.frames + beat.transition_out.frames;
      const start = at;
      at += beat.frames;
      const overlapIn = i > 0 ? spec.beats[i - 1]!.transition_out.frames : 0;
      const seams = [overlapIn, frames - beat.transition_out.frames].filter((k) => k > 0 && k < frames);
      const keyframes = [...new Set([...seams, ...decorationKeyframes({ video_start_frame: start, frames }, decorations)])].sort((a, b) => a - b);
      const raw = join(dir, `${tag}-raw-${i}.mp4`);
      await synthClip(raw, { source: i % 2 ? "mandelbrot" : "testsrc2", width, height, fps: spec.fps, seconds: frames / spec.fps + 0.1, hue: i });
      const chunk = join(dir, `${tag}-chunk-${i}.mp4`);
      await normalizeChunk(raw, chunk, null, { width, height, fps: spec.fps, frames, keyframes });
      origin.serveBytes(`/${tag}/chunk-${i}.mp4`, await readFile(chunk), "video/mp4");
    }),
  );
  const stitched = await call(
    "/v1/media/videos/stitch",
    {
      chunks: spec.beats.map((beat, i) => ({ url: origin.url(`/${tag}/chunk-${i}.mp4`), frames: beat.frames + beat.transition_out.frames })),
      transitions: spec.beats.slice(0, -1).map((b) => b.transition_out),
      width,
      height,
      fps: spec.fps,
      overlays: [
        { url: origin.url(`/${tag}/headline.png`), ...windows.headline },
        { url: origin.url(`/${tag}/end-card.png`), ...windows.end_card },
      ],
      captions: cues ? { cues } : null,
      output_url: origin.url(`/out/${tag}/stitched.mp4`),
    },
    StitchResponse,
  );
  return { spec, stitched, overlays, video: await stored(`/out/${tag}/stitched.mp4`, `${tag}-stitched.mp4`) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-finish-test-"));
  app = await buildServer({ secret: SECRET });
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  origin = await startOrigin();
  // The brand's logo as a user would upload it: a flat two-colour mark with a word in it.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="160"><rect width="360" height="160" fill="#F4F1E8"/><circle cx="80" cy="80" r="56" fill="#0B6E4F"/><text x="150" y="102" font-family="DejaVu Sans" font-weight="bold" font-size="60" fill="#0B6E4F">LDG</text></svg>`;
  logo = await sharp(Buffer.from(svg)).png().toBuffer();
  origin.serveBytes("/logo.png", logo, "image/png");
  const music = join(dir, "bed.wav");
  await ffmpeg(["-f", "lavfi", "-i", `aevalsrc=0.3*sin(2*PI*${BED_TONE_HZ}*t)+0.2*sin(2*PI*440*t)+0.15*sin(2*PI*1250*t)|0.3*sin(2*PI*${BED_TONE_HZ}*t)+0.2*sin(2*PI*440*t)+0.15*sin(2*PI*1250*t):s=48000:d=6`, "-c:a", "pcm_s16le", music]);
  origin.serveBytes("/bed.wav", await readFile(music), "audio/wav");
});

afterAll(async () => {
  await app?.close();
  await origin?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a 15 s 16:9 ad with the voiceover and burned captions", () => {
  let ad: Ad;
  let final: string;
  let voice: string;
  let vtt: string;
  let soundtrack: PrepareMusicResponse;

  beforeAll(async () => {
    const { spec } = planLocally({ prompt: BRIEF, duration_s: 15, aspect_ratio: "16:9" });
    expect(spec.copy.captions).toBe("burned");
    // The draft voice speaks each line of the script on its own.
    const phrases = await Promise.all(
      spec.copy.voiceover.lines.map(async (line, i) => {
        const path = join(dir, `line-${i}.wav`);
        await speakLine(line.text, path);
        origin.serveBytes(`/line-${i}.wav`, await readFile(path), "audio/wav");
        return { url: origin.url(`/line-${i}.wav`), text: line.text, at_frame: line.start_frame };
      }),
    );
    soundtrack = await call(
      "/v1/media/audio/prepare",
      {
        music_url: origin.url("/bed.wav"),
        frames: spec.total_frames,
        fps: spec.fps,
        voiceover: { phrases, voice_url: origin.url("/out/voice.m4a"), captions_url: origin.url("/out/captions.vtt") },
        output_url: origin.url("/out/soundtrack.m4a"),
      },
      PrepareMusicResponse,
    );
    ad = await renderAd("16:9", spec, soundtrack.voiceover!.cues);
    origin.serveBytes("/stitched.mp4", await readFile(ad.video), "video/mp4");
    origin.serveBytes("/soundtrack.m4a", origin.uploads.get("/out/soundtrack.m4a")!.body, "audio/mp4");
    const muxed = await call("/v1/media/audio/mux", { video_url: origin.url("/stitched.mp4"), audio_url: origin.url("/soundtrack.m4a"), output_url: origin.url("/out/final.mp4") }, MuxResponse);
    expect(muxed.duration_s).toBeCloseTo(15, 1);
    final = await stored("/out/final.mp4", "final.mp4");
    voice = await stored("/out/voice.m4a", "voice.m4a");
    vtt = origin.uploads.get("/out/captions.vtt")!.body.toString("utf8");
  });

  it("is 360 frames, and only the decorated frames and seams were re-encoded", async () => {
    const probe = await ffprobe(final, true);
    expect(probe.streams.find((s) => s.codec_type === "video")).toMatchObject({ nb_read_frames: "360", width: 1024, height: 576 });
    expect(ad.stitched.frames).toBe(360);
    expect(ad.stitched.copied_frames).toBeGreaterThan(0);
    expect(ad.stitched.copied_frames + ad.stitched.decorated_frames).toBeLessThanOrEqual(360);
  });

  it("shows the uploaded logo in its last second (template match, normalized correlation ≥ 0.8)", async () => {
    const { end_card } = copyWindows(ad.spec);
    expect(end_card.from_frame).toBeLessThanOrEqual(360 - 24);
    for (const n of [336, 359]) {
      const match = await findTemplate(await framePng(final, n), logo);
      expect(match.score, `frame ${n}: ${JSON.stringify(match)}`).toBeGreaterThanOrEqual(0.8);
    }
    // The matcher is not fooled into a match where the logo is not: the first frame.
    expect((await findTemplate(await framePng(final, 0), logo)).score).toBeLessThan(0.8);
  });

  it("reads the call to action where the plan puts it (OCR)", async () => {
    const { end_card } = copyWindows(ad.spec);
    const words = await readWords(await framePng(final, Math.round((end_card.from_frame + end_card.to_frame) / 2)), ad.overlays.end_card.cta_box, join(dir, "ocr-16x9.png"));
    for (const word of ad.spec.copy.cta.toLowerCase().split(/\s+/)) expect(words, words.join(" ")).toContain(word);
  });

  it("mixes to −14 ± 1 LUFS with a true peak of at most −1 dBTP", async () => {
    const loudness = await measureLoudness(["-i", final]);
    expect(loudness.integratedLufs).toBeGreaterThanOrEqual(-15);
    expect(loudness.integratedLufs).toBeLessThanOrEqual(-13);
    expect(loudness.truePeakDb).toBeLessThanOrEqual(-1);
    expect(soundtrack.integrated_lufs).toBeCloseTo(loudness.integratedLufs, 0);
  });

  it("keeps the music bed at least 6 dB lower during speech than without speech", async () => {
    const speech = await speechSpans(voice, { noiseDb: -45, joinGapS: 0.45 });
    expect(speech.length).toBe(ad.spec.copy.voiceover.lines.length);
    // Inside speech (a little in from each end) against stretches at least 0.7 s from any
    // speech (beyond the envelope's ramps), away from the fades at the ends.
    const during = speech.filter((s) => s.end - s.start > 0.5).map((s) => ({ start: s.start + 0.15, end: s.end - 0.15 }));
    const quiet: { start: number; end: number }[] = [];
    for (let t = 0.6; t + 0.2 <= 15 - 1.6; t += 0.2) {
      if (speech.every((s) => t + 0.2 <= s.start - 0.7 || t >= s.end + 0.7)) quiet.push({ start: t, end: t + 0.2 });
    }
    expect(during.length).toBeGreaterThan(1);
    expect(quiet.length, "the plan leaves a stretch without speech").toBeGreaterThan(1);
    const [speaking, silent] = await Promise.all([lowToneLevels(final, 70, during), lowToneLevels(final, 70, quiet)]);
    const loudestDuringSpeech = Math.max(...speaking);
    const quietestWithout = Math.min(...silent);
    expect(quietestWithout - loudestDuringSpeech).toBeGreaterThanOrEqual(6);
  });

  it("writes WebVTT that parses, in order, inside the ad, each cue on its phrase's detected onset", async () => {
    const parsed = new WebVTTParser().parse(vtt, "subtitles");
    expect(parsed.errors).toEqual([]);
    expect(parsed.cues.length).toBe(soundtrack.voiceover!.cues.length);
    parsed.cues.forEach((cue, i) => {
      expect(cue.startTime).toBeGreaterThanOrEqual(i > 0 ? parsed.cues[i - 1]!.endTime : 0);
      expect(cue.endTime).toBeGreaterThan(cue.startTime);
      expect(cue.endTime).toBeLessThanOrEqual(15);
    });
    // Short lines: one cue per phrase, so every cue starts a phrase.
    const onsets = (await speechSpans(voice, { noiseDb: -45, joinGapS: 0.45 })).map((s) => s.start);
    expect(onsets.length).toBe(parsed.cues.length);
    parsed.cues.forEach((cue, i) => expect(Math.abs(cue.startTime - onsets[i]!), `cue ${i} at ${cue.startTime}, speech at ${onsets[i]}`).toBeLessThanOrEqual(0.3));
  });
});

describe.each(["9:16", "1:1"] as const)("a 15 s %s ad", (aspect) => {
  it("shows the call to action where the plan puts it (OCR) and the logo at the end", async () => {
    const { spec } = planLocally({ prompt: BRIEF, duration_s: 15, aspect_ratio: aspect, captions: "sidecar" });
    const ad = await renderAd(aspect, spec, null);
    const { end_card } = copyWindows(spec);
    const frame = await framePng(ad.video, Math.round((end_card.from_frame + end_card.to_frame) / 2));
    const words = await readWords(frame, ad.overlays.end_card.cta_box, join(dir, `ocr-${aspect.replace(":", "x")}.png`));
    for (const word of spec.copy.cta.toLowerCase().split(/\s+/)) expect(words, words.join(" ")).toContain(word);
    expect((await findTemplate(await framePng(ad.video, spec.total_frames - 1), logo)).score).toBeGreaterThanOrEqual(0.8);
  });
});
