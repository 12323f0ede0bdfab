import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ffmpeg } from "../ffmpeg.ts";
import { InputError, concerning, fileSize } from "../io.ts";
import { audioCodecArgs, muxedFacts, type MuxedVideo } from "../audio/mux.ts";
import { probeChunk, probeOutput } from "./chunk-probe.ts";
import { readMp4Durations } from "./mp4-index.ts";
import { type Decorations, NO_DECORATIONS, decoratedRanges } from "./decoration.ts";
import { type FrameRange, type PlanChunk, type PlanJoin, type Span, layoutChunks, mergeRanges, planSeams, readySpans, spanFrames } from "../../lib/stitch-plan.ts";
import { type FfconcatRange, ffconcatList } from "./ffconcat.ts";
import type { GraphChunk } from "./transition-graph.ts";
import { type StitchChunk, checkDecorations, probeChunks, referenceParameterSets, renderSeams, spliceArgs, spliceable } from "./stitch.ts";

/**
 * Progressive assembly: the stitch of stitch.ts split so that almost all of it happens while
 * chunks are still generating.
 * - `renderWindow`: one encode span of the seam plan (a transition window, or frames under a
 *   decoration), rendered as soon as the chunks it reads are normalized. The chunks that have
 *   not landed yet are only counted (their declared frames place the others on the timeline).
 * - `assembleFinal`: when every chunk and window is there, one stream-copy concat of the
 *   chunks' own regions and the windows, with the prepared music muxed in the same pass.
 * Both plan with the same function as the one-shot stitch (lib/stitch-plan.ts), so the final
 * file has exactly the frames, transitions and timing `stitchChunks` would give.
 */

export interface AssemblyOptions {
  width: number;
  height: number;
  fps: number;
  /** Scratch directory (the caller removes it). */
  workDir: string;
  decorations?: Decorations;
  timeoutMs?: number;
  /** A window the final file waits for (the assembly's own): its runs at the critical class (ffmpeg.ts). */
  critical?: boolean;
}

/** A chunk of the video: its file once normalized, else null (only its frame count is known). */
export interface WindowChunk {
  path: string | null;
  frames: number;
}

export interface WindowResult {
  frames: number;
  /** The chunks the window reads. */
  chunks: number[];
  decoratedFrames: number;
  encodeSeconds: number;
}

function describe(spans: readonly Span[]): string {
  const encode = spans.filter((s) => s.kind === "encode").map((s) => `[${s.at}, ${s.to})`);
  return encode.length ? encode.join(", ") : "none";
}

function markedFrames(marked: readonly FrameRange[], window: FrameRange): number {
  return mergeRanges(marked).reduce((sum, r) => sum + Math.max(0, Math.min(r.to, window.to) - Math.max(r.from, window.from)), 0);
}

/** The chunks given probed, and the encode spans they can render now. */
async function readyPlan(chunks: readonly WindowChunk[], joins: readonly PlanJoin[], options: AssemblyOptions) {
  const { width, height, fps, workDir, decorations = NO_DECORATIONS } = options;
  const declared = chunks.map((c) => c.frames);
  checkDecorations(decorations, layoutChunks(chunks, joins).total);
  const present = chunks.flatMap((c, index) => (c.path === null ? [] : [{ path: c.path, frames: c.frames, index }]));
  const [probes, reference] = await Promise.all([probeChunks(present, width, height, fps), referenceParameterSets(width, height, fps, workDir)]);
  const planChunks: (PlanChunk | null)[] = chunks.map(() => null);
  const graphChunks: GraphChunk[] = [];
  present.forEach((chunk, i) => {
    const probe = probes[i]!;
    const copyable = spliceable(probe, reference);
    planChunks[chunk.index] = { frames: probe.frames, keyframes: probe.keyframes, copyable };
    graphChunks[chunk.index] = { path: chunk.path, probe, seekable: copyable };
  });
  const marked = decoratedRanges(decorations);
  return { ready: readySpans(planChunks, declared, joins, marked), graphChunks, reference, marked };
}

