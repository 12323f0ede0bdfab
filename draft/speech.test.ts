import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpeg, ffprobe, run } from "../media-node/ffmpeg.ts";
import { draftVoices, speakLine } from "./speech.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-speech-test-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** RMS level (dBFS) of `seconds` of audio at the start (`from: "start"`) or the end of a file. */
async function edgeLevel(path: string, from: "start" | "end", seconds: number): Promise<number> {
  const reverse = from === "end" ? "areverse," : "";
  const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostdin", "-i", path, "-af", `${reverse}atrim=end=${seconds},astats=metadata=0`, "-f", "null", "-"]);
  const rms = /RMS level dB:\s*(-?[\d.]+|-inf)/.exec(stderr.slice(stderr.lastIndexOf("Overall")))?.[1];
  return rms === "-inf" || rms === undefined ? Number.NEGATIVE_INFINITY : Number(rms);
}

describe("draft speech (espeak-ng)", () => {
  it("speaks a line to a mono WAV that starts and ends on speech, and reports its length", async () => {
    const path = join(dir, "line.wav");
    const spoken = await speakLine("Tired of juggling receipts? Meet Ledgerly.", path, { voice: "en-us", wordsPerMinute: 165 });
    const probe = await ffprobe(path);
    expect(probe.streams[0]).toMatchObject({ codec_name: "pcm_s16le", channels: 1, sample_rate: String(spoken.sampleRate) });
    expect(spoken.durationS).toBeCloseTo(Number(probe.streams[0]!.duration), 3);
    // Six words at 165 wpm is about 2.2 s of speech, plus the pause at the question mark.
    expect(spoken.durationS).toBeGreaterThan(1.5);
    expect(spoken.durationS).toBeLessThan(3.5);
    // Trimmed: the first and last 30 ms already carry speech (espeak-ng pads with digital silence).
    expect(await edgeLevel(path, "start", 0.03)).toBeGreaterThan(-45);
    expect(await edgeLevel(path, "end", 0.03)).toBeGreaterThan(-45);
    // The untrimmed temp file is gone.
    expect(await readdir(dir)).toEqual(["line.wav"]);
  });

  it("speaks slower or faster as asked", async () => {
    const text = "Every expense, sorted automatically, in seconds.";
    const slow = await speakLine(text, join(dir, "slow.wav"), { voice: "en-us", wordsPerMinute: 120 });
    const fast = await speakLine(text, join(dir, "fast.wav"), { voice: "en-us", wordsPerMinute: 240 });
    expect(slow.durationS / fast.durationS).toBeGreaterThan(1.6);
  });

  it("offers the installed voices and refuses others, an empty line and a silly speed", async () => {
    const voices = await draftVoices();
    expect(voices.has("en-us")).toBe(true);
    expect(voices.has("en-gb")).toBe(true);
    await expect(speakLine("Hello", join(dir, "x.wav"), { voice: "Wise_Woman", wordsPerMinute: 165 })).rejects.toMatchObject({ statusCode: 422, message: expect.stringMatching(/^voice: Wise_Woman is not an espeak-ng voice/) });
    await expect(speakLine("  \n ", join(dir, "x.wav"))).rejects.toMatchObject({ statusCode: 422, message: "text: nothing to say" });
    await expect(speakLine("Hello", join(dir, "x.wav"), { voice: "en-us", wordsPerMinute: 20 })).rejects.toMatchObject({ statusCode: 422 });
  });

  it("reads text as text: a line that looks like options is spoken, not obeyed", async () => {
    const spoken = await speakLine("-v xx --help -w /etc/passwd", join(dir, "options.wav"));
    expect(spoken.durationS).toBeGreaterThan(0.5);
    await ffmpeg(["-i", join(dir, "options.wav"), "-f", "null", "-"]);
  });
});
