import { type Cue, type SeamSpec, cueFrames, holdCuesToKeyframes } from "../../contracts/media.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { type AssemblyPiece, type FrameRange, type PlanChunk, type PlanJoin, type Span, assemblyPieces, planSeams, readySpans } from "../../lib/stitch-plan.ts";
import { chunkDecorations, decorationPieces, decorationsRevision, ownFrames } from "../chunks/decorations.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import type { NewJob } from "./dag.ts";
import type { JobRow } from "./jobs.ts";
import { type WorkJob, outputOf } from "./work-jobs.ts";
import { SEAMS_PREFIX, plannedSeams } from "../references/seam-scores.ts";
import type { OwnWindowsInput } from "../chunks/windows.ts";
import { type AssembleInput, type AssemblyDecorations, OVERLAYS_JOB, type OverlaysOutput, type SeamMeasureInput, WINDOW_PREFIX, type WindowInput } from "../steps/assembly.ts";

export { OVERLAYS_JOB, SEAMS_PREFIX, WINDOW_PREFIX };

/**
 * Progressive assembly's decisions (pure, like pipeline.ts). Jobs, all of kind `stitch` but the last:
 * - `overlays`: the copy's layers (headline, end card), rendered once the references are
 *   settled (the brand's logo is one of them), long before the chunks.
 * - `stitch:<from frame>`: one window, an encode span of the seam plan (lib/stitch-plan.ts: a
 *   transition window or frames under a decoration), as soon as every chunk it reads is
 *   normalized and the decorations are known (the layers rendered; for burned captions the
 *   voice timed, since a cue's frames are encoded too and move the spans' bounds).
 * - `seams:<frame>`: the seams whose frames (each seam ± its motion steps) are all stored, as
 *   chunks' copies or rendered windows, measured on those very pieces (media-node
 *   `videos/seams` with `pieces`), a few at a time.
 * - `mux`: every chunk and window there and the soundtrack ready: one stream-copy concat with
 *   the soundtrack muxed in the same pass (media-node `videos/assemble`). The last chunk's
 *   seams are measured beside it, and the video ends when both are done.
 * Before the last chunk lands almost all of this is done; after it, only its own windows remain.
 */

export const isWindow = (job: Pick<JobRow, "id">) => job.id.startsWith(WINDOW_PREFIX);
export const isSeamMeasure = (job: Pick<JobRow, "id">) => job.id.startsWith(SEAMS_PREFIX);
/** Jobs of the progressive assembly a regenerated beat redoes (the overlays stay). */
export const isAssemblyPart = (job: Pick<JobRow, "id">) => isWindow(job) || isSeamMeasure(job);

/** What the decisions read of the run. */
export interface AssemblyView {
  spec: VideoSpec;
  chunkPlan: readonly ChunkPlan[];
  jobs: readonly WorkJob[];
  /** Burned cues as the voice was timed; [] without burned captions. */
  cues: readonly Cue[];
}

/** The chunks in order, each with its output once done. */
function chunksOf(view: AssemblyView): { plan: ChunkPlan; output: ChunkOutput | null }[] {
  const byNum = new Map(view.jobs.filter((j) => j.kind === "chunk").map((j) => [j.idx, j]));
  return [...view.chunkPlan]
    .sort((a, b) => a.chunk_num - b.chunk_num)
    .map((plan) => {
      const job = byNum.get(plan.chunk_num);
      return { plan, output: job?.status === "done" && job.output ? outputOf<ChunkOutput>(job) : null };
    });
}

export function transitionsOf(chunkPlan: readonly ChunkPlan[]): PlanJoin[] {
  return [...chunkPlan].sort((a, b) => a.chunk_num - b.chunk_num).slice(0, -1).map((c) => c.seam_out);
}

/**
 * The decorations as known now. A cue is held to the next keyframe (holdCuesToKeyframes); inside
 * a chunk not normalized yet every frame counts as one, so no cue is held into it: the hold can
 * then only move frames of that chunk, which no window rendered before it lands reads.
 */
function decorationsOf(view: AssemblyView, chunks: ReturnType<typeof chunksOf>): AssemblyDecorations {
  const overlays = view.jobs.find((j) => j.id === OVERLAYS_JOB);
  const keyframes = chunks.map((c) => ({ keyframes: c.output?.keyframes ?? Array.from({ length: c.plan.frames }, (_, i) => i) }));
  const cues = holdCuesToKeyframes(view.cues, chunks.map((c) => c.plan), keyframes, view.spec.fps, view.spec.total_frames);
  return { overlays: overlays?.output ? outputOf<OverlaysOutput>(overlays).layers : [], cues };
}

