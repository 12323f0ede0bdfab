import type { JobStep } from "../queue/messages.ts";
import { advance } from "./advance.ts";
import { ENDED_JOB } from "./job-machine.ts";
import { describeJob, type JobStatus, jobView } from "./jobs.ts";
import { RUN_GOES_ON_WITHOUT } from "./pipeline.ts";
import { stillRunning } from "./predictions.ts";
import type { RunContext, Running } from "./types.ts";

/**
 * A job's attempt failed. Retryable failures get a new attempt while attempts remain (counted
 * from the job's `retry_base`); every reason is kept in the job's `errors`; a job out of
 * attempts fails the video, naming the job and the last reason.
 */

/** Where a job must stand for a report about each consumer step to still concern it. */
const STEP_STATUSES: Record<JobStep, readonly JobStatus[]> = {
  start: ["queued", "running"],
  ingest: ["ingesting"],
  normalize: ["normalizing"],
};

/** `step` names what the reporting consumer was doing: a report about a step the job has already moved past changes nothing. */
export async function failAttempt(run: RunContext, jobId: string, attempt: number, reason: string, retryable: boolean, step?: JobStep): Promise<void> {
  const job = run.jobs.get(jobId);
  const state = run.state();
  if (!job || !state || job.attempt !== attempt || ENDED_JOB.includes(job.status) || run.ended()) return;
  if (step && !STEP_STATUSES[step].includes(job.status)) return;
  // A prediction still running when its attempt is given up is stopped (one that ended has its actual cost booked).
  const abandoned: Running[] = stillRunning(run.sql, job) ? [{ jobId, attempt, predictionId: job.prediction_id! }] : [];
  // Chunks already started from this attempt's published last frame start again from the next one's.
  if (job.status === "normalizing") abandoned.push(...restartDependents(run, jobId));
  if (retryable && attempt - job.retry_base < run.config.maxAttempts) {
    const next = run.jobs.apply("newAttempt", job, { to: "ready", reason, retries: "counted" });
    if (next) run.event("job_retry", { job: jobView(next), reason });
    // A prediction that is given up on must not keep running (and billing).
    await run.cancelAtProvider(abandoned);
    await run.dispatch();
    await run.syncIndex();
    return;
  }
  const failed = run.jobs.apply("giveUp", job, { reason });
  if (failed) run.event("job", { job: jobView(failed) });
  await run.cancelAtProvider(abandoned);
  if (failed && RUN_GOES_ON_WITHOUT.includes(job.kind)) {
    // The pipeline decides what follows, as it does for a job that is done.
    await advance(run, failed);
    await run.syncIndex();
    return;
  }
  const used = attempt - job.retry_base;
  await run.finish("failed", `${describeJob(job, state.spec)} failed after ${used} attempt${used === 1 ? "" : "s"}: ${reason}`);
}

/**
 * The job is rendered again, so whatever started from its published output must start again
 * too, from the new one: dependents go back to waiting with a fresh attempt that does not
 * count against their retries (recursively down the beat). Their running predictions are
 * returned to be stopped.
 */
export function restartDependents(run: RunContext, jobId: string): Running[] {
  const stopped: Running[] = [];
  for (const next of run.jobs.list("depends_on = ? AND status NOT IN ('waiting', 'failed', 'cancelled')", jobId)) {
    if (stillRunning(run.sql, next)) stopped.push({ jobId: next.id, attempt: next.attempt, predictionId: next.prediction_id! });
    const reason = `${jobId} is rendered again, so this chunk starts again from its new last frame`;
    const restarted = run.jobs.apply("newAttempt", next, { to: "waiting", reason, retries: "free" });
    if (restarted) run.event("job_retry", { job: jobView(restarted), reason });
    stopped.push(...restartDependents(run, next.id));
  }
  return stopped;
}
