import type { Conditioning, CostEstimate, EndStatus, GenerateRequest, MissingReference, Phase } from "../../contracts/api.ts";
import type { PlanNote } from "../../contracts/live.ts";
import { spokenLines, VideoSpec } from "../../contracts/spec.ts";
import { type DriftCorrection, driftCorrection, nextChunkInput, referenceDrift } from "../chunks/drift.ts";
import type { ChunkLastFrame, ChunkOutput } from "../chunks/output.ts";
import { type ChunkPlan, planChunks } from "../chunks/plan.ts";
import { acceptsEndImage } from "../providers/models/clip.ts";
import { buildConsistencyContext } from "../references/context.ts";
import { missingReference, missingReferenceMessage, ReferenceJobInput } from "../references/selection.ts";
import type { ReferenceOutput } from "../steps/step.ts";
import type { MusicSource, SoundtrackInput, SoundtrackOutput, VoiceOutput } from "../steps/voice.ts";
import { type AssemblyView, OVERLAYS_JOB, assembleInput, decorationsReady, isSeamMeasure, seamJobs, windowJobs, windowsLeftToAssembly } from "./assembly.ts";
import { timedCues } from "./decorations-wait.ts";
import { chunkJobs, type NewJob, referenceJobs, soundtrackJobs, soundtrackMixJob, storyboardJobs } from "./dag.ts";
import type { JobKind, JobRow } from "./jobs.ts";
import { type WorkJob, outputOf } from "./work-jobs.ts";

/**
 * The pipeline's decisions, as pure functions: when a job is done, which jobs come next,
 * which phase the video enters and whether it ends. One function per job kind (`NEXT`); the
 * run (advance.ts) carries out what they decide, in the order given.
 */

/** What the decisions read: the run as it is once the finished job is marked done. */
export interface PipelineView {
  request: GenerateRequest;
  spec: VideoSpec | null;
  chunkPlan: ChunkPlan[] | null;
  jobs: readonly WorkJob[];
}

export interface PipelineSettings {
  /** Longest chunk the video model renders in one prediction (frames at 24 fps). */
  maxChunkFrames: number;
  /** ΔE2000 above which a chunk is said to drift from the references. */
  consistencyDriftThreshold: number;
  /** Windows as chunks land and one assembly pass, or one stitch after the last chunk (assembly.ts). */
  assembly: "progressive" | "after_all";
}

/** What the drift decision reads besides the threshold: the run's default conditioning and its video model (end frames or not). */
export interface PublishSettings extends Pick<PipelineSettings, "consistencyDriftThreshold"> {
  conditioning: Conditioning;
  models: { video: string };
}

/** What the plan job leaves: the spec, its estimate, and the planner's notes on the way. */
export interface PlanOutput {
  spec: unknown;
  cost_estimate: CostEstimate;
  events?: PlanNote[];
}

export type Decision =
  /** The spec, its chunks and their estimate become the run's; the planner's notes are told. */
  | { kind: "store_plan"; spec: VideoSpec; chunkPlan: ChunkPlan[]; costEstimate: CostEstimate; notes: PlanNote[] }
  /** Read the time-remaining estimate's priors (once, when planning ended). */
  | { kind: "load_priors" }
  /** The reference images are all settled: those made, those missing, and their consistency context, every later prompt's. */
  | { kind: "references_ready"; references: ReferenceOutput[]; missing: MissingReference[]; context: string }
  | { kind: "insert"; jobs: NewJob[] }
  /** Jobs waiting for `after` may start; with `input`, the one that does (chunk k+1 of a beat) starts from it. */
  | { kind: "release"; after: string; input?: unknown }
  /** A chunk drifted from the references: the next chunk of its beat is brought back (chunks/drift.ts); told in the event log. */
  | { kind: "drift_correction"; jobId: string; correction: DriftCorrection }
  | { kind: "warning"; message: string; jobId: string }
  | { kind: "phase"; phase: Phase }
  | { kind: "end"; status: EndStatus; error: string | null };

type Next = (finished: JobRow, run: PipelineView, settings: PipelineSettings) => Decision[];

const allDone = (jobs: readonly WorkJob[], kind: JobKind) => jobs.filter((j) => j.kind === kind).every((j) => j.status === "done");
const find = (run: PipelineView, id: string) => run.jobs.find((j) => j.id === id);

/** A voiced ad's soundtrack is the `soundtrack` mix of music and voice; otherwise the music job prepares it. */
function soundtrackDone(run: PipelineView): boolean {
  const voiced = run.spec !== null && spokenLines(run.spec).length > 0;
  return find(run, voiced ? "soundtrack" : "music")?.status === "done";
}