/** The decorations are known: the layers rendered (their job done) and, for burned captions, the voice timed (`cuesTimed`). */
export function decorationsReady(view: Pick<AssemblyView, "jobs">, cuesTimed: boolean): boolean {
  return cuesTimed && view.jobs.find((j) => j.id === OVERLAYS_JOB)?.status === "done";
}

export function markedFrames(decorations: AssemblyDecorations, fps: number): FrameRange[] {
  return [...decorations.overlays.map((o) => ({ from: o.from_frame, to: o.to_frame })), ...decorations.cues.map((c) => cueFrames(c, fps))];
}

/**
 * Output frames the chunks' normalize passes drew (chunks/decorations.ts) whose revision matches
 * the decorations the run draws there now: the windows and the assembly leave them out, so they
 * are stream-copied. A chunk whose revision differs counts as undecorated. That cannot happen
 * today: the layers and the voice's cues are never redone (a regenerated beat keeps both, and
 * its chunks are normalized again), and a cue is held (holdCuesToKeyframes) only past the end of
 * one that ends in a chunk normalized before the voice was timed, never into a decorated chunk's
 * own frames (they have a keyframe where each cue ends). Should it happen, the windows would
 * draw the new decorations over the chunk's stored frames, which carry the old ones.
 */
function predrawn(view: AssemblyView, chunks: ReturnType<typeof chunksOf>, decorations: AssemblyDecorations): FrameRange[] {
  const fps = view.spec.fps;
  return chunks.flatMap(({ plan, output }) => {
    const drawn = output?.decorated;
    const now = drawn ? chunkDecorations(decorations, plan, fps) : null;
    if (!drawn || !now || decorationsRevision(now, fps) !== drawn.revision) return [];
    return drawn.frames.map((r) => ({ from: plan.video_start_frame + r.from, to: plan.video_start_frame + r.to }));
  });
}

interface Planned {
  chunks: ReturnType<typeof chunksOf>;
  transitions: PlanJoin[];
  /** Every decoration: what the seam measures leave out. */
  decorations: AssemblyDecorations;
  /** What the windows and the assembly draw: the decorations less the frames chunks drew already. */
  drawing: AssemblyDecorations;
  marked: FrameRange[];
  known: (PlanChunk | null)[];
  declared: number[];
  /** chunkWindows of the view, once asked for (the window jobs, the stored pieces and the assembly's input each ask). */
  chunkWindows?: { from_frame: number; to_frame: number; key: string }[];
}

/** Each view's plan: one decision asks for the windows, the seams and the assembly's input of the same view. */
const plans = new WeakMap<AssemblyView, Planned>();

function planned(view: AssemblyView): Planned {
  const kept = plans.get(view);
  if (kept) return kept;
  const plan = planAnew(view);
  plans.set(view, plan);
  return plan;
}

function planAnew(view: AssemblyView): Planned {
  const chunks = chunksOf(view);
  const decorations = decorationsOf(view, chunks);
  const drawing = decorationPieces(decorations, predrawn(view, chunks, decorations), "outside", view.spec.fps);
  return {
    chunks,
    transitions: transitionsOf(view.chunkPlan),
    decorations,
    drawing,
    marked: markedFrames(drawing, view.spec.fps),
    // Normalized chunks are in our encoding (normalize.ts): media-node finds them copyable.
    known: chunks.map((c) => (c.output ? { frames: c.output.frames, keyframes: c.output.keyframes ?? [0], copyable: true } : null)),
    declared: chunks.map((c) => c.plan.frames),
  };
}

/**
 * The windows a chunk's normalize pass renders after it: every encode span that reads the chunk
 * and whose other chunks are normalized (media-node finds them, from the chunk just normalized
 * and its neighbours' stored copies). For the last chunk that is usually all it leaves, and the
 * final assembly has only its stream-copy concat left; for another, those windows need no job of
 * their own. Null while no neighbour is normalized, or no window reading it would be ready. Drawn with the
 * decorations the run draws once the chunk is done: less the frames the pass itself draws on its
 * own frames, as its `decorated` will say. A window whose span or decorations the run no longer
 * plans when it is used is left out (`chunkWindows`), and rendered by a job or the assembly.
 */
