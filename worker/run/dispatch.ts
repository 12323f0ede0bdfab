import { type JobMessage, queueOf } from "../queue/messages.ts";
import { ACTIVE_STATUSES, PREDICTION_KINDS } from "./jobs.ts";
import { chooseDispatch } from "./pipeline.ts";
import type { RunContext } from "./types.ts";

/**
 * Sending work: ready jobs go to the queues, at most `maxPredictionsPerVideo` paid ones in
 * flight per video (pipeline.ts chooses which), each on the queue its step travels on.
 */

export async function dispatch(run: RunContext): Promise<void> {
  const row = run.row();
  if (!row || run.ended()) return;
  const now = Date.now();
  const ready = run.jobs.list("status = 'ready' AND (not_before IS NULL OR not_before <= ?)", now);
  if (ready.length === 0) return;
  const inFlight = run.jobs.inStatus(ACTIVE_STATUSES).filter((j) => PREDICTION_KINDS.includes(j.kind)).length;
  const chosen = chooseDispatch(ready, run.jobs.list("kind = 'chunk'"), (kind) => PREDICTION_KINDS.includes(kind), run.config.maxPredictionsPerVideo - inFlight);
  const messages: JobMessage[] = [];
  for (const job of chosen) {
    if (run.jobs.apply("dispatch", job, { leaseUntil: now + run.config.jobLeaseMs }, now)) messages.push({ video_id: row.video_id, job_id: job.id, attempt: job.attempt, step: "start" });
  }
  await run.send(messages);
  await run.scheduleAlarm();
}

/** Onto the queue each step travels on (queue/messages.ts: encodes apart from hand-offs). */
export async function sendMessages(run: Pick<RunContext, "env" | "jobs">, messages: readonly JobMessage[], delaySeconds?: number): Promise<void> {
  const queues = { jobs: run.env.JOBS, media: run.env.MEDIA_JOBS };
  for (const name of ["jobs", "media"] as const) {
    const mine = messages.filter((m) => queueOf(run.jobs.get(m.job_id)?.kind ?? "plan", m.step) === name);
    for (let i = 0; i < mine.length; i += 100) {
      await queues[name].sendBatch(mine.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })));
    }
  }
}
