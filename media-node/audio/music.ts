import { FfmpegError, ffmpeg, ffprobe } from "../ffmpeg.ts";
import { InputError, concerning, fileSize } from "../io.ts";
import { readMp4Durations } from "../video/mp4-index.ts";
import { type LoudnessMeasurement, PREPARATION_RUN, measureLoudness } from "./loudness.ts";

/**
 * The music bed (SPEC §9.1), prepared while the chunks still render:
 * the generated track (wav/mp3, any length) is looped or cut to exactly the video's length,
 * faded in and out, brought to the loudness target under a true-peak ceiling, and encoded
 * as AAC in an .m4a ready to be stream-copied under the video.
 *
 * Loudness: a first pass measures the bed (EBU R128 integrated loudness and 4x-oversampled true
 * peak). When one gain reaches the target without the peaks crossing the ceiling, that gain is
 * the whole processing (the music's dynamics untouched: what loudnorm's linear mode applies, and
 * no second analysis pass). When it does not (peaky, un-mastered tracks), loudnorm would fall
 * back to its dynamic mode, which misses both targets on short, percussive material; instead we
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

/**
 * The prepared audio's encoding. `-aac_coder fast` instead of ffmpeg's default two-loop search:
 * half the CPU (0.47 against 1.0 s for 30 s of stereo on this machine, ffmpeg 5.1) for an encode
 * the whole ad waits on. At 192 kb/s it costs little: on a demo soundtrack (music, ducking, five
 * spoken lines) the decoded waveform's SNR against the mix was 23.9 dB against 24.9 dB.
 */
export const AAC_OUTPUT = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", MUSIC_BITRATE, "-ar", String(MUSIC_SAMPLE_RATE), "-ac", "2", "-movflags", "+faststart", "-f", "mp4"];

export async function prepareMusic(inputPath: string, outputPath: string, options: MusicOptions): Promise<PreparedMusic> {
  const { frames, fps, loudnessLufs, truePeakDb } = options;
  const seconds = frames / fps;
  const loops = await musicLoops(inputPath, options);
  const samples = Math.round(seconds * MUSIC_SAMPLE_RATE);
  const input = ["-stream_loop", "-1", "-i", inputPath, "-map", "0:a:0", "-vn"];
  const chain = bedChain(samples, options);
  const level = await measureLoudness(input, chain);
  const fit = await concerning("music_url", fitLoudness(input, chain, level, samples, { loudnessLufs, truePeakDb, what: "music_url" }));
  await ffmpeg([...input, "-af", `${chain},${fit.filter}`, ...AAC_OUTPUT, outputPath], PREPARATION_RUN);
  return measuredOutput(outputPath, fit.normalization, loops);
}

/** The prepared file as measured (EBU R128 on the encoded AAC, its real length and size). */
export async function measuredOutput(outputPath: string, normalization: PreparedMusic["normalization"], loops: number): Promise<PreparedMusic> {
  const [loudness, durationS] = await Promise.all([measureLoudness(["-i", outputPath]), playedSeconds(outputPath)]);
  return {
    durationS,
    bytes: await fileSize(outputPath),
    integratedLufs: loudness.integratedLufs,
    truePeakDb: loudness.truePeakDb,
    normalization,
    loops,
  };
}

/**
 * Seconds the prepared file's audio plays: read from the MP4 index ffmpeg just wrote (its edit
 * list, which cuts the AAC priming: what ffprobe reports as the stream's duration) without a
 * process on every soundtrack; probed only when the index is not understood.
 */
async function playedSeconds(outputPath: string): Promise<number> {
  const read = await readMp4Durations(outputPath);
  if (read) return read.audioDurationS;
  const probe = await ffprobe(outputPath, false, PREPARATION_RUN);
  return Number(probe.streams[0]?.duration ?? probe.format.duration);
}

