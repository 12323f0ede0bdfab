import type { Prediction } from "../../contracts/prediction.ts";
import { limiterFor } from "../auth/limiter.ts";
import { loadConfig } from "../config.ts";
import { workerLog } from "../log.ts";
import { MediaNodeError } from "../media/media-node.ts";
import { ProviderError } from "../providers/client.ts";
import { findPredictionByWebhook } from "../providers/lookup.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { STEPS } from "../steps/registry.ts";
import { type ClaimedJob, depsFor, forQuality, PermanentError, type StepDeps, stepDeps } from "../steps/step.ts";
import { type LeaseHolder, startHeartbeat } from "./lease-heartbeat.ts";
import { JobMessage } from "./messages.ts";

/** Queue deliveries of one message before its job attempt is given up as failed. */
const DELIVERIES_PER_ATTEMPT = 4;

/** Cloudflare Queues accepts retry delays of up to 12 hours. */
const MAX_DELAY_SECONDS = 12 * 3600;

function runFor(env: Env, videoId: string) {
  return env.VIDEO_RUN.get(env.VIDEO_RUN.idFromName(videoId));
}

/**
 * Transient trouble (network, 5xx, 429: media-node's `passing`, media/media-node.ts) is retried by
 * the queue; anything else fails the attempt, a refusal of media-node's for good — except a file a
 * model made (`onModelOutput`: a prediction's output, in its ingest or pass) that media-node
 * refused as unusable. That file is the model's doing, not the request's: the same delivery would
 * be refused again, but a new attempt makes a new prediction (the job's attempts, and the cost
 * cap, bound how many), where failing for good would end the video on one bad render.
 */
function classify(error: unknown, onModelOutput = false): { retryable: boolean; retryAfterSeconds?: number; permanent: boolean } {
  if (error instanceof ProviderError) return { retryable: error.retryable, retryAfterSeconds: error.retryAfterSeconds, permanent: false };
  if (error instanceof MediaNodeError) return { retryable: error.retryable, permanent: !error.retryable && !(onModelOutput && error.fault === "content") };
  if (error instanceof PermanentError) return { retryable: false, permanent: true };
  return { retryable: true, permanent: false };
}

/**
 * How long the queue holds a message before its next delivery: exponential back-off from
 * 2 s, but never sooner than a provider's Retry-After asked.
 */
export function retryDelaySeconds(deliveries: number, retryAfterSeconds?: number): number {
  const backoff = Math.min(60, 2 * 2 ** Math.max(0, deliveries - 1));
  return Math.min(MAX_DELAY_SECONDS, Math.max(backoff, Math.ceil(retryAfterSeconds ?? 0)));
}

export interface PredictOutcome {
  model: string;
  input: Record<string, unknown>;
  estimateUsd: number;
}

/**
 * Create the prediction a step asked for, at most once per job attempt: the run's guard lets
 * one consumer through, and after a create that failed without an answer the provider's
 * list is searched for it before anything is created again.
 */
export async function createPrediction(deps: StepDeps, claim: ClaimedJob, outcome: PredictOutcome): Promise<void> {
  const run = runFor(deps.env, claim.video.video_id);
  const { job } = claim;
  const gate = await run.beginPrediction(job.id, job.attempt, outcome.estimateUsd, outcome.model);
  if (!gate.proceed) {
    deps.log.info("prediction.skipped", { reason: gate.reason });
    return;
  }
  const wait = await createTurn(deps);
  if (wait > 0) {
    deps.log.info("prediction.deferred", { wait_s: wait });
    await run.defer(job.id, job.attempt, wait);
    return;
  }
  const webhook = await webhookUrl(deps.config, claim.video.video_id, job.id, job.attempt);
  let prediction: Prediction;
  try {
    if (gate.lookupSince !== undefined) {
      const found = await findPredictionByWebhook(deps.provider, webhook, gate.lookupSince);
      if (found.kind === "found") {
        deps.log.info("prediction.found", { prediction_id: found.prediction.id, model: outcome.model, status: found.prediction.status });
        await run.predictionCreated(job.id, job.attempt, found.prediction, outcome.estimateUsd, outcome.model);
        return;
      }
      if (found.kind === "unknown") {
        // Creating again could pay twice; a new attempt has its own webhook URL, so a stray
        // prediction of this one is recognised, booked and cancelled if it ever reports.
        await run.predictionAborted(job.id, job.attempt, true);
        await run.fail(job.id, job.attempt, `an earlier create may have started a prediction and ${found.reason}`, true, "start");
        return;
      }
    }
    prediction = await deps.provider.create({ model: outcome.model, input: outcome.input, webhook, webhookEvents: ["start", "completed"] });
  } catch (error) {
    const provider = error instanceof ProviderError ? error : null;
    deps.log.warn("prediction.create_failed", { model: outcome.model, error, uncertain: provider?.uncertain ?? true, retry_after_s: provider?.retryAfterSeconds });
    await run.predictionAborted(job.id, job.attempt, provider?.uncertain ?? true, provider?.retryAfterSeconds ?? 0);
    throw error;
  }
  deps.log.info("prediction.created", { prediction_id: prediction.id, model: outcome.model, estimate_usd: outcome.estimateUsd });
  // Should recording fail, the attempt stays `creating` and the run's alarm finds this
  // prediction by its webhook URL: it is never created twice.
  await run.predictionCreated(job.id, job.attempt, prediction, outcome.estimateUsd, outcome.model);
}

