import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ffprobe, run } from "../media-node/ffmpeg.ts";
import { composeDraftMusic, planMusic } from "./music.ts";

// The draft music model: a real groove at the prompt's tempo, with lows, mids and highs.
// Audio is decoded and measured with ffmpeg, independently of how it was made.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "draft-music-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function renderToFile(prompt: string, seconds: number, seed = 0): Promise<string> {
  const { wav } = await composeDraftMusic(prompt, seconds, seed);
  const path = join(dir, `${prompt.replace(/\W+/g, "-")}-${seconds}-${seed}.wav`);
  await writeFile(path, wav);
  return path;
}

async function monoSamples(path: string, rate: number): Promise<Float32Array> {
  const { stdout } = await run("ffmpeg", ["-v", "error", "-i", path, "-ac", "1", "-ar", String(rate), "-f", "f32le", "-"]);
  return new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
}

/**
 * Tempo by autocorrelation of an onset envelope (rises in short-time energy), searched over
 * 70..180 bpm: that window holds one octave of candidates for the tempos tested here.
 */
function estimateBpm(samples: Float32Array, rate: number): number {
  const hop = 256;
  const energy: number[] = [];
  for (let at = 0; at + hop <= samples.length; at += hop) {
    let sum = 0;
    for (let i = at; i < at + hop; i++) sum += samples[i]! * samples[i]!;
    energy.push(Math.sqrt(sum / hop));
  }
  const onset = energy.map((e, i) => Math.max(0, e - (energy[i - 1] ?? e)));
  const mean = onset.reduce((a, b) => a + b, 0) / onset.length;
  const centred = onset.map((v) => v - mean);
  const at = (position: number) => {
    const whole = Math.floor(position);
    const frac = position - whole;
    return (centred[whole] ?? 0) * (1 - frac) + (centred[whole + 1] ?? 0) * frac;
  };
  let best = 0;
  let bestScore = -Infinity;
  for (let bpm = 70; bpm <= 180; bpm += 0.25) {
    const lag = (60 / bpm) * (rate / hop);
    let score = 0;
    for (let i = 0; i + lag < centred.length; i++) score += centred[i]! * at(i + lag);
    score /= centred.length - lag;
    if (score > bestScore) {
      bestScore = score;
      best = bpm;
    }
  }
  return best;
}

/** RMS level (dBFS) of one frequency band, measured by ffmpeg's astats. */
async function bandLevel(path: string, filter: string): Promise<number> {
  const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostats", "-i", path, "-af", `${filter},astats`, "-f", "null", "-"]);
  const levels = [...stderr.matchAll(/RMS level dB: (-?[\d.]+|-inf)/g)].map((m) => (m[1] === "-inf" ? -Infinity : Number(m[1])));
  return levels.at(-1)!; // the last block is "Overall"
}

describe("planMusic", () => {
  test("tempo comes from the prompt, mode from its mood words", () => {
    expect(planMusic("uplifting corporate track, 128 bpm", 0)).toMatchObject({ bpm: 128, mode: "major" });
    expect(planMusic("moody dramatic piano at 84BPM", 0)).toMatchObject({ bpm: 84, mode: "minor" });
    expect(planMusic("melancholic strings", 0)).toMatchObject({ bpm: 100, mode: "minor" });
    expect(planMusic("energetic", 0)).toMatchObject({ bpm: 100, mode: "major" });
    expect(planMusic("999 bpm", 0).bpm).toBe(200);
    expect(planMusic("12 bpm", 0).bpm).toBe(50);
    const plan = planMusic("anything", 3);
    expect(plan.progression).toHaveLength(4);
    expect(plan.tonic).toBeGreaterThanOrEqual(0);
    expect(plan.tonic).toBeLessThan(12);
  });
});

describe("composeDraftMusic", () => {
  test.each([128, 90])("the beat is at the prompt's tempo (%i bpm, ±3)", async (bpm) => {
    const path = await renderToFile(`energetic pop ${bpm} bpm`, 8);
    const estimate = estimateBpm(await monoSamples(path, 22_050), 22_050);
    expect(Math.abs(estimate - bpm)).toBeLessThanOrEqual(3);
  });

  test("it is music, not a tone: energy in the bass, mid and high bands", async () => {
    const path = await renderToFile("uplifting 110 bpm", 6);
    const bass = await bandLevel(path, "lowpass=f=250");
    const mid = await bandLevel(path, "highpass=f=250,lowpass=f=4000");
    const high = await bandLevel(path, "highpass=f=4000");
    for (const level of [bass, mid, high]) expect(level).toBeGreaterThan(-45);
    expect(Math.max(bass, mid, high) - Math.min(bass, mid, high)).toBeLessThan(30);
  });

  test("44.1 kHz stereo WAV of exactly the requested duration, deterministic per seed", async () => {
    const path = await renderToFile("calm", 2.5);
    const probe = await ffprobe(path);
    expect(probe.streams[0]).toMatchObject({ codec_name: "pcm_s16le", sample_rate: "44100", channels: 2 });
    expect(Number(probe.format.duration)).toBeCloseTo(2.5, 3);
    const again = await composeDraftMusic("calm", 2.5, 0);
    expect(again.wav.equals((await composeDraftMusic("calm", 2.5, 0)).wav)).toBe(true);
    expect(again.wav.equals((await composeDraftMusic("calm", 2.5, 1)).wav)).toBe(false);
    // Major and minor pieces from the same seed differ.
    expect((await composeDraftMusic("happy 100 bpm", 2.5, 0)).wav.equals((await composeDraftMusic("sad 100 bpm", 2.5, 0)).wav)).toBe(false);
  });
});