export function ownWindowsInput(view: AssemblyView, chunk: number): OwnWindowsInput | null {
  const p = planned(view);
  const plan = p.chunks[chunk]?.plan;
  if (!plan || (!p.chunks[chunk - 1]?.output && !p.chunks[chunk + 1]?.output)) return null;
  const decorations = decorationPieces(p.drawing, [ownFrames(plan)], "outside", view.spec.fps);
  // Nothing to render (cuts on both sides, no decoration the pass leaves on its frames): the
  // pass is not sent its neighbours to probe. Every frame counted a keyframe: whether a span
  // reads the chunk does not depend on where its keyframes fall, only how far the span runs.
  const assumed = p.known.map((c, i) => (i === chunk ? { frames: plan.frames, keyframes: Array.from({ length: plan.frames }, (_, f) => f), copyable: true } : c));
  if (!readySpans(assumed, p.declared, p.transitions, markedFrames(decorations, view.spec.fps)).some((s) => s.pieces.some((piece) => piece.chunk === chunk))) return null;
  // A window reads this chunk and at most one neighbour; the chunk past that bounds it.
  const fetched = (i: number) => i !== chunk && Math.abs(i - chunk) <= 2 && p.chunks[i]!.output !== null;
  return {
    chunk,
    chunks: p.chunks.map((c, i) => ({ frames: c.output?.frames ?? c.plan.frames, key: fetched(i) ? c.output!.key : null })),
    transitions: p.transitions,
    decorations,
    read: p.chunks.flatMap((_, i) => (fetched(i) ? [{ chunk: i, attempt: chunkAttempt(view, i) ?? 0 }] : [])),
  };
}

/** The attempt of chunk `chunkNum`'s job: a chunk rendered again is another attempt. */
const chunkAttempt = (view: AssemblyView, chunkNum: number) => view.jobs.find((j) => j.kind === "chunk" && j.idx === chunkNum)?.attempt;

/** The decorations' identity over output frames `range` alone. */
const revisionWithin = (decorations: AssemblyDecorations, range: FrameRange, fps: number) => decorationsRevision(decorationPieces(decorations, [range], "inside", fps), fps);

/** The windows chunks' passes rendered that are spans of the plan now, drawn with what the run draws there now. */
function chunkWindows(view: AssemblyView, p: Planned): { from_frame: number; to_frame: number; key: string }[] {
  p.chunkWindows ??= chunkWindowsAnew(view, p);
  return p.chunkWindows;
}

function chunkWindowsAnew(view: AssemblyView, p: Planned): { from_frame: number; to_frame: number; key: string }[] {
  const fps = view.spec.fps;
  const spans = readySpans(p.known, p.declared, p.transitions, p.marked);
  const current = (output: ChunkOutput) => (output.windows_read ?? []).every((r) => chunkAttempt(view, r.chunk) === r.attempt);
  return p.chunks.flatMap(({ output }) =>
    (output && current(output) ? (output.windows ?? []) : []).filter((w) => {
      const range = { from: w.from_frame, to: w.to_frame };
      return spans.some((s) => s.at === w.from_frame && s.to === w.to_frame) && revisionWithin(output!.windows_drawing!, range, fps) === revisionWithin(p.drawing, range, fps);
    }),
  );
}

/** Windows whose chunks are all normalized and that have no job yet, nor were rendered by a chunk's pass. */
export function windowJobs(view: AssemblyView): NewJob[] {
  const p = planned(view);
  const existing = new Set([...view.jobs.filter(isWindow).map((j) => j.id), ...chunkWindows(view, p).map((w) => `${WINDOW_PREFIX}${w.from_frame}`)]);
  return readySpans(p.known, p.declared, p.transitions, p.marked)
    .filter((span) => !existing.has(`${WINDOW_PREFIX}${span.at}`))
    .map((span) => {
      // Fetched: the chunks the window reads, and the normalized ones on either side, whose copies
      // bound it (one media-node cannot copy from would make the span grow into it). The others
      // only place it on the timeline.
      const reads = span.pieces.map((piece) => piece.chunk);
      const fetched = new Set([...reads, Math.min(...reads) - 1, Math.max(...reads) + 1]);
      const input: WindowInput = {
        window: { from_frame: span.at, to_frame: span.to },
        chunks: p.chunks.map((c, i) => ({ frames: c.output?.frames ?? c.plan.frames, key: fetched.has(i) && c.output ? c.output.key : null })),
        transitions: p.transitions,
        decorations: p.drawing,
      };
      return { id: `${WINDOW_PREFIX}${span.at}`, kind: "stitch", beat: null, idx: span.at, input };
    });
}