/** Captions burned into the picture need the voice's real timing, which the soundtrack mix measures. */
function burnsCaptions(run: PipelineView): boolean {
  return run.spec !== null && run.spec.copy.captions === "burned" && spokenLines(run.spec).length > 0;
}

/** Burned cues as the voice was timed (decorations-wait.ts: by each line's measured speech, else by the mix); null before; [] without burned captions. */
function voiceCues(run: PipelineView) {
  return run.spec === null ? null : timedCues(run.spec, run.jobs);
}

/**
 * Progressive assembly (assembly.ts): once the decorations are known, the windows and seam
 * measures the stored chunks allow; with the last chunk done, the stitching phase (its own
 * windows); with every window and the soundtrack done, the final assembly (the mux job: one
 * stream-copy pass, soundtrack included), its last seams measured beside it. The video ends
 * when the assembly and every seam measure are done.
 */
function assembleWhenReady(run: PipelineView, lastChunkDone = false): Decision[] {
  const cues = voiceCues(run);
  if (!run.spec || !run.chunkPlan || !decorationsReady(run, cues !== null)) return [];
  const view: AssemblyView = { spec: run.spec, chunkPlan: run.chunkPlan, jobs: run.jobs, cues: cues! };
  const mux = find(run, "mux");
  if (mux) {
    // The windows it rendered are stored now: the seams around them are measured, then the video ends.
    if (mux.status !== "done") return [];
    const seams = seamJobs(view);
    if (seams.length) return [{ kind: "insert", jobs: seams }];
    return run.jobs.filter(isSeamMeasure).every((j) => j.status === "done") ? [{ kind: "end", status: "complete", error: null }] : [];
  }
  const soundtrack = soundtrackDone(run);
  const input = soundtrack ? assembleInput(view) : null;
  // Ready to assemble, or once the window jobs running are done: the windows still to render
  // (the last chunk's) go into the assembly's own request.
  const windows = soundtrack && windowsLeftToAssembly(view) ? [] : windowJobs(view);
  const seams = seamJobs(view);
  const decisions: Decision[] = windows.length || seams.length ? [{ kind: "insert", jobs: [...windows, ...seams] }] : [];
  if (lastChunkDone) decisions.push({ kind: "phase", phase: "stitching" });
  if (input) decisions.push({ kind: "insert", jobs: [{ id: "mux", kind: "mux", beat: null, idx: 0, input }] }, { kind: "phase", phase: "adding_music" });
  return decisions;
}

/** Every chunk rendered (and, for burned captions, the cues timed) and no stitch yet: the stitch, with the chunks in order. */
function stitchWhenReady(run: PipelineView): Decision[] {
  if (find(run, "stitch")) return [];
  const chunks = run.jobs.filter((j) => j.kind === "chunk");
  if (chunks.length === 0 || chunks.some((c) => c.status !== "done")) return [];
  if (burnsCaptions(run) && !soundtrackDone(run)) return [];
  const ordered = [...chunks].sort((a, b) => a.idx - b.idx);
  const cues = burnsCaptions(run) ? outputOf<SoundtrackOutput>(find(run, "soundtrack")!).voiceover?.cues ?? [] : [];
  const input = { chunks: ordered.map((c) => JSON.parse(c.input) as ChunkPlan), outputs: ordered.map((c) => outputOf<unknown>(c)), cues };
  return [
    { kind: "insert", jobs: [{ id: "stitch", kind: "stitch", beat: null, idx: 0, input }] },
    { kind: "phase", phase: "stitching" },
  ];
}

/** The music and every voice line are done, and no mix yet: the soundtrack mix, with each line where its speech is stored. */
function mixWhenReady(run: PipelineView): Decision[] {
  if (find(run, "soundtrack") || !run.spec || spokenLines(run.spec).length === 0) return [];
  const voices = run.jobs.filter((j) => j.kind === "voice");
  if (find(run, "music")?.status !== "done" || voices.length === 0 || voices.some((v) => v.status !== "done")) return [];
  const phrases = [...voices].sort((a, b) => a.idx - b.idx).map((v) => outputOf<VoiceOutput>(v));
  return [{ kind: "insert", jobs: [{ ...soundtrackMixJob(), input: { music: outputOf<MusicSource>(find(run, "music")!), phrases } satisfies SoundtrackInput }] }];
}

/** The stitched video and the soundtrack are both done, and no mux yet: the mux. */
function muxWhenReady(run: PipelineView): Decision[] {
  if (find(run, "mux") || find(run, "stitch")?.status !== "done" || !soundtrackDone(run)) return [];
  return [{ kind: "insert", jobs: [{ id: "mux", kind: "mux", beat: null, idx: 0, input: {} }] }];
}

