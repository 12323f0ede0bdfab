import { type Prediction, TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { worstCase } from "../pricing/estimate.ts";
import { COST_PHASE_OF_KIND } from "../pricing/phases.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { queueOf } from "../queue/messages.ts";
import { describeJob, type JobRow, jobView } from "./jobs.ts";
import { bookActual, bookEstimate, costFields, exposure, ledgerEntries } from "./ledger.ts";
import { touchRun, updateProgress } from "./run-state.ts";
import { predictionEnded, predictionStarted } from "./timings.ts";
import type { PredictionGate, RunContext, Running } from "./types.ts";

/**
 * Which prediction each job attempt owns, and what every prediction costs. A prediction is
 * created at most once per attempt (the `creating` guard), adopted from whichever answer comes
 * first (the create call, its webhook, the provider's list), priced when it ends, and stopped
 * when nobody waits for it any more. Every prediction the run caused is in its ledger.
 */

export function webhookFor(run: Pick<RunContext, "config" | "row">, job: Pick<JobRow, "id" | "attempt">): Promise<string> {
  return webhookUrl(run.config, run.row()!.video_id, job.id, job.attempt);
}

/**
 * Idempotency guard before a paid prediction is created. Only one consumer at a time gets
 * `proceed` for an attempt; the attempt stays `creating` until the prediction is recorded,
 * so a redelivered message never creates a second one. The cost cap is checked here,
 * counting what is spent, what is running and what other consumers are about to create.
 */
export async function beginPrediction(run: RunContext, jobId: string, attempt: number, estimateUsd: number, model: string): Promise<PredictionGate> {
  const state = run.state();
  const job = run.jobs.get(jobId);
  if (!state || run.ended() || !job || job.attempt !== attempt) return { proceed: false, reason: "stale" };
  if (job.status === "creating") return { proceed: false, reason: "creating" };
  if (job.status !== "running") return { proceed: false, reason: "stale" };
  const cap = state.request.max_cost_usd ?? null;
  if (cap !== null) {
    // Committed: what ended cost, what runs at its worst case, what other consumers are starting.
    const deadlineS = run.config.predictionDeadlineMs / 1000;
    const running = exposure(ledgerEntries(run.sql), run.config, deadlineS);
    const starting = run.jobs.inStatus(["creating"]).reduce((sum, j) => sum + worstCase(run.config, j.model ?? "", j.estimate_usd ?? 0, deadlineS), 0);
    const needed = worstCase(run.config, model, estimateUsd, deadlineS);
    if (running + starting + needed > cap + 1e-9) {
      const committed = `$${(running + starting).toFixed(4)} spent or committed`;
      const price = needed > estimateUsd ? `estimated at $${estimateUsd.toFixed(4)}, billed by running time up to $${needed.toFixed(4)}` : `estimated at $${estimateUsd.toFixed(4)}`;
      await run.finish("failed", `max_cost_usd $${cap.toFixed(2)} reached (${committed}): ${describeJob(job, state.spec)} was not started, its prediction is ${price}`);
      return { proceed: false, reason: "cost cap" };
    }
  }
  const now = Date.now();
  run.jobs.apply("beginCreate", job, { model, estimateUsd, leaseUntil: now + run.config.jobLeaseMs }, now);
  await run.scheduleAlarm();
  return job.create_uncertain === 1 ? { proceed: true, lookupSince: job.creating_since ?? now } : { proceed: true };
}

/**
 * The deployment's create gate is full (`providerCreatesPerMinute`): the job gives its slot
 * back and is sent again once the gate has room. Not a failure, so no retry is used up.
 */
export async function deferCreate(run: RunContext, jobId: string, attempt: number, seconds: number): Promise<void> {
  if (run.ended()) return;
  const wait = Math.max(1, seconds);
  const job = run.jobs.apply("defer", { id: jobId, attempt }, { notBefore: Date.now() + wait * 1000 });
  if (!job) return;
  run.event("job", { job: jobView(job) });
  // Said out loud, so a waiting job does not look stuck.
  run.event("warning", { message: `${jobId} waits ${wait} s: the provider's ${run.config.providerCreatesPerMinute} prediction creates per minute are taken`, job_id: jobId });
  // No dispatch: the other ready jobs would meet the same full gate; the alarm sends them when it has room.
  await run.scheduleAlarm();
}

/**
 * Creating the prediction failed. `uncertain` when the provider may have created it anyway
 * (no answer, 5xx): the next try looks for it first instead of creating blindly.
 * `retryAfterSeconds` (a 429's Retry-After) holds the lease that long, so the alarm does not
 * re-send the job before the provider said it may be asked again.
 */
export async function createAborted(run: RunContext, jobId: string, attempt: number, uncertain: boolean, retryAfterSeconds = 0): Promise<void> {
  run.jobs.apply("abortCreate", { id: jobId, attempt }, { uncertain, leaseUntil: Date.now() + run.config.jobLeaseMs + retryAfterSeconds * 1000 });
  await run.scheduleAlarm();
}

export async function predictionCreated(run: RunContext, jobId: string, attempt: number, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
  const job = run.jobs.get(jobId);
  if (!job || !run.row()) return;
  const booking = { jobId, attempt, predictionId: prediction.id, phase: COST_PHASE_OF_KIND[job.kind], model, usd: estimateUsd };
  if (job.attempt === attempt && job.prediction_id === prediction.id) {
    // Its webhook came first and the run adopted it already.
    bookEstimate(run.sql, booking);
    return;
  }
  if (run.ended() || job.attempt !== attempt || job.status !== "creating") {
    // The job moved on (or the video ended) while the prediction was being created: it is
    // ours to pay for, so it is booked, and stopped before it costs more.
    bookEstimate(run.sql, booking);
    await run.cancelAtProvider([{ jobId, attempt, predictionId: prediction.id }]);
    // Should the cancel not be answered as final, the (perhaps ended) run's alarm asks again.
    await run.scheduleAlarm();
    await run.syncIndex();
    return;
  }
  await adopt(run, job, prediction, estimateUsd, model);
  await run.syncIndex();
}

/**
 * A prediction update, from a verified webhook or from polling. Repeated deliveries (same
 * `webhook-id`) and repeated updates (same prediction and status) are acted on once; late
 * and out-of-order ones change nothing but the ledger: only the current attempt's
 * prediction moves its job, and only while the job is waiting for it.
 */
export async function predictionUpdate(run: RunContext, jobId: string, attempt: number, prediction: Prediction, deliveryId: string | null, handOff = false): Promise<PredictionIntake> {
  if (deliveryId) {
    const fresh = run.sql.exec("INSERT INTO deliveries (id, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id", deliveryId, Date.now()).toArray().length > 0;
    if (!fresh) return { accepted: false };
  }
  const job = run.jobs.get(jobId);
  if (!job || !run.row()) return { accepted: false };
  if (run.sql.exec("SELECT 1 FROM prediction_updates WHERE prediction_id = ? AND status = ?", prediction.id, prediction.status).toArray().length > 0) return { accepted: false };
  const ended = run.ended();
  const terminal = TERMINAL_STATUSES.includes(prediction.status);
  const known = job.attempt === attempt && job.prediction_id === prediction.id;
  // While `creating` (or after a create that failed without an answer) the attempt has no
  // prediction id yet; a signed update for this very attempt names it.
  const adoptable =
    !ended && job.attempt === attempt && job.prediction_id === null && (job.status === "creating" || (job.create_uncertain === 1 && ["queued", "running"].includes(job.status)));

  if (adoptable) {
    // The provider's webhook beat the create call's answer: take the prediction now.
    if (prediction.webhook && prediction.webhook !== (await webhookFor(run, job))) return { accepted: false };
    markUpdate(run.sql, prediction);
    await adopt(run, job, prediction, job.estimate_usd ?? 0, job.model ?? prediction.model ?? "");
    await run.syncIndex();
    return { accepted: true };
  }

  markUpdate(run.sql, prediction);
  const fallback = { jobId, attempt, phase: COST_PHASE_OF_KIND[job.kind], model: job.model ?? prediction.model ?? "", usd: job.estimate_usd ?? 0 };
  if (!known || ended || job.status !== "predicting") {
    // Not what the job waits for: a finished one is priced, a running one is an orphan
    // (an abandoned attempt, a duplicate) and is stopped.
    run.log.info("prediction.stray", { job_id: jobId, kind: job.kind, attempt, prediction_id: prediction.id, status: prediction.status, job_attempt: job.attempt, job_status: job.status });
    if (terminal) bookActual(run.sql, run.config, prediction, fallback);
    else if (!known || ended) {
      bookEstimate(run.sql, { ...fallback, predictionId: prediction.id });
      await run.cancelAtProvider([{ jobId, attempt, predictionId: prediction.id }]);
      await run.scheduleAlarm();
    }
    await enforceCap(run);
    await run.syncIndex();
    return { accepted: false };
  }
  if (!terminal) {
    // The provider is talking to us: polling can wait.
    run.jobs.pollAt(jobId, Date.now() + run.config.pollAfterMs);
    await run.scheduleAlarm();
    return { accepted: true };
  }
  const handed = await settle(run, job, prediction, handOff);
  await run.syncIndex();
  return { accepted: true, ...(handed ? { handedIngest: true } : {}) };
}

/** An update acted on or not; `handedIngest`: the job's ingest step is the caller's to run (settle's `handOff`). */
export interface PredictionIntake {
  accepted: boolean;
  handedIngest?: boolean;
}

/** The job's attempt now owns this prediction: book its estimate and wait for its outcome. */
export async function adopt(run: RunContext, job: JobRow, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
  const now = Date.now();
  const adopted = run.jobs.apply("adopt", job, { predictionId: prediction.id, model, estimateUsd, pollAt: now + run.config.pollAfterMs, deadlineAt: now + run.config.predictionDeadlineMs }, now);
  if (!adopted) return;
  predictionStarted(run.sql, job.id, job.attempt, model, now);
  bookEstimate(run.sql, { jobId: job.id, attempt: job.attempt, predictionId: prediction.id, phase: COST_PHASE_OF_KIND[job.kind], model, usd: estimateUsd });
  run.event("job", { job: jobView(adopted), prediction_id: prediction.id, ...costFields(run.costs()) });
  await run.scheduleAlarm();
  if (TERMINAL_STATUSES.includes(prediction.status)) {
    markUpdate(run.sql, prediction);
    await settle(run, adopted, prediction);
  }
}

/**
 * The awaited prediction ended: price it, then ingest its output or fail the attempt. With
 * `handOff` (the webhook that brought the news offers to run the ingest itself) an ingest that
 * would travel on the jobs queue is not sent: true answers that the caller now holds it, under
 * the lease `predicted` sets — should the caller vanish, the lease lapses and the alarm sends
 * the queue message (recovery.ts), and a caller that fails hands it back to the queue.
 */
async function settle(run: RunContext, job: JobRow, prediction: Prediction, handOff = false): Promise<boolean> {
  const usd = bookActual(run.sql, run.config, prediction, { jobId: job.id, attempt: job.attempt, phase: COST_PHASE_OF_KIND[job.kind], model: job.model ?? "", usd: job.estimate_usd ?? 0 });
  run.log[prediction.status === "succeeded" ? "info" : "warn"]("prediction.ended", {
    job_id: job.id,
    kind: job.kind,
    attempt: job.attempt,
    prediction_id: prediction.id,
    model: job.model ?? undefined,
    status: prediction.status,
    usd,
    predict_time_s: prediction.metrics?.predict_time,
    error: prediction.status === "failed" ? describeError(prediction.error) : undefined,
  });
  if (await enforceCap(run)) return false;
  if (prediction.status !== "succeeded") {
    const reason = prediction.status === "failed" ? `prediction ${prediction.id} failed: ${describeError(prediction.error)}` : `prediction ${prediction.id} ${prediction.status}`;
    await run.fail(job.id, job.attempt, reason, true);
    return false;
  }
  const now = Date.now();
  predictionEnded(run.sql, job.id, job.attempt, prediction, now);
  const ingesting = run.jobs.apply("predicted", job, { output: { prediction }, leaseUntil: now + run.config.jobLeaseMs }, now);
  if (!ingesting) return false;
  touchRun(run.sql, now);
  run.event("job", { job: jobView(ingesting), prediction_usd: usd, ...costFields(run.costs()) });
  await updateProgress(run);
  // Only a short ingest is handed over (one on the jobs queue: a chunk's last frame, an image's
  // copy); a long one (the music's preparation) keeps its own queue.
  const handed = handOff && queueOf(job.kind, "ingest") === "jobs";
  if (!handed) await run.send([{ video_id: run.row()!.video_id, job_id: job.id, attempt: job.attempt, step: "ingest" }]);
  await run.scheduleAlarm();
  return handed;
}

export function markUpdate(sql: SqlStorage, prediction: Prediction): void {
  sql.exec("INSERT OR IGNORE INTO prediction_updates (prediction_id, status, at) VALUES (?, ?, ?)", prediction.id, prediction.status, Date.now());
}

/** The attempt's prediction runs at the provider and has not been priced as ended. */
export function stillRunning(sql: SqlStorage, job: JobRow): boolean {
  if (job.status !== "predicting" || !job.prediction_id) return false;
  return sql.exec("SELECT 1 FROM ledger WHERE prediction_id = ? AND kind = 'actual'", job.prediction_id).toArray().length === 0;
}

/**
 * Stop predictions at the provider. A cancel answer that is already final is priced at
 * once (a GPU-time model bills the seconds it ran); otherwise its `canceled` webhook is.
 */
export async function cancelAtProvider(run: Pick<RunContext, "sql" | "config" | "provider" | "jobs" | "event" | "log">, targets: readonly Running[]): Promise<void> {
  if (targets.length === 0) return;
  const results = await Promise.allSettled(targets.map((t) => run.provider.cancel(t.predictionId)));
  results.forEach((result, i) => {
    const target = targets[i]!;
    if (result.status === "rejected") {
      run.log.warn("prediction.cancel_failed", { job_id: target.jobId, attempt: target.attempt, prediction_id: target.predictionId, error: result.reason });
      run.event("warning", { message: `cancelling prediction ${target.predictionId} failed: ${(result.reason as Error).message}` });
      return;
    }
    run.log.info("prediction.cancelled", { job_id: target.jobId, attempt: target.attempt, prediction_id: target.predictionId, status: result.value.status });
    if (!TERMINAL_STATUSES.includes(result.value.status)) return;
    const job = run.jobs.get(target.jobId);
    markUpdate(run.sql, result.value);
    bookActual(run.sql, run.config, result.value, {
      jobId: target.jobId,
      attempt: target.attempt,
      phase: job ? COST_PHASE_OF_KIND[job.kind] : "unknown",
      model: job?.model ?? result.value.model ?? "",
      usd: job?.estimate_usd ?? 0,
    });
  });
}

/**
 * Models billed by running time can end above their estimate. Should the ledger ever pass
 * max_cost_usd, the video stops at once rather than spend more.
 */
export async function enforceCap(run: RunContext): Promise<boolean> {
  const state = run.state();
  const cap = state?.request.max_cost_usd;
  if (!state || !cap || run.ended()) return false;
  // What ended and what still runs at its estimate: the cap is about what the video will cost.
  const { spent, pending } = run.costs();
  const total = spent + pending;
  if (total <= cap + 1e-9) return false;
  await run.finish("failed", `max_cost_usd $${cap.toFixed(2)} exceeded: predictions billed by running time brought the cost to $${total.toFixed(4)}`);
  return true;
}

function describeError(error: unknown): string {
  if (typeof error === "string") return error.slice(0, 500);
  if (error === null || error === undefined) return "no error message";
  return JSON.stringify(error).slice(0, 500);
}