/** Render one span of the plan to `outputPath`, its frames checked. */
async function renderSpan(span: Extract<Span, { kind: "encode" }>, plan: Awaited<ReturnType<typeof readyPlan>>, outputPath: string, options: AssemblyOptions, started: number): Promise<WindowResult> {
  const { width, height, fps, workDir, decorations = NO_DECORATIONS, timeoutMs = 5 * 60_000, critical = false } = options;
  const draw = { decorations, width, height, fps };
  await renderSeams([span], plan.graphChunks, draw, outputPath, join(workDir, `window-${span.at}`), plan.reference, { timeoutMs, critical });
  const rendered = await probeOutput(outputPath, "window encode");
  if (rendered.frames !== spanFrames(span)) throw new Error(`window encode has ${rendered.frames} frames, planned ${spanFrames(span)}`);
  return {
    frames: rendered.frames,
    chunks: [...new Set(span.pieces.map((p) => p.chunk))],
    decoratedFrames: markedFrames(plan.marked, { from: span.at, to: span.to }),
    encodeSeconds: (performance.now() - started) / 1000,
  };
}

/** Render the encode span covering output frames `window` exactly, from the chunks it reads. */
export async function renderWindow(chunks: readonly WindowChunk[], joins: readonly PlanJoin[], window: FrameRange, outputPath: string, options: AssemblyOptions): Promise<WindowResult> {
  const started = performance.now();
  const plan = await readyPlan(chunks, joins, options);
  const span = plan.ready.find((s) => s.at === window.from && s.to === window.to);
  // The caller names the field (io.ts concerning): stitch/window's `window`, or assemble's `render_windows.<i>`.
  if (!span) throw new InputError(`window: output frames [${window.from}, ${window.to}) are not an encode span that these chunks can render (ready now: ${describe(plan.ready)})`);
  return renderSpan(span, plan, outputPath, options, started);
}

/**
 * Every encode span that reads chunk `index` and that the chunks given can render, each to the
 * next of `outputPaths`, in frame order: with every other chunk normalized, the windows the last
 * chunk leaves, rendered in its own normalize pass. Null, rendering none, when they are more
 * than `outputPaths` (the final assembly renders them then).
 */
export async function renderChunkWindows(
  chunks: readonly WindowChunk[],
  joins: readonly PlanJoin[],
  index: number,
  outputPaths: readonly string[],
  options: AssemblyOptions,
): Promise<(WindowResult & FrameRange & { path: string })[] | null> {
  const started = performance.now();
  const plan = await readyPlan(chunks, joins, options);
  const spans = plan.ready.filter((s) => s.pieces.some((p) => p.chunk === index)).sort((a, b) => a.at - b.at);
  if (spans.length > outputPaths.length) return null;
  const results = [];
  for (const [i, span] of spans.entries()) results.push({ ...(await renderSpan(span, plan, outputPaths[i]!, options, started)), from: span.at, to: span.to, path: outputPaths[i]! });
  return results;
}

export interface AssembledWindow extends FrameRange {
  path: string;
}

export interface AssemblyResult extends MuxedVideo {
  frames: number;
  copiedFrames: number;
  decoratedFrames: number;
  windows: number;
  /** Wall time of the ffmpeg work: the probes, the concat and the final file's facts; not its upload. */
  encodeSeconds: number;
  /** Of which the stream-copy concat with the music: its ffmpeg process, from asking for a slot to its exit. */
  concatSeconds: number;
  /** Wall time from the concat's end to the file stored (`store`), beside its facts' ffprobe: 0 without `store`. */
  storeSeconds: number;
}

/**
 * The final MP4 from normalized chunks and their rendered windows: every copy span of the
 * plan from its chunk, every encode span from the window rendered for it, music alongside;
 * all stream copy. A window that is missing, extra or of another length is refused.
 */
