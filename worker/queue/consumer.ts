import { chunkSteps } from "../chunks/job.ts";
import { loadConfig } from "../config.ts";
import { MediaNodeError } from "../media/media-node.ts";
import { musicSteps } from "../music/job.ts";
import { planSteps } from "../planning/job.ts";
import { ProviderError } from "../providers/client.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { referenceSteps } from "../references/job.ts";
import type { JobKind } from "../run/jobs.ts";
import type { ClaimedJob } from "../run/video-run.ts";
import { stitchSteps, finalizeSteps } from "../stitching/job.ts";
import { storyboardSteps } from "../storyboard/job.ts";
import { JobMessage } from "./messages.ts";
import { type JobSteps, PermanentError, type StepDeps, stepDeps } from "./step.ts";

const STEPS: Record<JobKind, JobSteps> = {
  plan: planSteps,
  reference: referenceSteps,
  storyboard: storyboardSteps,
  chunk: chunkSteps,
  music: musicSteps,
  stitch: stitchSteps,
  finalize: finalizeSteps,
};

/** Queue deliveries of one message before its job attempt is given up as failed. */
const DELIVERIES_PER_ATTEMPT = 4;

function runFor(env: Env, videoId: string) {
  return env.VIDEO_RUN.get(env.VIDEO_RUN.idFromName(videoId));
}

/** Transient trouble (network, 5xx, 429) is retried by the queue; anything else fails the attempt. */
function classify(error: unknown): { retryable: boolean; delaySeconds: number; permanent: boolean } {
  if (error instanceof ProviderError) return { retryable: error.retryable, delaySeconds: error.retryAfterSeconds ?? 2, permanent: false };
  if (error instanceof MediaNodeError) return { retryable: error.retryable, delaySeconds: 2, permanent: !error.retryable };
  if (error instanceof PermanentError) return { retryable: false, delaySeconds: 0, permanent: true };
  return { retryable: true, delaySeconds: 2, permanent: false };
}

async function createPrediction(deps: StepDeps, claim: ClaimedJob, outcome: { model: string; input: Record<string, unknown>; estimateUsd: number }): Promise<void> {
  const run = runFor(deps.env, claim.video.video_id);
  const { job } = claim;
  const gate = await run.beginPrediction(job.id, job.attempt, outcome.estimateUsd, claim.video.request.max_cost_usd ?? null);
  if (!gate.proceed) return;
  try {
    const prediction = await deps.provider.create({
      model: outcome.model,
      input: outcome.input,
      webhook: await webhookUrl(deps.config, claim.video.video_id, job.id, job.attempt),
      webhookEvents: ["start", "completed"],
    });
    await run.predictionCreated(job.id, job.attempt, prediction, outcome.estimateUsd, outcome.model);
  } catch (error) {
    // Nothing was created: let the next delivery of this message try again.
    await run.predictionAborted(job.id, job.attempt);
    throw error;
  }
}

async function handle(deps: StepDeps, message: Message<unknown>): Promise<void> {
  const parsed = JobMessage.safeParse(message.body);
  if (!parsed.success) {
    console.error(`dropping malformed job message: ${parsed.error.issues[0]?.message}`);
    message.ack();
    return;
  }
  const body = parsed.data;
  const run = runFor(deps.env, body.video_id);
  // RPC typing cannot express `unknown` fields; the shape is ClaimedJob by construction.
  const claim = (await run.claim(body.job_id, body.attempt, body.step)) as ClaimedJob | null;
  if (!claim) {
    message.ack();
    return;
  }
  const steps = STEPS[claim.job.kind];
  const step = body.step === "ingest" ? steps.ingest : steps.start;
  try {
    if (!step) throw new PermanentError(`${claim.job.kind} has no ${body.step} step`);
    const outcome = await step(deps, claim);
    if (outcome.kind === "done") await run.complete(body.job_id, body.attempt, outcome.output);
    else await createPrediction(deps, claim, outcome);
    message.ack();
  } catch (error) {
    const { retryable, delaySeconds, permanent } = classify(error);
    const reason = (error as Error).message ?? String(error);
    if (retryable && message.attempts < DELIVERIES_PER_ATTEMPT) {
      message.retry({ delaySeconds: Math.min(60, delaySeconds * 2 ** (message.attempts - 1)) });
      return;
    }
    // Out of deliveries, or not worth repeating: the attempt fails (the run decides whether to retry it).
    await run.fail(body.job_id, body.attempt, reason, !permanent);
    message.ack();
  }
}

export async function consumeJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deps = stepDeps(env, loadConfig(env));
  await Promise.all(batch.messages.map((message) => handle(deps, message)));
}

/**
 * Dead letters: a message the queue gave up on (the consumer itself kept crashing). Its
 * attempt is failed so the run retries it or fails with a stated reason — never hangs.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = JobMessage.safeParse(message.body);
      if (parsed.success) {
        const { video_id, job_id, attempt } = parsed.data;
        await runFor(env, video_id).fail(job_id, attempt, "the job's queue message was dead-lettered after repeated worker failures", true);
      }
      message.ack();
    }),
  );
}