/**
 * A turn at the deployment-wide create gate (`providerCreatesPerMinute`, one limiter object per
 * provider): 0 to go now, else seconds until there is room. Should the gate itself be
 * unreachable, the create goes ahead — the provider's own 429 is the backstop.
 */
async function createTurn(deps: StepDeps): Promise<number> {
  try {
    const verdict = await limiterFor(deps.env, `provider-creates:${deps.config.providerBaseUrl}`).take("creates", deps.config.providerCreatesPerMinute, 60_000);
    return verdict.ok ? 0 : verdict.retryAfterSeconds;
  } catch (error) {
    deps.log.warn("prediction.gate_unavailable", { error, note: "creating without the provider create gate" });
    return 0;
  }
}

/**
 * Runs a step while its heartbeat renews the job's lease. A refused renewal ends the wait at
 * once with `lost`: the step's work may still finish, but nothing of it is reported.
 */
async function whileLeaseHeld<T>(run: LeaseHolder, body: JobMessage, deps: StepDeps, work: () => Promise<T>): Promise<{ outcome: T; lost?: undefined } | { lost: string }> {
  const heartbeat = startHeartbeat(run, body, deps.config.jobLeaseMs, deps.log);
  try {
    const working = work();
    // Once the lease is lost nobody awaits the step: its failure must not go unhandled.
    working.catch(() => {});
    return await Promise.race([working.then((outcome) => ({ outcome })), heartbeat.lost.then((lost) => ({ lost }))]);
  } finally {
    heartbeat.stop();
  }
}

/** What a step's run needs of the delivery that brought it: a queue message, or a hand-off. */
interface Delivery {
  attempts: number;
  ack(): void;
  retry(options: { delaySeconds: number }): void | Promise<void>;
}

/** A step handed to this consumer (VideoRun.publish): retried by putting it on the queue. */
function handedOff(run: RunStub, body: JobMessage): Delivery {
  return { attempts: 1, ack: () => {}, retry: ({ delaySeconds }) => run.handBack(body.job_id, body.attempt, delaySeconds, body.step) };
}

type RunStub = ReturnType<typeof runFor>;

async function handle(batchDeps: StepDeps, message: Message<unknown>): Promise<void> {
  const parsed = JobMessage.safeParse(message.body);
  if (!parsed.success) {
    batchDeps.log.error("queue.message_malformed", { message_id: message.id, issue: parsed.error.issues[0]?.message });
    message.ack();
    return;
  }
  const body = parsed.data;
  const run = runFor(batchDeps.env, body.video_id);
  // RPC typing cannot express `unknown` fields; the shape is ClaimedJob by construction.
  const claim = (await run.claim(body.job_id, body.attempt, body.step)) as ClaimedJob | null;
  if (!claim) {
    batchDeps.log.debug("job.stale", { video_id: body.video_id, job_id: body.job_id, attempt: body.attempt, step: body.step });
    message.ack();
    return;
  }
  await runHandedOff(batchDeps, body.video_id, await runStep(batchDeps, run, body, claim, message, true), true);
}

/**
 * Runs a step claimed for this isolate without a queue message, and each step its report hands
 * over in turn: the next chunk of the beat, as its ingest published the frame it starts from; for
 * the last chunk to publish, its own normalize pass, which ends the phase (outside a queue batch,
 * every chunk's pass, after the next chunk's start); or the assembly's next piece, as a chunk or a
 * window it waited for is done (a window's done may hand off the final assembly in turn). A step
 * that cannot finish goes back on the queue (`handBack`). The webhook route runs a succeeded
 * prediction's ingest this way (api/webhooks.ts).
 */
export async function runHandedOff(deps: StepDeps, videoId: string, claimed: ClaimedJob | null, inBatch = false): Promise<void> {
  const run = runFor(deps.env, videoId);
  // Steps claimed to run after the one handed with them (`then`), and what it hands over, are done.
  const after: ClaimedJob[] = [];
  let next = claimed;
  while (next) {
    if (next.then) after.push(next.then);
    const handed: JobMessage = { video_id: videoId, job_id: next.job.id, attempt: next.job.attempt, step: next.step ?? "start" };
    next = (await runStep(deps, run, handed, next, handedOff(run, handed), inBatch)) ?? after.pop() ?? null;
  }
}

/**
 * Runs a claimed step and reports its outcome; answers the start step handed off to this consumer, if its report earned one.
 * `inBatch`: it runs within a queue batch, which it holds as long as it runs (the webhook's ingest holds none).
 */