export async function assembleFinal(
  chunks: readonly StitchChunk[],
  joins: readonly PlanJoin[],
  windows: readonly AssembledWindow[],
  audioPath: string,
  outputPath: string,
  options: AssemblyOptions,
  /** Stores the file (and the windows rendered) once its frames are checked. */
  store?: () => Promise<unknown>,
  /** The chunks' probes (probeChunks), when the caller started them already: while the windows it renders were encoding. */
  chunkProbes?: ReturnType<typeof probeChunks>,
): Promise<AssemblyResult> {
  const { width, height, fps, workDir, decorations = NO_DECORATIONS, timeoutMs = 5 * 60_000 } = options;
  // The last step before the user's file: its runs go ahead of the seam measures and any
  // normalize pass running beside it (ffmpeg.ts's critical class), for a slot and for the CPU.
  const run = { timeoutMs, critical: true };
  const started = performance.now();
  const [probes, reference, windowProbes, audioArgs] = await Promise.all([
    chunkProbes ?? probeChunks(chunks, width, height, fps),
    referenceParameterSets(width, height, fps, workDir),
    Promise.all(windows.map((w, i) => concerning(`windows.${i}`, probeChunk(w.path, `windows[${i}]`)))),
    audioCodecArgs(audioPath),
  ]);
  const marked = decoratedRanges(decorations);
  const spans = planSeams(
    probes.map((p) => ({ frames: p.frames, keyframes: p.keyframes, copyable: spliceable(p, reference) })),
    joins,
    marked,
  );
  const total = spans.reduce((sum, span) => sum + spanFrames(span), 0);
  checkDecorations(decorations, total);
  const unused = new Set(windows.map((_, i) => i));
  let copiedFrames = 0;
  const ranges: FfconcatRange[] = spans.map((span) => {
    if (span.kind === "copy") {
      copiedFrames += spanFrames(span);
      return { path: chunks[span.chunk]!.path, from: span.from, to: span.to, fileFrames: probes[span.chunk]!.frames };
    }
    const i = windows.findIndex((w) => w.from === span.at && w.to === span.to);
    if (i < 0) throw new InputError(`windows: none renders output frames [${span.at}, ${span.to}) (the plan encodes ${describe(spans)})`, "windows");
    const probe = windowProbes[i]!;
    if (probe.frames !== spanFrames(span)) throw new InputError(`windows[${i}] has ${probe.frames} frames, [${span.at}, ${span.to}) needs ${spanFrames(span)}`, `windows.${i}`);
    if (!spliceable(probe, reference)) throw new InputError(`windows[${i}] is not in the chunks' encoding and cannot be spliced`, `windows.${i}`);
    unused.delete(i);
    return { path: windows[i]!.path, from: 0, to: probe.frames, fileFrames: probe.frames };
  });
  if (unused.size > 0) throw new InputError(`windows[${[...unused][0]}] is not an encode span of the plan (it encodes ${describe(spans)})`, `windows.${[...unused][0]}`);
  const listPath = join(workDir, "assembly.ffconcat");
  await writeFile(listPath, ffconcatList(ranges, fps));
  const concatStart = performance.now();
  await ffmpeg(
    [
      "-f", "concat", "-safe", "0", "-i", listPath,
      "-i", audioPath,
      "-map", "0:v:0", "-map", "1:a:0",
      "-c:v", "copy", ...audioArgs,
      ...spliceArgs(fps),
      // The music never runs past the last frame.
      "-t", (total / fps).toFixed(6),
      "-movflags", "+faststart",
      "-f", "mp4", outputPath,
    ],
    run,
  );
  const concatSeconds = (performance.now() - concatStart) / 1000;
  const result = await probeOutput(outputPath, "assembled video");
  if (result.frames !== total) throw new Error(`assembled video has ${result.frames} frames, planned ${total}`);
  // Stored while its lengths are read: from its MP4 index (the video's is its frames, checked
  // above), an ffprobe process only for a file that index does not describe. Each is timed on its
  // own: under load the upload, through the local stack's busy Worker, can outlast the facts, and
  // counted as ffmpeg work it hid where the assembly's time goes.
  const concatEnd = performance.now();
  const facts = async (): Promise<MuxedVideo> => {
    const read = await readMp4Durations(outputPath);
    return read ? { ...read, videoDurationS: result.frames / fps, bytes: await fileSize(outputPath) } : muxedFacts(outputPath, run);
  };
  const [[muxed, encodeEnd], storeEnd] = await Promise.all([
    facts().then((f) => [f, performance.now()] as const),
    store ? store().then(() => performance.now()) : concatEnd,
  ]);
  return { ...muxed, frames: result.frames, copiedFrames, decoratedFrames: mergeRanges(marked).reduce((sum, r) => sum + r.to - r.from, 0), windows: windows.length,
    encodeSeconds: (encodeEnd - started) / 1000,
    concatSeconds,
    storeSeconds: (storeEnd - concatEnd) / 1000,
  };
}
