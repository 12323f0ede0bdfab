import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RunOptions, ffmpeg } from "../ffmpeg.ts";
import { InputError, concerning, fileSize, mapLimited } from "../io.ts";
import { type ChunkProbe, probeChunk, probeOutput } from "./chunk-probe.ts";
import { CHUNK_ENCODING, SEAM_ENCODING, type VideoEncoding, encoderArgs } from "./encoding.ts";
import { type Decorations, NO_DECORATIONS, decoratedRanges, decorationGraph } from "./decoration.ts";
import { type PlanJoin, type Span, mergeRanges, planSeams, planSinglePass, spanFrames } from "../../lib/stitch-plan.ts";
import { type FfconcatRange, ffconcatList } from "./ffconcat.ts";
import { type GraphChunk, spanGraph } from "./transition-graph.ts";

/**
 * Join normalized chunks with transitions (SPEC §8), two ways:
 * - `single_pass`: one ffmpeg renders the whole xfade/concat chain and re-encodes every frame.
 *   The reference, and the fallback for inputs that cannot be spliced.
 * - `seams` (default): only the transition windows are rendered and encoded (a few per ffmpeg
 *   process, SEAM_ENCODING); everything else is spliced in by stream copy with the concat
 *   demuxer. With chunks normalized by normalize.ts (keyframes at the seam cuts) the cost is
 *   decoding and encoding the overlap frames, not the whole video.
 * Both produce exactly Σframes − Σoverlaps frames, and the same pictures frame for frame
 * (up to encoding noise; the tests hold them above 35 dB PSNR of each other).
 * Decorations (overlay layers, burned captions; decoration.ts) are drawn on the frames they
 * cover, which `seams` therefore encodes as well: the rest is still copied. Burned captions
 * are the costly case: every frame that shows a cue is decoded and encoded again, which for a
 * narrated ad is most of it (docs/BENCHMARKS.md measures it).
 */

export type StitchMethod = "seams" | "single_pass";

export interface StitchChunk {
  path: string;
  /** Frames the caller says the chunk has; checked against the file. */
  frames: number;
  /** Its position in the request, for errors (default: its position in the list). */
  index?: number;
}

export interface StitchOptions {
  width: number;
  height: number;
  fps: number;
  method: StitchMethod;
  /** Scratch directory (the caller removes it). */
  workDir: string;
  /** Encoding of a single_pass output (default CHUNK_ENCODING); seams always splice with SEAM_ENCODING. */
  encoding?: VideoEncoding;
  /** Transition windows per ffmpeg process (default SEAMS_PER_ENCODE). */
  seamsPerEncode?: number;
  /** Layers and captions drawn over output frame ranges. */
  decorations?: Decorations;
  timeoutMs?: number;
}

export interface StitchResult {
  frames: number;
  bytes: number;
  method: StitchMethod;
  encodeSeconds: number;
  copiedFrames: number;
  /** Frames that carry a decoration. */
  decoratedFrames: number;
}

/**
 * Transition windows rendered per ffmpeg process. Measured at 1024x576 (bench/stitch.ts):
 * 14 seams in 3/2/1 processes peak at 140/167/213 MB and cost 4.3/3.8/3.6 CPU-s; 7 keeps the
 * child well under half of media-node's 300 MB budget for one process more than needed.
 */
export const SEAMS_PER_ENCODE = 7;

const referenceHashes = new Map<string, Promise<string>>();

/**
 * SPS/PPS hash of CHUNK_ENCODING at this size and rate, from a one-frame encode (cached).
 * A chunk with the same hash can be spliced with our seams.
 */
export function referenceParameterSets(width: number, height: number, fps: number, workDir: string): Promise<string> {
  const key = `${width}x${height}@${fps}`;
  let hash = referenceHashes.get(key);
  if (!hash) {
    const path = join(workDir, `reference-${key}.mp4`);
    hash = ffmpeg(["-f", "lavfi", "-i", `color=black:s=${width}x${height}:r=${fps}`, "-frames:v", "1", ...encoderArgs(CHUNK_ENCODING, fps), "-f", "mp4", path], {
      timeoutMs: 60_000,
    })
      .then(() => probeOutput(path, "reference encode"))
      .then((probe) => probe.parameterSetsHash);
    hash.catch(() => referenceHashes.delete(key));
    referenceHashes.set(key, hash);
  }
  return hash;
}

