import type { JobRow } from "./jobs.ts";
import type { RunContext } from "./types.ts";

/**
 * Normalize passes media-node refused busy, waiting for an encode slot. A refused pass goes back
 * on the media queue after the retry delay (consumer-protocol.ts `deferStep`); meanwhile the
 * passes that were admitted finish, and their slots stood idle until the delayed messages came
 * back (locally also until the queue's batch in flight ended): at 3 s latency the chunk phase's
 * last pass waited 3.5 s this way for 1.2 s of media-node's work. So a consumer that reports a
 * pass done (a slot just freed) is handed the longest-waiting refused pass, claimed for it; the
 * delayed message of a pass handed so is stale when it comes, and its claim is refused.
 *
 * Kept in the object's memory only, like parked passes (decorations-wait.ts): an object that
 * forgets them (evicted, restarted) only lets the delayed message run the pass as before; if the
 * handed consumer runs it too, the first report wins, as with any repeated delivery.
 */

interface Passes {
  /** Refused, their delayed message on the queue: job id → attempt, oldest first. */
  waiting: Map<string, number>;
  /** Handed to a consumer before their delayed message came: that message is stale. */
  handed: Map<string, number>;
}

const passesOfRun = new WeakMap<RunContext, Passes>();

function passesOf(run: RunContext): Passes {
  let passes = passesOfRun.get(run);
  if (!passes) passesOfRun.set(run, (passes = { waiting: new Map(), handed: new Map() }));
  return passes;
}

/** `job`'s pass was refused busy and sent again with a delay. */
export function passRefused(run: RunContext, job: Pick<JobRow, "id" | "attempt">): void {
  const { waiting } = passesOf(run);
  waiting.delete(job.id);
  waiting.set(job.id, job.attempt);
}

/**
 * A message brought `job`'s pass to a consumer: false when the pass was handed to another
 * consumer since that message was sent (the claim is refused as stale).
 */
export function messageStillDue(run: RunContext, job: Pick<JobRow, "id" | "attempt">): boolean {
  const passes = passesOfRun.get(run);
  if (!passes) return true;
  if (passes.handed.get(job.id) === job.attempt) {
    passes.handed.delete(job.id);
    return false;
  }
  passes.waiting.delete(job.id);
  return true;
}

/** The refused pass that has waited longest and still may run (`runnable`), taken for a consumer whose slot just freed; null when none is. */
export function takeWaitingPass(run: RunContext, runnable: (job: JobRow) => boolean): JobRow | null {
  const passes = passesOfRun.get(run);
  if (!passes) return null;
  for (const [id, attempt] of passes.waiting) {
    passes.waiting.delete(id);
    const job = run.jobs.get(id);
    if (!job || job.attempt !== attempt || job.status !== "normalizing" || !runnable(job)) continue;
    passes.handed.set(id, attempt);
    return job;
  }
  return null;
}
