import { writeFile } from "node:fs/promises";
import { FfmpegError, ffmpeg, ffprobe } from "../ffmpeg.ts";
import { InputError, fileSize } from "../io.ts";
import { probeOutput } from "./chunk-probe.ts";
import type { ChunkPreset } from "../../contracts/media.ts";
import { chunkEncoding, encoderArgs } from "./encoding.ts";
import { type Decorations, decorationGraph } from "./decoration.ts";

/**
 * A provider's raw clip (any size, frame rate, length; maybe with audio) → a chunk the
 * stitcher can copy: exactly `frames` frames at `fps`, scaled and centre-cropped to cover
 * width×height, yuv420p BT.709, no audio, CHUNK_ENCODING (at the preset asked) with keyframes where asked.
 * Short clips are padded by holding their last frame; long ones are trimmed.
 * The last frame is written as PNG in the same pass when asked (SPEC §7.4: it conditions the
 * next chunk); the worker asks for it earlier, from `extractLastFrame`.
 */

export interface NormalizeOptions {
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** Frame indexes that must be keyframes (frame 0 always is). */
  keyframes?: readonly number[];
  timeoutMs?: number;
  /** The x264 pass at background CPU priority (the default): nothing waits on it but the chunk phase's end, while other chunks still generate. */
  background?: boolean;
  /** The pass the chunk phase's end waits on: critical work (ffmpeg.ts), ahead of windows and seam measures. */
  critical?: boolean;
  /** The video it is of (ffmpeg.ts `promoteBackground`). */
  group?: string;
  /** x264's preset (encoding.ts `chunkEncoding`); CHUNK_ENCODING's when absent. */
  preset?: ChunkPreset;
}

/** The ad's decorations (output frames) to draw on the chunk, whose frame 0 lands at output frame `at`. */
export interface ChunkDecorations {
  decorations: Decorations;
  at: number;
  /** Where the captions' ASS script is written. */
  assPath: string;
}

export interface NormalizedChunk {
  frames: number;
  keyframes: number[];
  bytes: number;
}

/**
 * swscale's default colour conversion rounds every YUV↔RGB matrix step down: a chunk came out
 * ≈2 luma levels darker than its clip, and its last frame (RGB) darker again, so each chunk of
 * a beat started visibly darker than the one before ended (issue 13: a 3.5-level jump at
 * every seam of a draft ad). Exact rounding and full-resolution chroma make both conversions
 * round trips within a fraction of a level.
 */
export const EXACT_COLOUR = "accurate_rnd+full_chroma_int";

/**
 * Scale so the frame covers width×height (display aspect, so non-square pixels are honoured),
 * with lanczos: Wan's 480p clips are upscaled 1.2× to 1024×576 and its 720p ones downscaled,
 * where swscale's default bicubic softens detail.
 */
function coverScale(width: number, height: number): string {
  const factor = `max(${width}/(iw*sar),${height}/ih)`;
  return `scale=w='max(${width},round(iw*sar*${factor}))':h='max(${height},round(ih*${factor}))':flags=lanczos+${EXACT_COLOUR}:out_color_matrix=bt709:out_range=tv`;
}

/**
 * One graph for both outputs, so the last frame published early (`extractLastFrame`) is the
 * very frame the normalized chunk ends on: `[chunk]` the conformed clip, `[last]` its final
 * frame as RGB.
 */