export async function stitchChunks(chunks: readonly StitchChunk[], joins: readonly PlanJoin[], outputPath: string, options: StitchOptions): Promise<StitchResult> {
  const { width, height, fps, method, workDir, encoding = CHUNK_ENCODING, seamsPerEncode = SEAMS_PER_ENCODE, timeoutMs = 10 * 60_000, decorations = NO_DECORATIONS } = options;
  const started = performance.now();

  const probes = await probeChunks(chunks, width, height, fps);

  // Chunks in our encoding can be cut by the concat demuxer: spliced (seams) and decoded
  // through two lanes instead of an ffmpeg input each (both methods).
  const reference = await referenceParameterSets(width, height, fps, workDir);
  const seekable = probes.map((p) => spliceable(p, reference));
  const planChunks = probes.map((p, i) => ({ frames: p.frames, keyframes: p.keyframes, copyable: seekable[i]! }));
  const marked = decoratedRanges(decorations);
  const spans: Span[] = method === "seams" ? planSeams(planChunks, joins, marked) : planSinglePass(planChunks, joins);
  const total = spans.reduce((sum, span) => sum + spanFrames(span), 0);
  checkDecorations(decorations, total);
  const draw = { decorations, width, height, fps };
  const graphChunks: GraphChunk[] = chunks.map((c, i) => ({ path: c.path, probe: probes[i]!, seekable: seekable[i]! }));

  let copiedFrames = 0;
  if (method === "single_pass") {
    await renderSpans(spans, graphChunks, draw, encoding, outputPath, join(workDir, "single-pass"), { timeoutMs });
  } else {
    // Seams are rendered in batches, one ffmpeg each: every transition in a filtergraph holds
    // a few frames of buffers until the graph ends (~5 MB each at 1024x576), so one graph
    // for all of them grows with the ad; batches keep the child's peak bounded.
    const encodeSpans = spans.filter((s) => s.kind === "encode");
    const seamFiles = new Map<Span, { path: string; offset: number }>();
    for (let first = 0, batch = 0; first < encodeSpans.length; first += seamsPerEncode, batch++) {
      const spansInBatch = encodeSpans.slice(first, first + seamsPerEncode);
      const path = join(workDir, `seams-${batch}.mp4`);
      await renderSeams(spansInBatch, graphChunks, draw, path, join(workDir, `seams-${batch}`), reference, { timeoutMs });
      let offset = 0;
      for (const span of spansInBatch) {
        seamFiles.set(span, { path, offset });
        offset += spanFrames(span);
      }
    }
    const ranges: FfconcatRange[] = spans.map((span) => {
      if (span.kind === "copy") {
        copiedFrames += spanFrames(span);
        return { path: chunks[span.chunk]!.path, from: span.from, to: span.to, fileFrames: probes[span.chunk]!.frames };
      }
      const { path, offset } = seamFiles.get(span)!;
      return { path, from: offset, to: offset + spanFrames(span), fileFrames: Number.POSITIVE_INFINITY };
    });
    const listPath = join(workDir, "splice.ffconcat");
    await writeFile(listPath, ffconcatList(ranges, fps));
    await ffmpeg(["-f", "concat", "-safe", "0", "-i", listPath, "-map", "0:v:0", "-c", "copy", ...spliceArgs(fps), "-movflags", "+faststart", "-f", "mp4", outputPath], { timeoutMs });
  }

  const result = await probeOutput(outputPath, "stitched video");
  if (result.frames !== total) throw new Error(`stitched video has ${result.frames} frames, planned ${total}`);
  return {
    frames: result.frames,
    bytes: await fileSize(outputPath),
    method,
    encodeSeconds: (performance.now() - started) / 1000,
    copiedFrames,
    decoratedFrames: mergeRanges(marked).reduce((sum, r) => sum + r.to - r.from, 0),
  };
}

/** Pieces carry their own clocks: renumber every packet of a concat so the result is exactly CFR. */
export function spliceArgs(fps: number): string[] {
  return ["-bsf:v", `setts=ts=N/(${fps}*TB):duration=1/(${fps}*TB)`];
}

