import { spokenLines } from "../../contracts/spec.ts";
import { OVERLAYS_JOB } from "../steps/assembly.ts";
import type { JobRow } from "./jobs.ts";
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

/**
 * The decorations a chunk's normalize pass draws are known (consumer-protocol.ts hands them to
 * the claim): the layers rendered and, for burned captions on a voiced ad, the soundtrack mixed.
 */
export function decorationsKnown(run: Pick<RunContext, "jobs" | "state">): boolean {
  const spec = run.state()?.spec;
  if (!spec || run.jobs.get(OVERLAYS_JOB)?.status !== "done") return false;
  const voiced = spec.copy.captions === "burned" && spokenLines(spec).length > 0;
  return !voiced || run.jobs.get("soundtrack")?.status === "done";
}

/**
 * `job` is a progressive run's last chunk to be normalized (every other chunk done) and the
 * decorations it would draw are not known yet. A run stitching after all (no overlays job) never
 * parks: its stitch draws every decoration.
 */
export function awaitsDecorations(run: Pick<RunContext, "jobs" | "state">, job: JobRow): boolean {
  if (job.kind !== "chunk" || !run.jobs.get(OVERLAYS_JOB) || decorationsKnown(run)) return false;
  return run.jobs.list("kind = 'chunk'").every((c) => c.id === job.id || c.status === "done");
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
