import { open } from "node:fs/promises";
import { join } from "node:path";
import type { Cue } from "../../contracts/media.ts";
import { FfmpegError, ffmpeg } from "../ffmpeg.ts";
import { InputError, fileSize, mapLimited, settleAll } from "../io.ts";
import { type PlacedLine, buildCues, placeLines } from "../../lib/voice-cues.ts";
import { PREPARATION_RUN, loudnessMeter, measureLoudness, meteredRun } from "./loudness.ts";
import { AAC_OUTPUT, MUSIC_SAMPLE_RATE, type MusicOptions, type PreparedMusic, bedChain, exactLength, fitLoudness, limiterChain, measuredOutput, musicLoops } from "./music.ts";

/**
 * The soundtrack with a voiceover: each script line's speech placed where the plan puts it,
 * the music bed under it, ducked while anyone speaks, the mix at the loudness target.
 * It needs only the spec's timing and the audio files, not the video, so it runs while the
 * chunks render (and must be done before they are normalized: their captions are its cues),
 * and the final mux stays a stream copy. Few runs, each measuring what it writes: a line is
 * trimmed and measured in one run, the voice placed and measured in one, the mix written and
 * measured in one; only the limiter's corrections measure without writing.
 *
 * Ducking is a gain envelope computed from the known phrase times rather than a sidechain
 * compressor: we placed every phrase, so the envelope can start lowering the music before the
 * first syllable (a compressor only reacts after the voice arrives, clipping the onset under
 * full music), it holds steady between words instead of pumping with the voice's level, and
 * its depth is exactly `duckDb`.
 *
 * Levels before the final normalization: the voice at VOICE_LUFS, the bed VOICE_OVER_BED_LU
 * below it where nobody speaks and `duckDb` further down under speech; then the whole mix is
 * brought to the target (−14 LUFS, true peak ≤ −1 dBTP by default) like the music bed alone.
 */

export interface PhraseInput {
  /** The line's audio as downloaded. */
  path: string;
  text: string;
  atFrame: number;
}

export interface SoundtrackOptions extends MusicOptions {
  duckDb: number;
  /** Also write the placed voice alone here (.m4a, at its level in the mix). */
  voiceOutputPath?: string;
  workDir: string;
}

export type PlacedPhrase = PlacedLine;

export interface PreparedSoundtrack extends PreparedMusic {
  phrases: PlacedPhrase[];
  cues: Cue[];
  voiceBytes: number | null;
}

const VOICE_LUFS = -16;
const VOICE_OVER_BED_LU = 4;
/** Speech is trimmed to where it is louder than this. */
const SILENCE_DB = -50;
export { MAX_TEMPO } from "../../lib/voice-cues.ts";
/** The bed starts going down this long before speech and is fully down DUCK_DOWN_S later. */
const DUCK_LEAD_S = 0.3;
const DUCK_DOWN_S = 0.25;
/** It stays down this long after speech, then comes back up over DUCK_UP_S. */
const DUCK_HOLD_S = 0.15;
const DUCK_UP_S = 0.4;

/** Bytes of one sample of the trimmed lines and the placed voice (mono float). */
const VOICE_SAMPLE_BYTES = 4;

/**
 * Seconds of audio in a WAV file of mono float samples, from its `data` chunk's size: the length
 * of what a run just wrote, without another process to probe it.
 */
async function wavSeconds(path: string): Promise<number> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (head.toString("latin1", 0, 4) !== "RIFF" || head.toString("latin1", 8, 12) !== "WAVE") throw new Error(`${path} is not a WAV file`);
    for (let at = 12; at + 8 <= bytesRead; ) {
      const size = head.readUInt32LE(at + 4);
      if (head.toString("latin1", at, at + 4) === "data") return size / VOICE_SAMPLE_BYTES / MUSIC_SAMPLE_RATE;
      at += 8 + size + (size % 2);
    }
    throw new Error(`${path} has no data chunk in its first ${bytesRead} bytes`);
  } finally {
    await file.close();
  }
}

/**
 * The line's speech only: leading and trailing quiet cut, mono float at the mix rate, measured
 * while written (its length read from the file, not probed).
 */
export async function trimSpeech(inputPath: string, field: string, outputPath: string): Promise<number> {
  const trim = `silenceremove=start_periods=1:start_threshold=${SILENCE_DB}dB`;
  let level;
  try {
    level = await measureLoudness(
      ["-i", inputPath, "-map", "0:a:0"],
      `aresample=${MUSIC_SAMPLE_RATE},aformat=sample_fmts=flt:channel_layouts=mono,${trim},areverse,${trim},areverse`,
      ["-c:a", "pcm_f32le", "-f", "wav", outputPath],
      { truePeak: false },
    );
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`${field} is not readable audio: ${error.stderrTail}`);
    throw error;
  }
  const seconds = await wavSeconds(outputPath);
  if (!(seconds > 0) || !(level.integratedLufs > -69)) throw new InputError(`${field} has no speech (nothing above ${SILENCE_DB} dBFS long enough to measure)`);
  return seconds;
}

/** The music bed's gain over time: 1 where nobody speaks, −duckDb under speech, smooth ramps between. */
export function duckExpression(spans: readonly { start: number; end: number }[], duckDb: number): string {
  const ramps = spans.map(({ start, end }) => {
    const down = `clip((t-${(start - DUCK_LEAD_S).toFixed(4)})/${DUCK_DOWN_S},0,1)`;
    const up = `clip((${(end + DUCK_HOLD_S + DUCK_UP_S).toFixed(4)}-t)/${DUCK_UP_S},0,1)`;
    return `${down}*${up}`;
  });
  const depth = ramps.reduce((acc, ramp) => (acc ? `max(${acc},${ramp})` : ramp), "");
  return `pow(10,-${duckDb}*(${depth})/20)`;
}

