import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChunkLastFrame } from "../chunks/output.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import { mediaKeys } from "../media/keys.ts";
import type { JobMessage } from "../queue/messages.ts";
import type { VideoRun } from "../run/video-run.ts";
import type { ClaimedJob } from "../steps/step.ts";
import { app } from "../index.ts";
import { type Harness, driveToChunks, elapse, jobOf, newRun, predictionOf, snapshot, startJob, webhookRequest } from "../../test/support/worker/run-driver.ts";

/**
 * A succeeded prediction's ingest run by the webhook that reports it (WEBHOOK_INGEST, on by
 * default; the Worker tests turn it off so the run driver claims every ingest itself): no queue
 * message, the job's lease held as a consumer's claim holds it, and the queue as the fallback
 * when the step fails or its isolate is lost.
 */

interface Sent {
  message: JobMessage;
  delaySeconds: number | undefined;
}

/** The messages the run sent since `recordSends` (the Durable Object runs in the tests' isolate). */
let sent: Sent[] = [];

/** Every message the run sends from now on, recorded as it goes out. */
async function recordSends(h: Harness): Promise<void> {
  sent = [];
  await runInDurableObject(h.stub, (run: VideoRun) => {
    const send = run.run.send;
    Object.defineProperty(run.run, "send", {
      value: (messages: JobMessage[], delaySeconds?: number) => {
        sent.push(...messages.map((message) => ({ message, delaySeconds })));
        return send(messages, delaySeconds);
      },
    });
  });
}

/** A run with its first chunk's prediction created, the run's sends recorded from then on. */
async function chunkPredicting(): Promise<{ h: Harness; chunk: string }> {
  const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
  await driveToChunks(h);
  const chunk = (await snapshot(h)).jobs.find((j) => j.kind === "chunk" && j.status === "queued")!.id;
  await startJob(h, chunk);
  await recordSends(h);
  return { h, chunk };
}

/** The prediction succeeds and the provider's webhook reaches the route of a deployment with WEBHOOK_INGEST as given; answers once the request's waitUntil work is done too. */
async function succeedThroughRoute(h: Harness, jobId: string, webhookIngest: "1" | "0"): Promise<Response> {
  const prediction = await predictionOf(h, jobId);
  h.double.finish(prediction.id, { status: "succeeded", predictTime: 2 });
  const ctx = createExecutionContext();
  const response = await app.fetch(await webhookRequest(h, prediction.id), { ...env, WEBHOOK_INGEST: webhookIngest }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const ingestsSent = (jobId: string) => sent.filter((s) => s.message.job_id === jobId && s.message.step === "ingest");

describe("the ingest in the webhook", () => {
  it("with WEBHOOK_INGEST=0 a success's ingest goes on the jobs queue at once", async () => {
    const { h, chunk } = await chunkPredicting();
    expect((await succeedThroughRoute(h, chunk, "0")).status).toBe(200);
    expect(ingestsSent(chunk)).toEqual([{ message: { video_id: h.videoId, job_id: chunk, attempt: 1, step: "ingest" }, delaySeconds: undefined }]);
    expect((await jobOf(h, chunk)).status).toBe("ingesting");
  });

  it("runs the ingest in the webhook's isolate, and one that fails there goes on the queue after the retry delay, same attempt", async () => {
    const { h, chunk } = await chunkPredicting();
    // Worker tests have no media-node (MEDIA_NODE_URL is a closed port): the step runs and fails.
    expect((await succeedThroughRoute(h, chunk, "1")).status).toBe(200);
    // Only the hand-back, with the first delivery's back-off: nothing was queued when the webhook came.
    expect(ingestsSent(chunk)).toEqual([{ message: { video_id: h.videoId, job_id: chunk, attempt: 1, step: "ingest" }, delaySeconds: 2 }]);
    const job = await jobOf(h, chunk);
    expect(job).toMatchObject({ status: "ingesting", attempt: 1 });
  });

  it("hands the webhook the ingest claimed, sends nothing, and the lapsed lease of an isolate that vanished sends it on the queue", async () => {
    const { h, chunk } = await chunkPredicting();
    const prediction = await predictionOf(h, chunk);
    const finished = h.double.finish(prediction.id, { status: "succeeded", predictTime: 2 });
    const intake = (await h.stub.onPrediction(chunk, 1, finished, "msg_handed", true)) as unknown as { accepted: boolean; ingest?: ClaimedJob };
    expect(intake.accepted).toBe(true);
    expect(intake.ingest).toMatchObject({ step: "ingest", job: { id: chunk, attempt: 1 }, prediction: { id: prediction.id, status: "succeeded" } });
    expect(ingestsSent(chunk)).toEqual([]);
    // The same delivery again hands nothing over: one ingest per success.
    const again = (await h.stub.onPrediction(chunk, 1, finished, "msg_handed", true)) as unknown as { accepted: boolean; ingest?: ClaimedJob };
    expect(again).toEqual({ accepted: false });
    // The isolate running it is lost: once the lease lapses, the alarm puts the ingest on the queue.
    await elapse(h, h.config.jobLeaseMs + 1);
    await runDurableObjectAlarm(h.stub);
    expect(ingestsSent(chunk)).toEqual([{ message: { video_id: h.videoId, job_id: chunk, attempt: 1, step: "ingest" }, delaySeconds: undefined }]);
  });

  it("a handed ingest that publishes starts the next chunk of the beat, like a consumer's", async () => {
    const { h, chunk } = await chunkPredicting();
    const prediction = await predictionOf(h, chunk);
    const finished = h.double.finish(prediction.id, { status: "succeeded", predictTime: 2 });
    const intake = (await h.stub.onPrediction(chunk, 1, finished, "msg_publish", true)) as unknown as { ingest: ClaimedJob };
    const plan = intake.ingest.job.input as ChunkPlan;
    const frame: ChunkLastFrame = { last_frame_key: mediaKeys.lastFrame(h.videoId, plan.chunk_num), raw_key: mediaKeys.rawChunk(h.videoId, plan.chunk_num), palette: [] };
    expect(plan.last_in_beat).toBe(false);
    const next = (await h.stub.publish(chunk, 1, frame, true)) as ClaimedJob | null;
    expect((await jobOf(h, chunk)).status).toBe("normalizing");
    expect(next).toMatchObject({ step: "start", job: { beat: plan.beat_index, idx: (await jobOf(h, chunk)).idx + 1 } });
    // No ingest message ever went out for it.
    expect(ingestsSent(chunk)).toEqual([]);
  });
});