/** Frames a seam's measures read (media-node seams.ts: MOTION_STEPS = 6 steps either side of the seam and its window). */
const SEAM_REACH = 7;

/** The stored piece of every output frame known now: copies of normalized chunks and windows already rendered. */
function storedPieces(view: AssemblyView, p: Planned): (AssemblyPiece & { key: string })[] {
  const spans: Span[] = planSeams(
    p.known.map((c, i) => c ?? { frames: p.declared[i]!, keyframes: [], copyable: false }),
    p.transitions,
    p.marked,
  );
  const windows = new Map(view.jobs.filter((j) => isWindow(j) && j.status === "done").map((j) => [j.idx, outputOf<{ key: string }>(j).key]));
  for (const w of chunkWindows(view, p)) windows.set(w.from_frame, w.key);
  // Windows the assembly rendered itself are stored once it is done.
  const mux = view.jobs.find((j) => j.id === "mux" && j.status === "done" && j.output);
  for (const w of mux ? (outputOf<{ rendered?: { from_frame: number; key: string }[] }>(mux).rendered ?? []) : []) windows.set(w.from_frame, w.key);
  return assemblyPieces(spans).flatMap((piece) => {
    const key = "chunk" in piece ? (p.known[piece.chunk] ? p.chunks[piece.chunk]!.output!.key : undefined) : windows.get(piece.window);
    return key === undefined ? [] : [{ ...piece, key }];
  });
}

/** The seams not yet measured whose frames are all stored, as one `seams:` job; none when there are none. */
export function seamJobs(view: AssemblyView): NewJob[] {
  const p = planned(view);
  const seams = plannedSeams(view.chunkPlan);
  const taken = new Set(view.jobs.filter(isSeamMeasure).flatMap((j) => (JSON.parse(j.input) as SeamMeasureInput).measure));
  const pieces = storedPieces(view, p);
  const held = (from: number, to: number) => {
    for (let n = from; n < to; ) {
      const piece = pieces.find((x) => x.from_frame <= n && n < x.to_frame);
      if (!piece) return false;
      n = piece.to_frame;
    }
    return true;
  };
  const total = view.spec.total_frames;
  const measure = seams.flatMap((s, i) => (!taken.has(i) && held(Math.max(0, s.at_frame - SEAM_REACH), Math.min(total, s.at_frame + s.transition.frames + SEAM_REACH)) ? [i] : []));
  if (measure.length === 0) return [];
  const input: SeamMeasureInput = {
    seams: seams.map(({ at_frame, transition, within_beat }) => ({ at_frame, transition, within_beat })),
    measure,
    pieces: pieces.map(({ from_frame, to_frame, file_from_frame, key }) => ({ key, from_frame, to_frame, file_from_frame })),
    decorations: p.decorations,
  };
  const at = seams[measure[0]!]!.at_frame;
  return [{ id: `${SEAMS_PREFIX}${at}`, kind: "stitch", beat: null, idx: at, input }];
}

/**
 * Every chunk normalized: the windows without a job yet (the last chunk's) are left to the
 * final assembly, which renders them from the chunks it reads anyway, even while another window
 * job is still running (it waits for that one). A job of their own would cost a queue hop, a
 * request, the neighbours' downloads and the window's upload before the assembly could start.
 */
export function windowsLeftToAssembly(view: AssemblyView): boolean {
  const { chunks } = planned(view);
  return chunks.length > 0 && chunks.every((c) => c.output !== null);
}

/**
 * Every chunk normalized and every window job done: the final assembly's input, with the
 * windows no job has yet (those the last chunk just made ready) for it to render; else null.
 */
export function assembleInput(view: AssemblyView): AssembleInput | null {
  const p = planned(view);
  if (p.chunks.length === 0 || p.chunks.some((c) => c.output === null)) return null;
  const windows = view.jobs.filter(isWindow);
  if (windows.some((w) => w.status !== "done")) return null;
  const overlays = view.jobs.find((j) => j.id === OVERLAYS_JOB);
  if (overlays?.status !== "done") return null;
  return {
    assemble: true,
    chunks: p.chunks.map((c) => ({ frames: c.output!.frames, key: c.output!.key })),
    windows: [...windows.map((w) => ({ ...(JSON.parse(w.input) as WindowInput).window, key: outputOf<{ key: string }>(w).key })), ...chunkWindows(view, p)],
    render: windowJobs(view).map((j) => (j.input as WindowInput).window),
    transitions: p.transitions,
    decorations: p.drawing,
    overlays: outputOf<OverlaysOutput>(overlays!),
  };
}

