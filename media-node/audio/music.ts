import { FfmpegError, ffmpeg, ffprobe } from "../ffmpeg.ts";
import { InputError, fileSize } from "../io.ts";
import { loudnormPass, measureLoudness } from "./loudness.ts";

/**
 * The music bed (SPEC §9.1), prepared off the critical path while chunks still render:
 * the generated track (wav/mp3, any length) is looped or cut to exactly the video's length,
 * faded in and out, brought to the loudness target under a true-peak ceiling, and encoded
 * as AAC in an .m4a ready to be stream-copied under the video.
 *
 * Loudness: a first loudnorm pass measures the bed. When one gain reaches the target without
 * the peaks crossing the ceiling, the second loudnorm pass runs in linear mode (the music's
 * dynamics untouched). When it does not (peaky, un-mastered tracks), loudnorm would fall back
 * to its dynamic mode, which misses both targets on short, percussive material; instead we
 * apply the gain into a 4x-oversampled lookahead limiter (a true-peak limiter in effect) and
 * correct the gain for the loudness the limiter took away, measuring until within 0.25 LU.
 * The returned figures are measured on the encoded file.
 */

export interface MusicOptions {
  frames: number;
  fps: number;
  loudnessLufs: number;
  truePeakDb: number;
  fadeInS: number;
  fadeOutS: number;
}

export interface PreparedMusic {
  durationS: number;
  bytes: number;
  integratedLufs: number;
  truePeakDb: number;
  normalization: "linear" | "limited";
  loops: number;
}

export const MUSIC_SAMPLE_RATE = 48_000;
export const MUSIC_BITRATE = "192k";
/**
 * AAC's quantization (and resampling) overshoot the peaks they were given by a few tenths of
 * a dB; aim this far below the requested ceiling so the *encoded* file meets it.
 */
export const CODEC_PEAK_HEADROOM_DB = 0.5;
/** loudnorm's LRA target at its maximum: linear mode is then refused only for the peaks. */
const LOUDNORM_LRA = 20;
/** Below this the track is silence (R128's absolute gate is −70 LUFS). */
const SILENT_LUFS = -69;
/** More gain than this would be amplifying noise, not music. */
const MAX_GAIN_DB = 40;
const LIMITER_TOLERANCE_LU = 0.25;
const LIMITER_ROUNDS = 5;

/** Loop (the input is read with -stream_loop -1), cut to `samples`, fade. */
export function bedChain(samples: number, { fadeInS, fadeOutS, frames, fps }: MusicOptions): string {
  const filters = [
    `aresample=${MUSIC_SAMPLE_RATE}`,
    "aformat=sample_fmts=fltp:channel_layouts=stereo",
    `atrim=end_sample=${samples}`,
    "asetpts=N/SR/TB",
  ];
  // afade with d=0 would fall back to its default length, so zero means no fade at all.
  if (fadeInS > 0) filters.push(`afade=t=in:st=0:d=${fadeInS}`);
  if (fadeOutS > 0) filters.push(`afade=t=out:st=${(frames / fps - fadeOutS).toFixed(6)}:d=${fadeOutS}`);
  return filters.join(",");
}

/** Back to 48 kHz with exactly `samples` samples, whatever ran before. */
export function exactLength(samples: number): string {
  return `aresample=${MUSIC_SAMPLE_RATE},apad=whole_len=${samples},atrim=end_sample=${samples}`;
}

export function limiterChain(gainDb: number, ceilingDb: number): string {
  const limit = Math.min(1, Math.max(0.0625, 10 ** (ceilingDb / 20)));
  return [
    `volume=${gainDb.toFixed(3)}dB`,
    // 4x oversampling makes the sample-peak limiter hold inter-sample (true) peaks too.
    `aresample=${MUSIC_SAMPLE_RATE * 4}`,
    `alimiter=limit=${limit.toFixed(6)}:attack=5:release=80:level=false:latency=true`,
  ].join(",");
}

export const AAC_OUTPUT = ["-c:a", "aac", "-b:a", MUSIC_BITRATE, "-ar", String(MUSIC_SAMPLE_RATE), "-ac", "2", "-movflags", "+faststart", "-f", "mp4"];

export async function prepareMusic(inputPath: string, outputPath: string, options: MusicOptions): Promise<PreparedMusic> {
  const { frames, fps, loudnessLufs, truePeakDb } = options;
  const seconds = frames / fps;
  const loops = await musicLoops(inputPath, options);
  const samples = Math.round(seconds * MUSIC_SAMPLE_RATE);
  const input = ["-stream_loop", "-1", "-i", inputPath, "-map", "0:a:0", "-vn"];
  const { normalization } = await normalizeLoudness(input, bedChain(samples, options), samples, { loudnessLufs, truePeakDb, what: "music_url" }, outputPath);
  return measuredOutput(outputPath, normalization, loops);
}

