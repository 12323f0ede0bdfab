import { run } from "../ffmpeg.ts";

/**
 * EBU R128 measurements. The loudness filters report at ffmpeg's `info` log level, which the
 * shared `ffmpeg()` helper silences, so these spawn ffmpeg with their own verbosity.
 */

export interface LoudnessMeasurement {
  integratedLufs: number;
  truePeakDb: number;
}

function ffmpegInfo(args: string[], timeoutMs = 5 * 60_000) {
  return run("ffmpeg", ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-y", ...args], { timeoutMs });
}

function decibels(text: string | undefined, what: string): number {
  if (text === undefined) throw new Error(`ffmpeg reported no ${what}`);
  return text === "-inf" ? Number.NEGATIVE_INFINITY : Number(text);
}

/**
 * Integrated loudness and true peak (ebur128, 4x oversampled peak) of the first audio stream
 * of `path`, or of what `filter` makes of it.
 */
export async function measureLoudness(inputArgs: string[], filter?: string, outputArgs: readonly string[] = ["-f", "null", "-"]): Promise<LoudnessMeasurement> {
  // ebur128 passes its audio through untouched (as doubles, which hold every float exactly),
  // so a measuring pass can also write what it measured: the same bytes as without the meter.
  const meter = "ebur128=peak=true:framelog=verbose";
  const { stderr } = await ffmpegInfo([...inputArgs, "-af", filter ? `${filter},${meter}` : meter, ...outputArgs]);
  const summary = stderr.slice(stderr.lastIndexOf("Summary:"));
  return {
    integratedLufs: decibels(/I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary)?.[1], "integrated loudness"),
    truePeakDb: decibels(/Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1], "true peak"),
  };
}

/** loudnorm's JSON report (all values are strings in ffmpeg's output). */
export interface LoudnormReport {
  input_i: string;
  input_tp: string;
  input_lra: string;
  input_thresh: string;
  output_i: string;
  output_tp: string;
  target_offset: string;
  normalization_type: string;
}

/** Run a filter chain ending in `loudnorm=…:print_format=json` and return its report. */
export async function loudnormPass(inputArgs: string[], filter: string, outputArgs: string[]): Promise<LoudnormReport> {
  const { stderr } = await ffmpegInfo([...inputArgs, "-af", filter, ...outputArgs]);
  const json = /\{[^{}]*"input_i"[^{}]*\}/.exec(stderr)?.[0];
  if (!json) throw new Error(`loudnorm printed no report: ${stderr.slice(-400)}`);
  return JSON.parse(json) as LoudnormReport;
}