/** Checks the music is readable audio that fits the fades; how many plays fill the ad (1 = cut, no loop). */
export async function musicLoops(inputPath: string, { frames, fps, fadeInS, fadeOutS }: MusicOptions): Promise<number> {
  const seconds = frames / fps;
  if (fadeInS + fadeOutS > seconds) throw new InputError(`fade_in_s + fade_out_s exceed the ${seconds.toFixed(3)} s length`, "fade_out_s");
  let sourceSeconds: number;
  try {
    const probe = await ffprobe(inputPath, false, PREPARATION_RUN);
    const audio = probe.streams.find((s) => s.codec_type === "audio");
    if (!audio) throw new InputError("music_url has no audio stream", "music_url");
    sourceSeconds = Number(audio.duration ?? probe.format.duration ?? Number.NaN);
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`music_url is not readable audio: ${error.stderrTail}`, "music_url");
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

export interface LoudnessFit {
  normalization: PreparedMusic["normalization"];
  /** Gain applied before the limiter (linear: the only processing). */
  gainDb: number;
  /** The limiter ceiling the output is held under. */
  ceilingDb: number;
  /** What to append to the measured chain: it ends at 48 kHz with exactly `samples` samples. */
  filter: string;
}

/**
 * How to bring what `chain` makes of `input` (measured: `level`, true peak included) to the
 * loudness target under the true-peak ceiling: one gain when the peaks allow it, else gain
 * into the oversampled limiter, corrected until within tolerance. Only the limiter's rounds
 * run ffmpeg, and they measure loudness alone without writing anything: the caller writes
 * the file once, with the filter found (an AAC encode costs several times the limiter and
 * the meter together: 0.9 s against 0.2 s for 30 s of stereo on this machine).
 */
export async function fitLoudness(input: string[], chain: string, level: LoudnessMeasurement, samples: number, target: LoudnessTarget): Promise<LoudnessFit> {
  const { loudnessLufs, truePeakDb, what } = target;
  const ceiling = truePeakDb - CODEC_PEAK_HEADROOM_DB;
  if (!(level.integratedLufs > SILENT_LUFS)) throw new InputError(`${what} is silent`);
  const gain = loudnessLufs - level.integratedLufs;
  if (gain > MAX_GAIN_DB) throw new InputError(`${what} is too quiet (${level.integratedLufs} LUFS) to bring to ${loudnessLufs} LUFS`);
  if (level.truePeakDb + gain <= ceiling) return { normalization: "linear", gainDb: gain, ceilingDb: ceiling, filter: `volume=${gain.toFixed(3)}dB,${exactLength(samples)}` };

  const limited = (gainDb: number) => `${limiterChain(gainDb, ceiling)},${exactLength(samples)}`;
  // The limiter takes away more loudness the harder it is driven: after the first correction,
  // a secant through the last two rounds (slope kept within (0, 1]: more gain never makes it
  // quieter, nor louder by more than the gain) lands in one or two rounds where adding the
  // shortfall took three.
  let tried: { gainDb: number; lufs: number } | null = null;
  let limitedGain = gain;
  for (let round = 0; round < LIMITER_ROUNDS; round++) {
    const { integratedLufs } = await measureLoudness(input, `${chain},${limited(limitedGain)}`, ["-f", "null", "-"], { truePeak: false });
    const shortfall = loudnessLufs - integratedLufs;
    if (Math.abs(shortfall) < LIMITER_TOLERANCE_LU) break;
    const slope = tried && limitedGain !== tried.gainDb ? Math.min(1, Math.max(0.1, (integratedLufs - tried.lufs) / (limitedGain - tried.gainDb))) : 1;
    tried = { gainDb: limitedGain, lufs: integratedLufs };
    limitedGain = Math.min(MAX_GAIN_DB, limitedGain + shortfall / slope);
  }
  return { normalization: "limited", gainDb: limitedGain, ceilingDb: ceiling, filter: limited(limitedGain) };
}