export function normalizeGraph({ width, height, fps, frames }: NormalizeOptions, outputs: { chunk: boolean; last: boolean } = { chunk: true, last: true }, chunkLabel = "chunk"): string {
  const toRgb = `scale=in_color_matrix=bt709:in_range=tv:flags=${EXACT_COLOUR},format=rgb24[last]`;
  const lastFrame = `select='eq(n,${frames - 1})',${toRgb}`;
  // Only what the chunk keeps is scaled: output frame `frames` - 1 shows an input frame from
  // before `frames`/fps (round=down), and one more output frame's time is slack for rounding.
  const kept = [`[0:v:0]setpts=PTS-STARTPTS`, `trim=end=${((frames + 1) / fps).toFixed(6)}`];
  // The model's own rate (Wan: 16 fps) to the ad's by repeating frames on their timestamps:
  // motion keeps its speed and no frame is invented or blended (docs/PLANNING.md, "Frame
  // rate"). round=down shows each output frame the input frame nearest its time (16 → 24:
  // at most half an output frame off; the default rounding is up to a whole frame late).
  const timing = [`fps=${fps}:round=down`, `trim=end_frame=${frames}`];
  const picture = [
    coverScale(width, height),
    `crop=${width}:${height}`,
    `setsar=1`,
    `format=yuv420p`,
    `setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv`,
  ];
  const hold = [`tpad=stop=-1:stop_mode=clone`, `trim=end_frame=${frames}`];
  // Every step of `picture` works on each frame by itself, so it may run before the frames are
  // repeated or chosen: the lanczos scale with exact colour, most of the pass's filtering, then
  // runs once per input frame (16 fps → 24: a third fewer), and once in all for the last frame.
  if (!outputs.chunk) return [...kept, ...timing, ...hold, `select='eq(n,${frames - 1})'`, ...picture, toRgb].join(",");
  const tail = outputs.last ? `split=2[${chunkLabel}][tail];[tail]${lastFrame}` : `null[${chunkLabel}]`;
  return [...kept, ...picture, ...timing, ...hold, `settb=1/${fps}`, `setpts=N`, tail].join(",");
}

/**
 * The normalize graph with the decorations drawn on `[chunk]` after the split, so the last frame
 * stays the footage the next chunk is conditioned on. Frame n of the chunk is numbered n from 0
 * at 1/fps (setpts=N), as in a stitch batch: the same filters draw the same pixels.
 */
function decoratedNormalizeGraph(options: NormalizeOptions, last: boolean, draw: ChunkDecorations): { graph: string; ass: string | null } {
  const { width, height, fps, frames } = options;
  const drawn = decorationGraph(draw.decorations, [{ from: draw.at, to: draw.at + frames }], [0], "plain", { width, height, fps }, draw.assPath);
  return { graph: [normalizeGraph(options, { chunk: true, last }, "plain"), ...drawn.filters, `[${drawn.output}]null[chunk]`].join(";"), ass: drawn.ass };
}

async function probeInput(inputPath: string): Promise<void> {
  try {
    const probe = await ffprobe(inputPath);
    if (!probe.streams.some((s) => s.codec_type === "video")) throw new InputError("input_url has no video stream", "input_url");
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`input_url is not a readable video: ${error.stderrTail}`, "input_url");
    throw error;
  }
}

const LAST_FRAME_ARGS = ["-map", "[last]", "-frames:v", "1", "-update", "1", "-c:v", "png", "-f", "image2"];

/**
 * The last frame of the chunk `normalizeChunk` would make from this clip, without encoding
 * it: decoding and scaling a few seconds of video is a fraction of the x264 pass, and the
 * next chunk of the beat (SPEC §7.3) waits only for this frame — so it runs as critical work
 * (ffmpeg.ts). The whole clip is decoded: a seek decodes from the keyframe before its target,
 * and the draft's clips (x264's default keyframe interval, 250) have one keyframe in their 81
 * frames, so it would decode them all the same (measured on one: 0.10 of the run's 0.13 CPU s).
 */
export async function extractLastFrame(inputPath: string, lastFramePath: string, options: NormalizeOptions, chain: { chained: boolean; after?: number } = { chained: true }): Promise<void> {
  // Critical whether chained or not. A beat's last chunk (`chained` false) has no chunk created
  // from its frame, but its normalize pass, which the video's chunk phase waits on, starts only
  // once this answers (with the clip's stored copy). As a normal run it waited for a slot behind
  // every critical run and the audio passes holding the spare slot: 11.1 s at the mean for 49 such
  // frames in one load of 20 ads (bench/load.ts --n 20 --draft-concurrency 2), against 0.2 s for
  // the chained ones. It ranks below every chained frame (rank 0; theirs is the chain behind them, at least 1).
  await fromReadableInput(inputPath, () =>
    ffmpeg([...ONE_THREAD_INPUT, "-i", inputPath, ...ONE_THREAD_GRAPH, "-filter_complex", normalizeGraph(options, { chunk: false, last: true }), ...LAST_FRAME_ARGS, lastFramePath], {
      timeoutMs: options.timeoutMs ?? 2 * 60_000,
      critical: true,
      rank: chain.chained ? (chain.after ?? 0) : 0,
    }),
  );
}