/**
 * The run's assembly, fixed when its references settle (the overlays job is inserted with the
 * storyboard, or not): `ASSEMBLY` changed by a deploy mid-run must not stitch after all the
 * chunks whose normalize passes already drew the decorations, which would draw them twice.
 */
function assemblyOf(run: PipelineView, settings: PipelineSettings): PipelineSettings["assembly"] {
  if (find(run, OVERLAYS_JOB)) return "progressive";
  return run.jobs.some((j) => j.kind === "storyboard") ? "after_all" : settings.assembly;
}

/** What may follow a finished part of the soundtrack (music, a voice line, the mix). */
function afterSoundtrackPart(run: PipelineView, settings: PipelineSettings): Decision[] {
  if (assemblyOf(run, settings) === "progressive") return [...mixWhenReady(run), ...assembleWhenReady(run)];
  return [...mixWhenReady(run), ...stitchWhenReady(run), ...muxWhenReady(run)];
}

export const NEXT: Record<JobKind, Next> = {
  plan(finished, run, settings) {
    const output = outputOf<PlanOutput>(finished);
    const spec = VideoSpec.parse(output.spec);
    const chunkPlan = planChunks(spec, { maxChunkFrames: settings.maxChunkFrames });
    const stored: Decision = { kind: "store_plan", spec, chunkPlan, costEstimate: output.cost_estimate, notes: output.events ?? [] };
    const cap = run.request.max_cost_usd;
    if (cap && output.cost_estimate.total_usd > cap) {
      return [stored, { kind: "end", status: "failed", error: `the planned ad is estimated at $${output.cost_estimate.total_usd.toFixed(2)}, over max_cost_usd $${cap.toFixed(2)}` }];
    }
    return [
      stored,
      { kind: "load_priors" },
      // Music and the voice lines depend only on the spec: they run alongside everything else, off the critical path.
      { kind: "insert", jobs: [...referenceJobs(run.request), ...soundtrackJobs(spec)] },
      { kind: "phase", phase: "generating_references" },
    ];
  },

  /**
   * A reference is done, or failed every attempt (RUN_GOES_ON_WITHOUT): once all three are
   * settled, the storyboard starts with the references there are (SPEC §5.7) — two, one, or
   * none, when the storyboard sets the look — and the context says which are missing.
   */
  reference(finished, run, settings) {
    const missingOf = (job: WorkJob) => missingReference(ReferenceJobInput.parse(JSON.parse(job.input)), job.error);
    const missed: Decision[] = finished.status === "failed" ? [{ kind: "warning", message: missingReferenceMessage(missingOf(finished)), jobId: finished.id }] : [];
    const jobs = run.jobs.filter((j) => j.kind === "reference");
    if (jobs.some((j) => j.status !== "done" && j.status !== "failed")) return missed;
    const references = jobs
      .filter((j) => j.status === "done")
      .map((j) => outputOf<ReferenceOutput>(j))
      .sort((a, b) => a.index - b.index);
    const missing = jobs.filter((j) => j.status === "failed").map(missingOf).sort((a, b) => a.index - b.index);
    const context = buildConsistencyContext(
      references.map((r) => ({ type: r.type, analysis: r.analysis })),
      run.spec!,
      missing.map((m) => m.type),
    );
    // Progressive assembly renders the copy's layers now, off the critical path (the logo is a reference).
    const overlays: NewJob[] = settings.assembly === "progressive" ? [{ id: OVERLAYS_JOB, kind: "stitch", beat: null, idx: 0, input: {} }] : [];
    return [
      ...missed,
      { kind: "references_ready", references, missing, context },
      { kind: "insert", jobs: [...storyboardJobs(run.spec!), ...overlays] },
      { kind: "phase", phase: "storyboarding" },
    ];
  },

  storyboard(_finished, run) {
    if (!allDone(run.jobs, "storyboard")) return [];
    // The first chunk of every beat is ready at once; each later one waits for its previous chunk's last frame.
    return [
      { kind: "insert", jobs: chunkJobs(run.chunkPlan!) },
      { kind: "phase", phase: "generating_chunks" },
    ];
  },

  chunk(finished, run, settings) {
    const chunk = outputOf<ChunkOutput>(finished);
    const drift: Decision[] =
      chunk.reference_drift !== null && chunk.reference_drift > settings.consistencyDriftThreshold
        ? [{ kind: "warning", message: `${finished.id}: colours drifted from the references (ΔE2000 ${chunk.reference_drift})`, jobId: finished.id }]
        : [];
    // Usually released when the last frame was published; a chunk done in one step releases them now.
    const release: Decision[] = [...drift, { kind: "release", after: finished.id }];
    return [...release, ...(assemblyOf(run, settings) === "progressive" ? assembleWhenReady(run, allDone(run.jobs, "chunk")) : stitchWhenReady(run))];
  },

  music(_finished, run, settings) {
    return afterSoundtrackPart(run, settings);
  },

  voice(_finished, run, settings) {
    return afterSoundtrackPart(run, settings);
  },

  soundtrack(_finished, run, settings) {
    return afterSoundtrackPart(run, settings);
  },

  stitch(finished, run) {
    // Any part of a progressive assembly (the overlays, a window, a seam measure), else the one-shot stitch.
    if (finished.id !== "stitch") return assembleWhenReady(run);
    return [{ kind: "phase", phase: "adding_music" }, ...muxWhenReady(run)];
  },

  mux(finished, run) {
    // A progressive assembly ends once its last seams are measured too.
    if ((JSON.parse(finished.input) as { assemble?: boolean }).assemble) return assembleWhenReady(run);
    return [{ kind: "end", status: "complete", error: null }];
  },
};