/** Every line trimmed, fitted before the next one and placed on its sample: the voice track at VOICE_LUFS (as `gainDb` applied to `path`). */
async function placeVoice(inputs: readonly PhraseInput[], samples: number, options: SoundtrackOptions): Promise<{ placed: PlacedPhrase[]; path: string; gainDb: number }> {
  const { frames, fps, workDir } = options;
  const trimmed = await mapLimited(inputs, 4, async (phrase, i) => {
    const path = join(workDir, `phrase-${i}.wav`);
    return { path, seconds: await trimSpeech(phrase.path, `voiceover.phrases[${i}].url`, path) };
  });

  // Fit each line before the next one (or the end), speeding it up a little if it must.
  const placed = placeLines(inputs.map((phrase, i) => ({ text: phrase.text, atFrame: phrase.atFrame, speechS: trimmed[i]!.seconds })), frames, fps);
  if (!Array.isArray(placed)) throw new InputError(`voiceover.phrases[${placed.index}]: ${placed.error}`);

  const path = join(workDir, "voice-raw.wav");
  const voiceInputs = trimmed.flatMap((t) => ["-i", t.path]);
  const voiceFilters = placed.map((p, i) => `[${i}:a]${p.tempo > 1 ? `atempo=${p.tempo.toFixed(5)},` : ""}adelay=delays=${Math.round(p.start_s * MUSIC_SAMPLE_RATE)}S:all=1[p${i}]`);
  const voiceMix = placed.length > 1 ? `${placed.map((_, i) => `[p${i}]`).join("")}amix=inputs=${placed.length}:normalize=0:duration=longest` : "[p0]anull";
  const level = await meteredRun(
    [...voiceInputs, "-filter_complex", `${voiceFilters.join(";")};${voiceMix},${exactLength(samples)},${loudnessMeter(false)}[voice]`, "-map", "[voice]", "-c:a", "pcm_f32le", "-f", "wav", path],
    false,
  );
  return { placed, path, gainDb: VOICE_LUFS - level.integratedLufs };
}

export async function prepareSoundtrack(musicPath: string, inputs: readonly PhraseInput[], outputPath: string, options: SoundtrackOptions): Promise<PreparedSoundtrack> {
  const { frames, fps, duckDb, workDir } = options;
  const samples = Math.round((frames / fps) * MUSIC_SAMPLE_RATE);

  // The bed's level does not depend on the voice: measured while the lines are trimmed and
  // placed, a chain of short runs that leaves most of a core idle. settleAll, not Promise.all:
  // the voice's runs write into workDir, which must outlive them even when the bed fails.
  const musicInput = ["-stream_loop", "-1", "-i", musicPath];
  const bed = bedChain(samples, options);
  const [loops, voice, bedLevel] = await settleAll([
    musicLoops(musicPath, options),
    placeVoice(inputs, samples, options),
    measureLoudness([...musicInput, "-map", "0:a:0"], bed, ["-f", "null", "-"], { truePeak: false }),
  ] as const);
  const { placed, path: voiceRaw, gainDb: voiceGain } = voice;

  // The bed, faded and at its level under the voice, then ducked; the mix measured as written.
  if (!(bedLevel.integratedLufs > -69)) throw new InputError("music_url is silent");
  const bedGain = VOICE_LUFS - VOICE_OVER_BED_LU - bedLevel.integratedLufs;
  const duck = duckExpression(placed.map((p) => ({ start: p.start_s, end: p.start_s + p.duration_s })), duckDb);
  const mixRaw = join(workDir, "mix-raw.wav");
  const mixLevel = await meteredRun(
    [
      ...musicInput,
      "-i", voiceRaw,
      "-filter_complex",
      `[0:a]${bed},volume=${bedGain.toFixed(3)}dB,asetnsamples=n=240,volume='${duck}':eval=frame[bed];` +
        `[1:a]volume=${voiceGain.toFixed(3)}dB,aformat=sample_fmts=fltp:channel_layouts=stereo[voice];` +
        `[bed][voice]amix=inputs=2:normalize=0:duration=first,${exactLength(samples)},${loudnessMeter(true)}[mix]`,
      "-map", "[mix]", "-c:a", "pcm_f32le", "-f", "wav", mixRaw,
    ],
    true,
  );

  const stereo = "aformat=sample_fmts=fltp:channel_layouts=stereo";
  const fit = await fitLoudness(["-i", mixRaw], stereo, mixLevel, samples, { loudnessLufs: options.loudnessLufs, truePeakDb: options.truePeakDb, what: "the mix" });
  // The voice alone, through the same gain (and ceiling) as in the mix: stems that add up.
  // Written beside the mix, each an AAC encode (the costliest run here), on its own core.
  const mix = async () => {
    await ffmpeg(["-i", mixRaw, "-af", `${stereo},${fit.filter}`, ...AAC_OUTPUT, outputPath], PREPARATION_RUN);
    return measuredOutput(outputPath, fit.normalization, loops);
  };
  const voiceStem = async (stemPath: string) => {
    await ffmpeg(["-i", voiceRaw, "-af", `volume=${voiceGain.toFixed(3)}dB,${stereo},${limiterChain(fit.gainDb, fit.ceilingDb)},${exactLength(samples)}`, ...AAC_OUTPUT, stemPath], PREPARATION_RUN);
    return fileSize(stemPath);
  };
  const [measured, voiceBytes] = await settleAll([mix(), options.voiceOutputPath ? voiceStem(options.voiceOutputPath) : null] as const);
  return { ...measured, phrases: placed, cues: buildCues(placed), voiceBytes };
}
