import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Cue, SpeechSpan } from "../../contracts/media.ts";
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
 * and the final mux stays a stream copy. Few runs, each measuring what it writes: a line's speech
 * is found (trimmed of its quiet) and measured in one run, in audio/speech when the line is
 * stored, which answers where it is (a SpeechSpan), so the mix only cuts it out; the voice placed
 * and measured in one, the mix written and measured in one; only the limiter's corrections
 * measure without writing.
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
  /** Where its speech is, as audio/speech found it in these bytes (absent: found here). */
  speech?: SpeechSpan;
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

/** A line's audio as the voice is mixed from it: mono float at the mix rate. A SpeechSpan counts samples of this. */
const SPEECH_FORMAT = `aresample=${MUSIC_SAMPLE_RATE},aformat=sample_fmts=flt:channel_layouts=mono`;
/** Bytes of one sample of SPEECH_FORMAT written as WAV (pcm_f32le). */
const SPEECH_SAMPLE_BYTES = 4;
const SPEECH_WAV = ["-c:a", "pcm_f32le", "-f", "wav"];

/** Where a WAV file's samples are: its `data` chunk, found from the header (the length of what a run just wrote, without another process to probe it). */
async function wavData(path: string): Promise<{ offset: number; bytes: number }> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (head.toString("latin1", 0, 4) !== "RIFF" || head.toString("latin1", 8, 12) !== "WAVE") throw new Error(`${path} is not a WAV file`);
    for (let at = 12; at + 8 <= bytesRead; ) {
      const size = head.readUInt32LE(at + 4);
      if (head.toString("latin1", at, at + 4) === "data") return { offset: at + 8, bytes: size };
      at += 8 + size + (size % 2);
    }
    throw new Error(`${path} has no data chunk in its first ${bytesRead} bytes`);
  } finally {
    await file.close();
  }
}

/** Whether `length` bytes of file `a` from `aAt` are those of file `b` from `bAt` (read a block at a time: a line may be long). */
async function sameBytes(a: string, aAt: number, b: string, bAt: number, length: number): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const block = 1 << 20;
    const [ba, bb] = [Buffer.alloc(block), Buffer.alloc(block)];
    for (let done = 0; done < length; done += block) {
      const size = Math.min(block, length - done);
      const [ra, rb] = await Promise.all([fa.read(ba, 0, size, aAt + done), fb.read(bb, 0, size, bAt + done)]);
      if (ra.bytesRead !== size || rb.bytesRead !== size || !ba.subarray(0, size).equals(bb.subarray(0, size))) return false;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** The digest a SpeechSpan names the bytes it holds for by. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * Where the line's speech is (leading and trailing quiet cut), in one run: the line in
 * SPEECH_FORMAT is written whole, with its leading quiet cut, and with both cut (measured as
 * written). The three lengths give the span; the cut must be those very samples of the whole,
 * checked here, since the mix cuts the span out of the line instead of trimming it again.
 * `prefix` names the run's files; `field` the input in errors.
 */
export async function findSpeech(inputPath: string, field: string, prefix: string): Promise<SpeechSpan> {
  const trim = `silenceremove=start_periods=1:start_threshold=${SILENCE_DB}dB`;
  const [whole, lead, speech] = ["whole", "lead", "speech"].map((part) => `${prefix}-${part}.wav`) as [string, string, string];
  let level;
  let sha256;
  try {
    [level, sha256] = await Promise.all([
      meteredRun(
        [
          "-i", inputPath,
          "-filter_complex", `[0:a:0]${SPEECH_FORMAT},asplit=2[whole][a];[a]${trim},asplit=2[lead][b];[b]areverse,${trim},areverse,${loudnessMeter(false)}[speech]`,
          "-map", "[whole]", ...SPEECH_WAV, whole,
          "-map", "[lead]", ...SPEECH_WAV, lead,
          "-map", "[speech]", ...SPEECH_WAV, speech,
        ],
        false,
      ),
      fileSha256(inputPath),
    ]);
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`${field} is not readable audio: ${error.stderrTail}`, field);
    throw error;
  }
  const [w, l, s] = await Promise.all([wavData(whole), wavData(lead), wavData(speech)]);
  const samples = s.bytes / SPEECH_SAMPLE_BYTES;
  if (!(samples > 0) || !(level.integratedLufs > -69)) throw new InputError(`${field} has no speech (nothing above ${SILENCE_DB} dBFS long enough to measure)`, field);
  const start = (w.bytes - l.bytes) / SPEECH_SAMPLE_BYTES;
  if (!(await sameBytes(whole, w.offset + start * SPEECH_SAMPLE_BYTES, speech, s.offset, s.bytes))) {
    throw new Error(`${field}: the trimmed speech is not samples ${start}..${start + samples} of the line (ffmpeg's silenceremove changed what it keeps)`);
  }
  return { sha256, start_sample: start, samples };
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

/**
 * Every line's speech cut out of it (where audio/speech found it, or found now), fitted before
 * the next one and placed on its sample: the voice track at VOICE_LUFS (as `gainDb` applied to
 * `path`), in one run that reads the lines as downloaded.
 */
async function placeVoice(inputs: readonly PhraseInput[], samples: number, options: SoundtrackOptions): Promise<{ placed: PlacedPhrase[]; path: string; gainDb: number }> {
  const { frames, fps, workDir } = options;
  const spans = await mapLimited(inputs, 4, async (phrase, i) => {
    if (!phrase.speech) return findSpeech(phrase.path, `voiceover.phrases.${i}.url`, join(workDir, `phrase-${i}`));
    if ((await fileSha256(phrase.path)) !== phrase.speech.sha256) {
      throw new InputError(`voiceover.phrases.${i}.speech was measured on other audio than voiceover.phrases.${i}.url holds (its sha256 differs)`, `voiceover.phrases.${i}.speech`);
    }
    return phrase.speech;
  });

  // Fit each line before the next one (or the end), speeding it up a little if it must.
  const placed = placeLines(inputs.map((phrase, i) => ({ text: phrase.text, atFrame: phrase.atFrame, speechS: spans[i]!.samples / MUSIC_SAMPLE_RATE })), frames, fps);
  if (!Array.isArray(placed)) throw new InputError(`voiceover.phrases.${placed.index}: ${placed.error}`, `voiceover.phrases.${placed.index}`);

  const path = join(workDir, "voice-raw.wav");
  const voiceInputs = inputs.flatMap((phrase) => ["-i", phrase.path]);
  // asetpts: the cut starts at 0 like the trimmed file the voice was once mixed from (the same samples: soundtrack.test).
  const voiceFilters = placed.map(({ tempo, start_s }, i) => {
    const { start_sample: from, samples: length } = spans[i]!;
    return `[${i}:a:0]${SPEECH_FORMAT},atrim=start_sample=${from}:end_sample=${from + length},asetpts=N/SR/TB,${tempo > 1 ? `atempo=${tempo.toFixed(5)},` : ""}adelay=delays=${Math.round(start_s * MUSIC_SAMPLE_RATE)}S:all=1[p${i}]`;
  });
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
  if (!(bedLevel.integratedLufs > -69)) throw new InputError("music_url is silent", "music_url");
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
