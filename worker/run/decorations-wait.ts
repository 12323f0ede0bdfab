import type { Cue } from "../../contracts/media.ts";
import { type VideoSpec, spokenLines } from "../../contracts/spec.ts";
import { buildCues, placeLines } from "../../lib/voice-cues.ts";
import { OVERLAYS_JOB } from "../steps/assembly.ts";
import type { SoundtrackOutput, VoiceOutput } from "../steps/voice.ts";
import type { JobRow } from "./jobs.ts";
import { workRevision } from "./timings.ts";
import { workJob, workJobs } from "./work-jobs.ts";
import type { RunContext } from "./types.ts";

/**
 * The last chunk's normalize pass waits for the decorations (issue 16). A chunk normalized
 * before the decorations are known (the layers rendered; for burned captions the voice timed by
 * the soundtrack mix) is drawn plain, and the frames it should carry are re-encoded in windows;
 * for every chunk but the last those windows render while other chunks generate, but the last
 * chunk's are rendered after it, on the user's wait (a whole chunk under the end card and
 * captions: 110 frames, 0.9 s of the assembly in docs/BENCHMARKS.md). The final assembly needs
 * the soundtrack anyway, so the last chunk's pass waiting for it costs at most its own encode,
 * and usually nothing: waiting, the final file is ready one normalize pass after the soundtrack;
 * not waiting, one normalize pass plus the re-encoded windows after both.
 *
 * So a chunk's normalize step claimed while every other chunk is done and the decorations are not
 * known is parked: not claimed (its message is dropped as stale), its lease renewed, its id kept
 * here; when a job's done makes the decorations known, the parked step is sent again, and its
 * claim then hands it the decorations. Parking is kept in the object's memory only: an object
 * evicted meanwhile forgets it, and the step's lease running out sends it again (recovery.ts),
 * which parks it again or, the decorations known, runs it — a delay, never a stuck video. While
 * the object remembers it, its lease running out (a soundtrack slower than the lease) only
 * renews the lease: nothing was lost.
 */

/**
 * A parked step's lease: short, so an object that forgot it (evicted, or wrangler dev restarted)
 * sends it again within seconds, not a whole job lease later (the stall check ends a run after
 * two minutes without progress). While remembered, its expiry only renews it (recovery.ts).
 */
export const PARKED_LEASE_MS = 5_000;

/** Parked normalize steps of the object's runs, by run (a run context lives as long as its object). */
const parkedSteps = new WeakMap<RunContext, Map<string, number>>();

function parkedOf(run: RunContext): Map<string, number> {
  let parked = parkedSteps.get(run);
  if (!parked) parkedSteps.set(run, (parked = new Map()));
  return parked;
}

/** Captions burned into the picture: they need the voice's timing. */
export function burnsCaptions(spec: Pick<VideoSpec, "copy">): boolean {
  return spec.copy.captions === "burned" && spokenLines(spec).length > 0;
}

/**
 * The cues burned captions draw, once the voice is timed; null before. Timed from each line's
 * measured speech (its voice job's `speech_s`) as soon as every line is stored, placed by the
 * code the soundtrack mix places them with (lib/voice-cues.ts), so they are the mix's own cues,
 * seconds before the mix is done: the chunks normalized meanwhile draw their captions in their
 * own passes, and no window re-encodes them after the last chunk. Lines stored before they were
 * measured (a run older than the measure) are timed by the mix. A line that cannot fit is left to
 * the mix, which fails the video naming it. [] without burned captions.
 */
export function timedCues(spec: VideoSpec, jobs: readonly Pick<JobRow, "id" | "kind" | "status" | "output">[]): Cue[] | null {
  if (!burnsCaptions(spec)) return [];
  const mix = jobs.find((j) => j.id === "soundtrack");
  if (mix?.status === "done" && mix.output) return (JSON.parse(mix.output) as SoundtrackOutput).voiceover?.cues ?? [];
  const voices = jobs.filter((j) => j.kind === "voice");
  if (voices.length !== spokenLines(spec).length || voices.some((v) => v.status !== "done" || !v.output)) return null;
  const lines = voices.map((v) => JSON.parse(v.output!) as VoiceOutput).sort((a, b) => a.at_frame - b.at_frame);
  if (lines.some((l) => l.speech_s === undefined)) return null;
  const placed = placeLines(lines.map((l) => ({ text: l.text, atFrame: l.at_frame, speechS: l.speech_s! })), spec.total_frames, spec.fps);
  return Array.isArray(placed) ? buildCues(placed) : null;
}