/**
 * Jobs the video goes on without once they have failed every attempt: a reference image
 * (SPEC §5.7, seed 004: "do not fail entire generation"). Their `NEXT` decides what follows a
 * failed job as it does a done one. Any other job out of attempts fails the video.
 */
export const RUN_GOES_ON_WITHOUT: readonly JobKind[] = ["reference"];

/** What follows from `finished` being done (or, for RUN_GOES_ON_WITHOUT kinds, failed for good). */
export function decideAfter(finished: JobRow, run: PipelineView, settings: PipelineSettings): Decision[] {
  return NEXT[finished.kind](finished, run, settings);
}

/**
 * A chunk's ingest published its last frame: the next chunk of its beat may start, re-anchored
 * if this chunk drifted past the threshold (docs/SEAMS.md, "Drift correction"). Decided here,
 * before the release, because the next chunk starts from this frame.
 */
export function decideOnPublish(published: JobRow, lastFrame: ChunkLastFrame, run: PipelineView, settings: PublishSettings): Decision[] {
  const next = run.jobs.find((j) => j.depends_on === published.id && j.kind === "chunk");
  if (published.kind !== "chunk" || !next || !run.spec) return [{ kind: "release", after: published.id }];
  const references = run.jobs.filter((j) => j.kind === "reference" && j.status === "done").map((j) => outputOf<ReferenceOutput>(j));
  const correction = driftCorrection(JSON.parse(published.input) as ChunkPlan, JSON.parse(next.input) as ChunkPlan, referenceDrift(lastFrame.palette, references), {
    threshold: settings.consistencyDriftThreshold,
    strategy: run.request.conditioning ?? settings.conditioning,
    endFrames: acceptsEndImage(settings.models.video),
    fps: run.spec.fps,
  });
  return [
    ...(correction ? [{ kind: "drift_correction", jobId: next.id, correction } as const] : []),
    { kind: "release", after: published.id, input: nextChunkInput(JSON.parse(next.input) as ChunkPlan, correction) },
  ];
}

/**
 * Which ready jobs to send now. Paid jobs (those that make a prediction) take one of the
 * video's `slots` each; others always go. The main path's phase gates (references, storyboard
 * frames) go first; then the soundtrack's parts (music, voice lines), which run beside it but
 * must not wait behind every chunk; then chunks, longest chain first: when slots are short, a
 * chunk with more of its beat still behind it goes before one with less (list scheduling by
 * critical path), so the longest beat does not start last.
 */
export function chooseDispatch(ready: readonly JobRow[], chunks: readonly Pick<JobRow, "beat" | "idx">[], paid: (kind: JobKind) => boolean, slots: number): JobRow[] {
  const rank = (job: JobRow) => (job.kind === "chunk" ? 2 : job.kind === "music" || job.kind === "voice" ? 1 : 0);
  const chainLeft = (job: JobRow) => (job.kind === "chunk" ? chunks.filter((c) => c.beat === job.beat && c.idx >= job.idx).length : 0);
  const ordered = [...ready].sort((a, b) => rank(a) - rank(b) || chainLeft(b) - chainLeft(a));
  const chosen: JobRow[] = [];
  let free = slots;
  for (const job of ordered) {
    if (paid(job.kind)) {
      if (free <= 0) continue;
      free--;
    }
    chosen.push(job);
  }
  return chosen;
}
