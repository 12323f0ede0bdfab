import { type RunOptions, run } from "../ffmpeg.ts";

/**
 * EBU R128 measurements. The loudness filters report at ffmpeg's `info` log level, which the
 * shared `ffmpeg()` helper silences, so these spawn ffmpeg with their own verbosity.
 */

export interface LoudnessMeasurement {
  integratedLufs: number;
  /** NaN when the run measured loudness only (`truePeak: false`). */
  truePeakDb: number;
}

/**
 * Every run of a music or soundtrack preparation. The final file waits on it, and so do the
 * captions every chunk's normalize pass draws (their times are the voice's), so it is on the
 * whole ad's critical path: it takes the next process slot ahead of the encodes and runs above
 * them (ffmpeg.ts's critical class). A demo ad's soundtrack took 9–14 s as normal-class runs
 * beside two chunk encodes, after every normalize pass had claimed.
 */
export const PREPARATION_RUN: RunOptions = { critical: true, timeoutMs: 5 * 60_000 };

/**
 * The meter to end a filter chain with. It passes its audio through untouched (as doubles,
 * which hold every float exactly), so a run that writes audio can measure it on the way: the
 * same bytes as without the meter. The true peak (4x oversampled) costs about as much as the
 * rest of the meter: asked for only where it is used.
 */
export function loudnessMeter(truePeak: boolean): string {
  return `ebur128=${truePeak ? "peak=true:" : ""}framelog=verbose`;
}

function decibels(text: string | undefined, what: string): number {
  if (text === undefined) throw new Error(`ffmpeg reported no ${what}`);
  return text === "-inf" ? Number.NEGATIVE_INFINITY : Number(text);
}

/**
 * Run ffmpeg with `args`, whose filters end in one `loudnessMeter()`, and return what the meter
 * measured.
 */
export async function meteredRun(args: readonly string[], truePeak: boolean): Promise<LoudnessMeasurement> {
  const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-y", ...args], PREPARATION_RUN);
  const summary = stderr.slice(stderr.lastIndexOf("Summary:"));
  return {
    integratedLufs: decibels(/I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary)?.[1], "integrated loudness"),
    truePeakDb: truePeak ? decibels(/Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1], "true peak") : Number.NaN,
  };
}

/**
 * Integrated loudness and (unless `truePeak` is false) true peak of the first audio stream of
 * the input, or of what `filter` makes of it; `outputArgs` may write what was measured.
 */
export function measureLoudness(inputArgs: string[], filter?: string, outputArgs: readonly string[] = ["-f", "null", "-"], { truePeak = true } = {}): Promise<LoudnessMeasurement> {
  const meter = loudnessMeter(truePeak);
  return meteredRun([...inputArgs, "-af", filter ? `${filter},${meter}` : meter, ...outputArgs], truePeak);
}
