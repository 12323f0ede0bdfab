import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ffmpeg } from "../ffmpeg.ts";
import { InputError, fileSize } from "../io.ts";
import { type ChunkProbe, probeChunk } from "./chunk-probe.ts";
import { CHUNK_ENCODING, type VideoEncoding, encoderArgs } from "./encoding.ts";
import { type PlanJoin, type Span, planSeams, planSinglePass, spanFrames } from "./stitch-plan.ts";
import { type FfconcatRange, ffconcatList } from "./ffconcat.ts";
import { type GraphChunk, spanGraph } from "./transition-graph.ts";

/**
 * Join normalized chunks with transitions (seed 001), two ways:
 * - `single_pass`: one ffmpeg renders the whole xfade/concat chain and re-encodes every frame.
 *   The reference, and the fallback for inputs that cannot be spliced.
 * - `seams`: only the transition windows are rendered and encoded (all of them by one
 *   encoder, into one file); everything else is spliced in by stream copy with the concat
 *   demuxer. With chunks normalized by normalize.ts this costs little more than a plain copy.
 * Both produce exactly Σframes − Σoverlaps frames; seams and single_pass agree frame for frame.
 */

export type StitchMethod = "seams" | "single_pass";

export interface StitchChunk {
  path: string;
  /** Frames the caller says the chunk has; checked against the file. */
  frames: number;
}

export interface StitchOptions {
  width: number;
  height: number;
  fps: number;
  method: StitchMethod;
  /** Scratch directory (the caller removes it). */
  workDir: string;
  /** Encoding for re-encoded frames; only single_pass may differ from CHUNK_ENCODING (seams must splice). */
  encoding?: VideoEncoding;
  timeoutMs?: number;
}

export interface StitchResult {
  frames: number;
  bytes: number;
  method: StitchMethod;
  encodeSeconds: number;
  copiedFrames: number;
}

/** Run `work` over `items` with at most `limit` running at once, keeping order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

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
      .then(() => probeChunk(path, "reference encode"))
      .then((probe) => probe.parameterSetsHash);
    hash.catch(() => referenceHashes.delete(key));
    referenceHashes.set(key, hash);
  }
  return hash;
}

export async function stitchChunks(chunks: readonly StitchChunk[], joins: readonly PlanJoin[], outputPath: string, options: StitchOptions): Promise<StitchResult> {
  const { width, height, fps, method, workDir, encoding = CHUNK_ENCODING, timeoutMs = 10 * 60_000 } = options;
  if (method === "seams" && encoding !== CHUNK_ENCODING) throw new Error("seams must encode with CHUNK_ENCODING to splice");
  const started = performance.now();

  const probes = await mapLimited(chunks, 4, (chunk, i) => probeChunk(chunk.path, `chunks[${i}]`));
  probes.forEach((probe, i) => {
    const declared = chunks[i]!.frames;
    if (probe.width !== width || probe.height !== height) throw new InputError(`chunks[${i}] is ${probe.width}x${probe.height}, expected ${width}x${height}`);
    if (Math.abs(probe.fps - fps) > 1e-6) throw new InputError(`chunks[${i}] runs at ${probe.fps} fps, expected ${fps}`);
    if (probe.frames !== declared) throw new InputError(`chunks[${i}] has ${probe.frames} frames, the request says ${declared}`);
  });

  // Chunks in our encoding can be cut by the concat demuxer: spliced (seams) and decoded
  // through two lanes instead of an ffmpeg input each (both methods).
  const reference = await referenceParameterSets(width, height, fps, workDir);
  const seekable = probes.map((p) => spliceable(p, reference));
  const planChunks = probes.map((p, i) => ({ frames: p.frames, keyframes: p.keyframes, copyable: seekable[i]! }));
  const spans: Span[] = method === "seams" ? planSeams(planChunks, joins) : planSinglePass(planChunks, joins);
  const total = spans.reduce((sum, span) => sum + spanFrames(span), 0);
  const graphChunks: GraphChunk[] = chunks.map((c, i) => ({ path: c.path, probe: probes[i]!, seekable: seekable[i]! }));

  let copiedFrames = 0;
  if (method === "single_pass") {
    await renderSpans(spans, graphChunks, fps, encoding, outputPath, workDir, timeoutMs);
  } else {
    const seamsPath = join(workDir, "seams.mp4");
    if (spans.some((s) => s.kind === "encode")) {
      await renderSpans(spans, graphChunks, fps, encoding, seamsPath, workDir, timeoutMs);
      const seams = await probeChunk(seamsPath, "seam encode");
      if (seams.parameterSetsHash !== reference) throw new Error("seam encode's parameter sets differ from the reference encode; the chunks cannot be spliced");
    }
    const ranges: FfconcatRange[] = [];
    let seamOffset = 0;
    for (const span of spans) {
      const frames = spanFrames(span);
      if (span.kind === "copy") {
        ranges.push({ path: chunks[span.chunk]!.path, from: span.from, to: span.to, fileFrames: probes[span.chunk]!.frames });
        copiedFrames += frames;
      } else {
        ranges.push({ path: seamsPath, from: seamOffset, to: seamOffset + frames, fileFrames: Number.POSITIVE_INFINITY });
        seamOffset += frames;
      }
    }
    const listPath = join(workDir, "splice.ffconcat");
    await writeFile(listPath, ffconcatList(ranges, fps));
    await ffmpeg(
      [
        "-f", "concat", "-safe", "0", "-i", listPath,
        "-map", "0:v:0", "-c", "copy",
        // Pieces carry their own clocks; renumber every packet so the result is exactly CFR.
        "-bsf:v", `setts=ts=N/(${fps}*TB):duration=1/(${fps}*TB)`,
        "-movflags", "+faststart",
        "-f", "mp4", outputPath,
      ],
      { timeoutMs },
    );
  }

  const result = await probeChunk(outputPath, "stitched video");
  if (result.frames !== total) throw new Error(`stitched video has ${result.frames} frames, planned ${total}`);
  return {
    frames: result.frames,
    bytes: await fileSize(outputPath),
    method,
    encodeSeconds: (performance.now() - started) / 1000,
    copiedFrames,
  };
}

/** Same SPS/PPS as our reference encode (so also yuv420p, 8-bit, no B-frames), starting on a keyframe. */
function spliceable(probe: ChunkProbe, reference: string): boolean {
  return probe.codec === "h264" && probe.parameterSetsHash === reference && probe.keyframes[0] === 0;
}

async function renderSpans(spans: readonly Span[], chunks: readonly GraphChunk[], fps: number, encoding: VideoEncoding, outputPath: string, workDir: string, timeoutMs: number) {
  const graph = spanGraph(spans, chunks, fps, (lane) => join(workDir, `lane-${lane}.ffconcat`));
  await Promise.all(graph.lists.map((list) => writeFile(list.path, list.content)));
  await ffmpeg(
    [
      ...graph.inputArgs,
      "-filter_complex", graph.filterGraph,
      "-map", `[${graph.output}]`, "-an",
      ...encoderArgs(encoding, fps, graph.spanStarts),
      "-frames:v", String(graph.frames),
      "-movflags", "+faststart",
      "-f", "mp4", outputPath,
    ],
    { timeoutMs },
  );
}