/** Probe every chunk and hold it to the request's size, rate and frame count. */
export async function probeChunks(chunks: readonly StitchChunk[], width: number, height: number, fps: number): Promise<ChunkProbe[]> {
  const probes = await mapLimited(chunks, 4, (chunk, i) => concerning(`chunks.${chunk.index ?? i}`, probeChunk(chunk.path, `chunks[${chunk.index ?? i}]`)));
  probes.forEach((probe, i) => {
    const { frames: declared, index = i } = chunks[i]!;
    const field = `chunks.${index}`;
    if (probe.width !== width || probe.height !== height) throw new InputError(`chunks[${index}] is ${probe.width}x${probe.height}, expected ${width}x${height}`, field);
    if (Math.abs(probe.fps - fps) > 1e-6) throw new InputError(`chunks[${index}] runs at ${probe.fps} fps, expected ${fps}`, field);
    if (probe.frames !== declared) throw new InputError(`chunks[${index}] has ${probe.frames} frames, the request says ${declared}`, field);
  });
  return probes;
}

export function checkDecorations(decorations: Decorations, total: number): void {
  decorations.overlays.forEach((o, i) => {
    if (o.to > total) throw new InputError(`overlays[${i}] ends at frame ${o.to}, after the video's ${total} frames`, `overlays.${i}`);
  });
  decorations.cues.forEach((c, i) => {
    if (c.to > total) throw new InputError(`captions.cues[${i}] ends at frame ${c.to}, after the video's ${total} frames`, `captions.cues.${i}`);
  });
}

/**
 * Render encode spans into one file with SEAM_ENCODING, whose bitstream must splice with the
 * chunks' (same SPS/PPS as the reference encode).
 */
export async function renderSeams(spans: readonly Span[], chunks: readonly GraphChunk[], draw: Drawing, path: string, listPrefix: string, reference: string, run: RunOptions): Promise<void> {
  const render = (seamEncoding: VideoEncoding) => renderSpans(spans, chunks, draw, seamEncoding, path, listPrefix, run);
  await render(SEAM_ENCODING);
  if ((await probeOutput(path, "seam encode")).parameterSetsHash !== reference) {
    // A different x264 build could let the faster preset touch the parameter sets.
    await render(CHUNK_ENCODING);
    if ((await probeOutput(path, "seam encode")).parameterSetsHash !== reference) throw new Error("seam encode's parameter sets differ from the reference encode");
  }
}

/** Same SPS/PPS as our reference encode (so also yuv420p, 8-bit, no B-frames), starting on a keyframe. */
export function spliceable(probe: ChunkProbe, reference: string): boolean {
  return probe.codec === "h264" && probe.parameterSetsHash === reference && probe.keyframes[0] === 0;
}

export interface Drawing {
  decorations: Decorations;
  width: number;
  height: number;
  fps: number;
}

async function renderSpans(spans: readonly Span[], chunks: readonly GraphChunk[], draw: Drawing, encoding: VideoEncoding, outputPath: string, listPrefix: string, run: RunOptions) {
  const { fps } = draw;
  const graph = spanGraph(spans, chunks, fps, (lane) => `${listPrefix}-lane-${lane}.ffconcat`);
  const ranges = spans.filter((s) => s.kind === "encode").map((s) => ({ from: s.at, to: s.to }));
  const assPath = `${listPrefix}-captions.ass`;
  const decor = decorationGraph(draw.decorations, ranges, graph.spanStarts, graph.output, draw, assPath);
  await Promise.all([...graph.lists.map((list) => writeFile(list.path, list.content)), decor.ass === null ? null : writeFile(assPath, decor.ass)]);
  await ffmpeg(
    [
      ...graph.inputArgs,
      "-filter_complex", [graph.filterGraph, ...decor.filters].join(";"),
      "-map", `[${decor.output}]`, "-an",
      ...encoderArgs(encoding, fps, graph.spanStarts),
      "-frames:v", String(graph.frames),
      "-movflags", "+faststart",
      "-f", "mp4", outputPath,
    ],
    run,
  );
}
