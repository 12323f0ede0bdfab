import { type Prediction, TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { findPredictionByWebhook, type PredictionLookup } from "../providers/lookup.ts";
import type { JobMessage, JobStep } from "../queue/messages.ts";
import { PARKED_LEASE_MS, isParked } from "./decorations-wait.ts";
import type { JobRow } from "./jobs.ts";
import { unsettledPredictions } from "./ledger.ts";
import { adopt, predictionUpdate, webhookFor } from "./predictions.ts";
import type { RunContext } from "./types.ts";

/**
 * What the run's alarm does besides delivering callbacks: it asks the provider about
 * predictions whose webhook is overdue, stops those past their deadline, and sends again the
 * work whose queue message or consumer was lost (a restart, a crash).
 */

/** Polling cadence once a prediction's webhook is overdue, and back-off when the provider cannot be reached. */
export const REPOLL_MS = 10_000;
/** The alarm fires at least this often while the run is open (the stall check). */
const ALARM_IDLE_MS = 30_000;

/** How long after its end a run keeps asking the provider about predictions it has not seen end. */
export const SETTLE_WINDOW_MS = 60 * 60 * 1000;

/** When the ended run must next ask about predictions still at their estimate, or null when none is (or it gave up). */
export function nextSettleAt(sql: SqlStorage, completedAt: number, now: number): number | null {
  if (now > completedAt + SETTLE_WINDOW_MS || unsettledPredictions(sql).length === 0) return null;
  return now + REPOLL_MS;
}

/**
 * After the end, each prediction the ledger still holds at its estimate (its cancel answered
 * before it stopped, and no webhook came) is asked for: an ended one is priced, so the final
 * total becomes exact; one still running is cancelled again, so nothing keeps billing.
 */
export async function settleAfterEnd(run: RunContext): Promise<void> {
  for (const open of unsettledPredictions(run.sql)) {
    let polled: Prediction;
    try {
      polled = await run.provider.get(open.prediction_id);
    } catch {
      continue; // asked again at the next alarm
    }
    if (TERMINAL_STATUSES.includes(polled.status)) await predictionUpdate(run, open.job_id, open.attempt, polled, null);
    else await run.cancelAtProvider([{ jobId: open.job_id, attempt: open.attempt, predictionId: open.prediction_id }]);
  }
  await run.syncIndex();
}

/** When the open run's alarm must next fire: the earliest poll, deadline, lease or deferred start. */
export function nextDueAt(sql: SqlStorage, callbackAt: number | null, now: number): number {
  const next = sql
    .exec(
      `SELECT MIN(t) AS t FROM (
         SELECT MIN(poll_at) AS t FROM jobs WHERE status = 'predicting'
         UNION ALL SELECT MIN(deadline_at) FROM jobs WHERE status = 'predicting'
         UNION ALL SELECT MIN(lease_until) FROM jobs WHERE lease_until IS NOT NULL
         UNION ALL SELECT MIN(not_before) FROM jobs WHERE status = 'ready' AND not_before IS NOT NULL)`,
    )
    .one().t as number | null;
  return Math.min(next ?? Number.POSITIVE_INFINITY, callbackAt ?? Number.POSITIVE_INFINITY, now + ALARM_IDLE_MS);
}

/**
 * Predictions whose webhook is overdue are asked for; one past its deadline is asked once
 * more (it may have finished unannounced), then cancelled and its attempt retried.
 */
export async function pollOverdue(run: RunContext, now: number): Promise<void> {
  const due = run.jobs.list("status = 'predicting' AND ((poll_at IS NOT NULL AND poll_at <= ?) OR (deadline_at IS NOT NULL AND deadline_at <= ?))", now, now);
  for (const job of due) {
    if (run.ended()) return;
    let polled: Prediction | null = null;
    try {
      polled = await run.provider.get(job.prediction_id!);
    } catch (error) {
      run.event("warning", { message: `polling ${job.id} (prediction ${job.prediction_id}) failed: ${(error as Error).message}` });
    }
    if (polled) await predictionUpdate(run, job.id, job.attempt, polled, null);
    const after = run.jobs.get(job.id);
    if (!after || after.status !== "predicting" || after.prediction_id !== job.prediction_id || after.attempt !== job.attempt) continue;
    if (after.deadline_at !== null && after.deadline_at <= now) {
      // The failure cancels the prediction at the provider before the next attempt starts.
      await run.fail(job.id, job.attempt, `prediction ${job.prediction_id} exceeded its ${Math.round(run.config.predictionDeadlineMs / 1000)} s deadline and was cancelled`, true);
      continue;
    }
    run.jobs.pollAt(job.id, now + Math.min(run.config.pollAfterMs, REPOLL_MS));
  }
}

/** Work whose message or consumer was lost (e.g. a restart): send it again, same attempt. */
export async function recoverLost(run: RunContext, now: number): Promise<void> {
  const videoId = run.row()!.video_id;
  const lost = run.jobs.list("status IN ('queued', 'running', 'ingesting', 'normalizing', 'creating') AND lease_until IS NOT NULL AND lease_until <= ?", now);
  const messages: JobMessage[] = [];
  for (const job of lost) {
    if (job.status === "creating") {
      await recoverCreation(run, job, now);
      continue;
    }
    const step: JobStep = job.status === "ingesting" ? "ingest" : job.status === "normalizing" ? "normalize" : "start";
    const leaseUntil = now + run.config.jobLeaseMs;
    // Waiting for the decorations (decorations-wait.ts), not lost: sent again when they are known.
    if (isParked(run, job)) {
      run.jobs.renewLease(job.id, now + PARKED_LEASE_MS, job.status);
      continue;
    }
    if (step === "start") run.jobs.apply("requeue", job, { leaseUntil }, now);
    else run.jobs.renewLease(job.id, leaseUntil, job.status);
    messages.push({ video_id: videoId, job_id: job.id, attempt: job.attempt, step });
  }
  if (messages.length && !run.ended()) {
    run.event("warning", { message: `re-sent ${messages.length} job(s) whose worker was lost: ${messages.map((m) => m.job_id).join(", ")}` });
    await run.send(messages);
  }
}

/**
 * A consumer vanished between deciding to create a prediction and recording it. Whether
 * the provider created it is settled by its prediction list (the webhook URL names this
 * attempt): found → adopted; surely absent → the same attempt starts again; unknowable →
 * a new attempt, and should the old one's prediction surface, its webhook gets it cancelled.
 */
async function recoverCreation(run: RunContext, job: JobRow, now: number): Promise<void> {
  const since = job.creating_since ?? job.updated_at;
  let lookup: PredictionLookup;
  try {
    lookup = await findPredictionByWebhook(run.provider, await webhookFor(run, job), since);
  } catch (error) {
    const reason = `could not list the provider's predictions: ${(error as Error).message}`;
    if (now - since > run.config.predictionDeadlineMs) {
      await run.fail(job.id, job.attempt, `consumer lost while creating the prediction; ${reason}`, true);
    } else {
      run.jobs.renewLease(job.id, now + REPOLL_MS, "creating");
      run.event("warning", { message: `${job.id}: ${reason}; asking again` });
    }
    return;
  }
  const fresh = run.jobs.get(job.id);
  if (!fresh || fresh.status !== "creating" || fresh.attempt !== job.attempt || run.ended()) return; // settled meanwhile
  switch (lookup.kind) {
    case "found":
      run.event("warning", { message: `${job.id}: adopted prediction ${lookup.prediction.id}, created by a consumer that was lost` });
      await adopt(run, fresh, lookup.prediction, fresh.estimate_usd ?? 0, fresh.model ?? lookup.prediction.model ?? "");
      return;
    case "absent":
      run.jobs.apply("recreate", fresh, { leaseUntil: now + run.config.jobLeaseMs }, now);
      run.event("warning", { message: `${job.id}: its consumer was lost before the prediction was created; starting the attempt again` });
      await run.send([{ video_id: run.row()!.video_id, job_id: job.id, attempt: job.attempt, step: "start" }]);
      return;
    case "unknown":
      await run.fail(job.id, job.attempt, `consumer lost while creating the prediction, and whether it exists is unknown (${lookup.reason})`, true);
  }
}