/**
 * A last frame decodes on one thread. Its whole run is about 0.1 CPU s, half of it ffmpeg's own
 * start-up; with the default threads (a decoder thread per core and one more, and as many for the
 * filter graph) the decode hands every frame between threads that each wait for a core. Measured
 * on a 40-frame 1024x576 draft clip, ten runs each way alternating, at load average 11 on 2 cores
 * (nice -5, as critical runs are): 0.62 s of wall time by default against 0.44 s on one thread, the
 * same CPU time (0.10 s) and the same PNG, byte for byte.
 */
const ONE_THREAD_INPUT = ["-threads", "1"];
const ONE_THREAD_GRAPH = ["-filter_threads", "1", "-filter_complex_threads", "1"];

/**
 * Runs ffmpeg on a provider's clip, probing it only when ffmpeg fails (an ffprobe first cost
 * 0.05 CPU s and about a tenth of a second on every chunk's last frame and normalize pass): a
 * clip ffprobe cannot read, or one without video, is the caller's problem (422); anything else was ours.
 */
async function fromReadableInput<T>(inputPath: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FfmpegError) await probeInput(inputPath);
    throw error;
  }
}

/** `lastFramePath` null: the last frame was published already (`extractLastFrame`). */
export async function normalizeChunk(inputPath: string, outputPath: string, lastFramePath: string | null, options: NormalizeOptions, draw?: ChunkDecorations): Promise<NormalizedChunk> {
  const { fps, frames, keyframes = [], timeoutMs = 5 * 60_000, critical = false, background = !critical, preset, group } = options;
  for (const k of keyframes) {
    if (!Number.isInteger(k) || k < 0 || k >= frames) throw new InputError(`keyframes: ${k} is not a frame index below ${frames}`, "keyframes");
  }
  const last = lastFramePath !== null;
  const decorated = draw ? decoratedNormalizeGraph(options, last, draw) : null;
  if (decorated?.ass != null) await writeFile(draw!.assPath, decorated.ass);
  await fromReadableInput(inputPath, () => ffmpeg(
    [
      // The clip decodes on one thread here too: x264 is the pass's work, and each of the h264
      // decoder's frame threads (a core's count and one more) holds frames of its own. Replayed on
      // six draft chunks' passes of a load (3 runs each, ffmpeg 5.1): max RSS 105-114 MiB against
      // 111-122, CPU 0.45 s against 0.48 s a pass, the very same bytes written.
      ...ONE_THREAD_INPUT,
      "-i", inputPath,
      "-filter_complex", decorated?.graph ?? normalizeGraph(options, { chunk: true, last }),
      "-map", "[chunk]", "-an", "-sn", "-dn",
      ...encoderArgs(chunkEncoding(preset), fps, keyframes),
      "-frames:v", String(frames),
      "-movflags", "+faststart",
      "-f", "mp4", outputPath,
      ...(lastFramePath !== null ? [...LAST_FRAME_ARGS, lastFramePath] : []),
    ],
    // Off the critical path since its last frame is published first (extractLastFrame), until
    // the pass is what the chunk phase's end waits for.
    { timeoutMs, background, critical, group },
  ));
  // By construction it is `frames` long; counting the packets proves it for the cost of a demux.
  const result = await probeOutput(outputPath, "normalized chunk");
  if (result.frames !== frames) throw new Error(`normalized chunk has ${result.frames} frames, expected ${frames}`);
  const missing = keyframes.filter((k) => !result.keyframes.includes(k));
  if (missing.length) throw new Error(`normalized chunk lacks forced keyframes ${missing.join(", ")}`);
  return { frames: result.frames, keyframes: result.keyframes, bytes: await fileSize(outputPath) };
}