/**
 * The decorations a chunk's normalize pass draws are known (consumer-protocol.ts hands them to
 * the claim): the layers rendered and, for burned captions on a voiced ad, the voice timed.
 */
export function decorationsKnown(run: Pick<RunContext, "jobs" | "state" | "sql">): boolean {
  const spec = run.state()?.spec;
  if (!spec || workJob(run.sql, OVERLAYS_JOB)?.status !== "done") return false;
  return !burnsCaptions(spec) || runCues(run) !== null;
}

/** runCues as last worked out in each run's storage, at its `work_revision`. */
const keptCues = new WeakMap<SqlStorage, { revision: number; cues: readonly Cue[] | null }>();

/**
 * timedCues of the run's jobs, worked out again only when the revision moved: every chunk's claim
 * and every job's done asks (whether the decorations are known), and each time would parse every
 * voice line's output and place the lines again. What it reads moves the revision: the spec (the
 * run's row), a job's status, and a job's output, which is written only with its status
 * (job-machine.ts). Shared by every caller: frozen.
 */
export function runCues(run: Pick<RunContext, "jobs" | "state" | "sql">): readonly Cue[] | null {
  const revision = workRevision(run.sql);
  const kept = keptCues.get(run.sql);
  if (kept?.revision === revision) return kept.cues;
  const spec = run.state()?.spec;
  const timed = !spec ? null : !burnsCaptions(spec) ? [] : timedCues(spec, workJobs(run.sql));
  const cues = timed && Object.freeze(timed.map((cue) => Object.freeze(cue)));
  keptCues.set(run.sql, { revision, cues });
  return cues;
}

/**
 * `job` is a progressive run's last chunk to be normalized (every other chunk done) and the
 * decorations it would draw are not known yet. A run stitching after all (no overlays job) never
 * parks: its stitch draws every decoration.
 */
export function awaitsDecorations(run: Pick<RunContext, "jobs" | "state" | "sql">, job: JobRow): boolean {
  if (job.kind !== "chunk" || !workJob(run.sql, OVERLAYS_JOB) || decorationsKnown(run)) return false;
  return workJobs(run.sql).every((c) => c.kind !== "chunk" || c.id === job.id || c.status === "done");
}

/** Park `job`'s normalize step: its lease renewed (the fallback that sends it again) and its attempt kept. */
export async function parkNormalize(run: RunContext, job: JobRow): Promise<void> {
  run.jobs.renewLease(job.id, Date.now() + PARKED_LEASE_MS, job.status);
  parkedOf(run).set(job.id, job.attempt);
  run.log.info("job.normalize_parked", { job_id: job.id, attempt: job.attempt, reason: "the decorations are not known yet" });
  await run.scheduleAlarm();
}

/** `job`'s normalize step is parked in this object (not lost: the recovery leaves it waiting, its lease renewed). */
export function isParked(run: RunContext, job: Pick<JobRow, "id" | "attempt" | "status">): boolean {
  return job.status === "normalizing" && parkedSteps.get(run)?.get(job.id) === job.attempt;
}

/** The decorations are known now: each parked normalize step still due is sent again. */
export async function resumeParked(run: RunContext): Promise<void> {
  const parked = parkedSteps.get(run);
  if (!parked?.size || !decorationsKnown(run) || run.ended()) return;
  const videoId = run.row()!.video_id;
  const due = [...parked].filter(([id, attempt]) => {
    const job = run.jobs.get(id);
    return job?.attempt === attempt && job.status === "normalizing";
  });
  parked.clear();
  await run.send(due.map(([job_id, attempt]) => ({ video_id: videoId, job_id, attempt, step: "normalize" as const })));
}
