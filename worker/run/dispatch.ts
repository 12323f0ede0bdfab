import { type JobMessage, type QueueName, queueOf } from "../queue/messages.ts";
import { ACTIVE_STATUSES, type JobRow, PREDICTION_KINDS } from "./jobs.ts";
import { chooseDispatch } from "./pipeline.ts";
import { isEnded } from "./run-state.ts";
import type { HandOff, RunContext, RunRow } from "./types.ts";

/**
 * Sending work: ready jobs go to the queues, at most `maxPredictionsPerVideo` paid ones in
 * flight per video (pipeline.ts chooses which), each on the queue its step travels on.
 */

/** At most one chosen job is handed off (`handOff`), the first `handOff` takes. */
export async function dispatch(run: RunContext, handOff?: HandOff): Promise<JobRow | null> {
  // Asked after nearly every change of a run: the columns it needs, not whole rows with their long JSON texts.
  const row = run.sql.exec("SELECT video_id, status FROM run WHERE id = 1").toArray()[0] as Pick<RunRow, "video_id" | "status"> | undefined;
  if (!row || isEnded(row.status)) return null;
  const now = Date.now();
  const ready = run.jobs.list("status = 'ready' AND (not_before IS NULL OR not_before <= ?)", now);
  if (ready.length === 0) return null;
  const active = run.sql.exec(`SELECT kind FROM jobs WHERE status IN (${ACTIVE_STATUSES.map(() => "?").join(", ")})`, ...ACTIVE_STATUSES).toArray() as Pick<JobRow, "kind">[];
  const inFlight = active.filter((j) => PREDICTION_KINDS.includes(j.kind)).length;
  const chunks = run.sql.exec("SELECT beat, idx FROM jobs WHERE kind = 'chunk'").toArray() as Pick<JobRow, "beat" | "idx">[];
  const chosen = chooseDispatch(ready, chunks, (kind) => PREDICTION_KINDS.includes(kind), run.config.maxPredictionsPerVideo - inFlight);
  const messages: JobMessage[] = [];
  let handedOff: JobRow | null = null;
  const takes = handOff === undefined ? () => false : typeof handOff === "string" ? (job: JobRow) => job.depends_on === handOff : handOff;
  for (const job of chosen) {
    const leaseUntil = now + run.config.jobLeaseMs;
    if (!handedOff && takes(job) && (handedOff = run.jobs.apply("handOff", job, { leaseUntil }, now))) continue;
    if (run.jobs.apply("dispatch", job, { leaseUntil }, now)) messages.push({ video_id: row.video_id, job_id: job.id, attempt: job.attempt, step: "start" });
  }
  await run.send(messages);
  await run.scheduleAlarm();
  return handedOff;
}

/** Onto the queue each step travels on (queue/messages.ts: encodes and the soundtrack apart from hand-offs). */
export async function sendMessages(run: Pick<RunContext, "env" | "jobs">, messages: readonly JobMessage[], delaySeconds?: number): Promise<void> {
  const queues: Record<QueueName, Queue> = { jobs: run.env.JOBS, media: run.env.MEDIA_JOBS, audio: run.env.AUDIO_JOBS };
  for (const name of Object.keys(queues) as QueueName[]) {
    const mine = messages.filter((m) => queueOf(run.jobs.get(m.job_id)?.kind ?? "plan", m.step) === name);
    for (let i = 0; i < mine.length; i += 100) {
      await queues[name].sendBatch(mine.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })));
    }
  }
}