/** The prepared file as measured (EBU R128 on the encoded AAC, its real length and size). */
export async function measuredOutput(outputPath: string, normalization: PreparedMusic["normalization"], loops: number): Promise<PreparedMusic> {
  const [loudness, probe] = await Promise.all([measureLoudness(["-i", outputPath]), ffprobe(outputPath)]);
  return {
    durationS: Number(probe.streams[0]?.duration ?? probe.format.duration),
    bytes: await fileSize(outputPath),
    integratedLufs: loudness.integratedLufs,
    truePeakDb: loudness.truePeakDb,
    normalization,
    loops,
  };
}

/** Checks the music is readable audio that fits the fades; how many plays fill the ad (1 = cut, no loop). */
export async function musicLoops(inputPath: string, { frames, fps, fadeInS, fadeOutS }: MusicOptions): Promise<number> {
  const seconds = frames / fps;
  if (fadeInS + fadeOutS > seconds) throw new InputError(`fade_in_s + fade_out_s exceed the ${seconds.toFixed(3)} s length`);
  let sourceSeconds: number;
  try {
    const probe = await ffprobe(inputPath);
    const audio = probe.streams.find((s) => s.codec_type === "audio");
    if (!audio) throw new InputError("music_url has no audio stream");
    sourceSeconds = Number(audio.duration ?? probe.format.duration ?? Number.NaN);
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`music_url is not readable audio: ${error.stderrTail}`);
    throw error;
  }
  return Number.isFinite(sourceSeconds) && sourceSeconds > 0 ? Math.ceil(seconds / sourceSeconds - 1e-6) : 1;
}

export interface LoudnessTarget {
  loudnessLufs: number;
  truePeakDb: number;
  /** Names the input in errors (`music_url`). */
  what: string;
}

export interface Normalized {
  normalization: PreparedMusic["normalization"];
  /** Gain applied before the limiter (linear: the only processing). */
  gainDb: number;
  /** The limiter ceiling the output was held under. */
  ceilingDb: number;
}

/**
 * What `chain` makes of `input`, brought to the loudness target under the true-peak ceiling
 * and written as AAC (.m4a) of exactly `samples` samples: loudnorm's linear mode when one gain
 * will do, else gain into the oversampled limiter, corrected until within tolerance.
 */
export async function normalizeLoudness(input: string[], chain: string, samples: number, target: LoudnessTarget, outputPath: string): Promise<Normalized> {
  const { loudnessLufs, truePeakDb, what } = target;
  const ceiling = truePeakDb - CODEC_PEAK_HEADROOM_DB;
  const loudnorm = `I=${loudnessLufs}:TP=${ceiling}:LRA=${LOUDNORM_LRA}`;
  const measured = await loudnormPass(input, `${chain},loudnorm=${loudnorm}:print_format=json`, ["-f", "null", "-"]);
  const inputI = Number(measured.input_i);
  if (!(inputI > SILENT_LUFS)) throw new InputError(`${what} is silent`);
  const gain = loudnessLufs - inputI;
  if (gain > MAX_GAIN_DB) throw new InputError(`${what} is too quiet (${inputI} LUFS) to bring to ${loudnessLufs} LUFS`);

  if (Number(measured.input_tp) + gain <= ceiling && Number(measured.input_lra) <= LOUDNORM_LRA) {
    const second = await loudnormPass(
      input,
      `${chain},loudnorm=${loudnorm}:measured_I=${measured.input_i}:measured_TP=${measured.input_tp}:measured_LRA=${measured.input_lra}` +
        `:measured_thresh=${measured.input_thresh}:offset=${measured.target_offset}:linear=true:print_format=json,${exactLength(samples)}`,
      [...AAC_OUTPUT, outputPath],
    );
    if (second.normalization_type === "linear") return { normalization: "linear", gainDb: Number(second.output_i) - Number(second.input_i), ceilingDb: ceiling };
  }
  let limitedGain = gain;
  for (let round = 0; round < LIMITER_ROUNDS; round++) {
    // Each round writes the output it measures: the round that lands within tolerance is the
    // file, with no further pass through the oversampled limiter (the costliest filter here).
    const result = await measureLoudness(input, `${chain},${limiterChain(limitedGain, ceiling)},${exactLength(samples)}`, [...AAC_OUTPUT, outputPath]);
    const shortfall = loudnessLufs - result.integratedLufs;
    if (Math.abs(shortfall) < LIMITER_TOLERANCE_LU) return { normalization: "limited", gainDb: limitedGain, ceilingDb: ceiling };
    limitedGain = Math.min(MAX_GAIN_DB, limitedGain + shortfall);
  }
  await ffmpeg([...input, "-af", `${chain},${limiterChain(limitedGain, ceiling)},${exactLength(samples)}`, ...AAC_OUTPUT, outputPath], { timeoutMs: 5 * 60_000 });
  return { normalization: "limited", gainDb: limitedGain, ceilingDb: ceiling };
}