async function runStep(batchDeps: StepDeps, run: RunStub, body: JobMessage, claim: ClaimedJob, message: Delivery, inBatch: boolean): Promise<ClaimedJob | null> {
  let videoDeps: StepDeps;
  try {
    videoDeps = forQuality(batchDeps, claim.video.request.quality);
  } catch (error) {
    // The deployment no longer has the video's provider (a draft, DRAFT_PROVIDER_URL since removed): no retry brings it back.
    batchDeps.log.error("job.provider_missing", { video_id: body.video_id, job_id: body.job_id, error });
    await run.fail(body.job_id, body.attempt, (error as Error).message, false, body.step);
    message.ack();
    return null;
  }
  const deps = depsFor(videoDeps, { video_id: body.video_id, job_id: body.job_id, kind: claim.job.kind, attempt: body.attempt, step: body.step, prediction_id: claim.job.prediction_id ?? undefined });
  const started = Date.now();
  deps.log.info("job.claimed", { delivery: message.attempts });
  const steps = STEPS[claim.job.kind];
  const step = steps[body.step];
  let next: ClaimedJob | null = null;
  try {
    if (!step) throw new PermanentError(`${claim.job.kind} has no ${body.step} step`);
    const worked = await whileLeaseHeld(run, body, deps, () => step(deps, claim));
    if (worked.lost !== undefined) {
      // The job moved on (another attempt, or it ended): this delivery's result is not reported.
      deps.log.warn("job.lease_lost", { reason: worked.lost, duration_ms: Date.now() - started });
      message.ack();
      return null;
    }
    const outcome = worked.outcome;
    if (outcome.kind === "done") next = (await run.jobDone(body.job_id, body.attempt, outcome.output, true)) as ClaimedJob | null;
    else if (outcome.kind === "publish") {
      if (body.step !== "ingest") throw new PermanentError(`${claim.job.kind}: only an ingest step may publish`);
      next = (await run.publish(body.job_id, body.attempt, outcome.output, inBatch ? true : "own_pass")) as ClaimedJob | null;
    } else await createPrediction(deps, claim, outcome);
    deps.log.info("job.step_done", { outcome: outcome.kind, duration_ms: Date.now() - started, ...(next ? { handed_off: next.job.id } : {}) });
    message.ack();
    return next;
  } catch (error) {
    if (error instanceof MediaNodeError && error.busyForSeconds !== undefined) {
      // Back-pressure, not a failure: like the provider's create gate, it spends nothing.
      const again = (await run.deferStep(body.job_id, body.attempt, body.step, error.busyForSeconds, claim.endsPhase === true)) as ClaimedJob | null;
      deps.log.info("job.step_deferred", { reason: error.message, delay_s: again ? 0 : error.busyForSeconds, duration_ms: Date.now() - started, ...(again ? { then: "sent again as the chunk phase's end" } : {}) });
      message.ack();
      return again;
    }
    const { retryable, retryAfterSeconds, permanent } = classify(error, body.step !== "start" && claim.prediction !== null);
    const reason = (error as Error).message ?? String(error);
    const failure = { error: reason, retryable, permanent, delivery: message.attempts, duration_ms: Date.now() - started };
    if (retryable && message.attempts < DELIVERIES_PER_ATTEMPT) {
      const delaySeconds = retryDelaySeconds(message.attempts, retryAfterSeconds);
      deps.log.warn("job.step_failed", { ...failure, then: "redelivered", delay_s: delaySeconds });
      await message.retry({ delaySeconds });
      return null;
    }
    // Out of deliveries, or not worth repeating: the attempt fails (the run decides whether to retry it).
    deps.log.warn("job.step_failed", { ...failure, then: "attempt failed" });
    await run.fail(body.job_id, body.attempt, reason, !permanent, body.step);
    message.ack();
    return null;
  }
}

/** `deps` defaults to the real outside world; tests pass a provider bound to an in-memory Replicate. */
export async function consumeJobs(batch: MessageBatch<unknown>, env: Env, deps: StepDeps = stepDeps(env, loadConfig(env))): Promise<void> {
  await Promise.all(batch.messages.map((message) => handle(deps, message)));
}

/**
 * Dead letters: a message the queue gave up on (the consumer itself kept crashing). Its
 * attempt is failed so the run retries it or fails with a stated reason — never hangs.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const log = workerLog(loadConfig(env).log);
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = JobMessage.safeParse(message.body);
      if (parsed.success) {
        const { video_id, job_id, attempt, step } = parsed.data;
        log.error("job.dead_lettered", { video_id, job_id, attempt, step, delivery: message.attempts });
        await runFor(env, video_id).fail(job_id, attempt, "the job's queue message was dead-lettered after repeated worker failures", true, step);
      } else log.error("queue.message_malformed", { message_id: message.id, queue: batch.queue, issue: parsed.error.issues[0]?.message });
      message.ack();
    }),
  );
}
