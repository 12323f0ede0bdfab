import { rm } from "node:fs/promises";
import { FfmpegError, ffmpeg, ffprobe, run } from "../media-node/ffmpeg.ts";
import { InputError } from "../media-node/io.ts";

/**
 * The draft voice: one line of the script spoken offline by Debian's espeak-ng, as a WAV.
 * Each beat's line is rendered on its own and its leading and trailing silence trimmed, so
 * the soundtrack can place it exactly: the speech starts at its first sample, and the
 * returned duration is the speech's own. The draft server offers it as `adreel/draft-speech`;
 * the real mode uses a text-to-speech model on Replicate with the same inputs (text, voice,
 * speed).
 */

export interface SpeechOptions {
  /** An espeak-ng voice (`en-us`, `en-gb`, …): see `draftVoices()`. */
  voice: string;
  /** Speaking rate; espeak-ng's default is 175. */
  wordsPerMinute: number;
}

export interface SpokenLine {
  durationS: number;
  sampleRate: number;
}

export const DEFAULT_SPEECH: SpeechOptions = { voice: "en-us", wordsPerMinute: 165 };
export const WORDS_PER_MINUTE = { min: 80, max: 400 } as const;
/** Quieter than this counts as silence when trimming (espeak-ng's pauses are digital silence). */
const SILENCE_DB = -50;
const MAX_LINE_CHARS = 1000;

let voices: Promise<Set<string>> | undefined;

/**
 * The voices this machine's espeak-ng speaks, by language code. MBROLA voices are left out:
 * Debian ships their data separately and espeak-ng fails without it.
 */
export function draftVoices(): Promise<Set<string>> {
  voices ??= run("espeak-ng", ["--voices"], { timeoutMs: 10_000 }).then(
    ({ stdout }) =>
      new Set(
        stdout
          .toString("utf8")
          .split("\n")
          .slice(1)
          .map((line) => line.trim().split(/\s+/))
          .filter((cols) => cols.length >= 5 && !cols[4]!.startsWith("mb/"))
          .map((cols) => cols[1]!),
      ),
    (error) => {
      voices = undefined;
      throw error instanceof FfmpegError ? new Error(`espeak-ng is not usable (install Debian's espeak-ng): ${error.message}`) : error;
    },
  );
  return voices;
}

/** Speak `text` into a mono WAV at `outputPath`, trimmed to the speech. */
export async function speakLine(text: string, outputPath: string, options: SpeechOptions = DEFAULT_SPEECH): Promise<SpokenLine> {
  const line = text.replace(/\s+/g, " ").trim();
  if (!line) throw new InputError("text: nothing to say");
  if (line.length > MAX_LINE_CHARS) throw new InputError(`text: ${line.length} characters, over the ${MAX_LINE_CHARS} a line may have`);
  if (!(await draftVoices()).has(options.voice)) throw new InputError(`voice: ${options.voice} is not an espeak-ng voice here (try en-us or en-gb)`);
  const wpm = Math.round(options.wordsPerMinute);
  if (!(wpm >= WORDS_PER_MINUTE.min && wpm <= WORDS_PER_MINUTE.max)) throw new InputError(`speed: ${wpm} words a minute is outside ${WORDS_PER_MINUTE.min}–${WORDS_PER_MINUTE.max}`);

  const rawPath = `${outputPath}.raw.wav`;
  // The text goes in on stdin, never as an argument, so nothing in it is read as an option.
  try {
    await run("espeak-ng", ["-v", options.voice, "-s", String(wpm), "-w", rawPath, "--stdin"], { input: Buffer.from(line, "utf8"), timeoutMs: 60_000 });
    const trim = `silenceremove=start_periods=1:start_threshold=${SILENCE_DB}dB`;
    await ffmpeg(["-i", rawPath, "-af", `${trim},areverse,${trim},areverse`, "-c:a", "pcm_s16le", "-ac", "1", "-f", "wav", outputPath], { timeoutMs: 60_000 });
  } finally {
    await rm(rawPath, { force: true });
  }
  const probe = await ffprobe(outputPath);
  const audio = probe.streams.find((s) => s.codec_type === "audio");
  const durationS = Number(audio?.duration ?? probe.format.duration);
  if (!(durationS > 0)) throw new Error(`espeak-ng produced no speech for ${JSON.stringify(line.slice(0, 60))}`);
  return { durationS, sampleRate: Number(audio?.sample_rate ?? 0) };
}
