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
import { type Harness, driveToChunks, elapse, jobOf, newRun, predictionOf, publishFrame, rows, snapshot, startJob, succeed, webhookRequest } from "../../test/support/worker/run-driver.ts";

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
    // From within a queue batch its own pass is not handed along: it goes on the media queue.
    expect(next?.then).toBeUndefined();
    // No ingest message ever went out for it.
    expect(ingestsSent(chunk)).toEqual([]);
  });
});

describe("a beat's last chunk published without a queue batch", () => {
  /** A run with a beat's last chunk ingesting (its prediction succeeded) while other chunks still generate: the chunks of a beat before it published, in turn. */
  async function lastOfBeatIngesting(): Promise<{ h: Harness; chunk: string; frame: ChunkLastFrame }> {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const chunks = await rows<{ id: string; beat: number; idx: number; input: string }>(h, "SELECT id, beat, idx, input FROM jobs WHERE kind = 'chunk' ORDER BY idx");
    const beat = chunks.find((c) => !(JSON.parse(c.input) as ChunkPlan).last_in_beat)!.beat;
    const chain = chunks.filter((c) => c.beat === beat);
    for (const link of chain.slice(0, -1)) {
      await startJob(h, link.id);
      await succeed(h, link.id);
      await publishFrame(h, link.id);
    }
    const last = chain.at(-1)!;
    const plan = JSON.parse(last.input) as ChunkPlan;
    expect(plan.last_in_beat).toBe(true);
    await startJob(h, last.id);
    await succeed(h, last.id);
    expect((await jobOf(h, last.id)).status).toBe("ingesting");
    await recordSends(h);
    return { h, chunk: last.id, frame: { last_frame_key: mediaKeys.lastFrame(h.videoId, plan.chunk_num), raw_key: mediaKeys.rawChunk(h.videoId, plan.chunk_num), palette: [] } };
  }
  const normalizesSent = (jobId: string) => sent.filter((s) => s.message.job_id === jobId && s.message.step === "normalize");

  it("runs its normalize pass in the publishing consumer (the webhook's), not behind the media queue's batch, as background work while other chunks generate", async () => {
    const { h, chunk, frame } = await lastOfBeatIngesting();
    const own = (await h.stub.publish(chunk, 1, frame, "own_pass")) as ClaimedJob | null;
    expect(own).toMatchObject({ step: "normalize", job: { id: chunk }, endsPhase: false });
    expect((await jobOf(h, chunk)).status).toBe("normalizing");
    expect(normalizesSent(chunk)).toEqual([]);
    // Refused busy there, it goes on the media queue after the delay, as any refused pass.
    await h.stub.deferStep(chunk, 1, "normalize", 1, false);
    expect(normalizesSent(chunk)).toEqual([{ message: { video_id: h.videoId, job_id: chunk, attempt: 1, step: "normalize" }, delaySeconds: 1 }]);
  });

  it("a chained chunk published so hands its consumer the next chunk's start, then its own pass", async () => {
    const { h, chunk } = await chunkPredicting();
    const prediction = await predictionOf(h, chunk);
    const finished = h.double.finish(prediction.id, { status: "succeeded", predictTime: 2 });
    const intake = (await h.stub.onPrediction(chunk, 1, finished, "msg_chained", true)) as unknown as { ingest: ClaimedJob };
    const plan = intake.ingest.job.input as ChunkPlan;
    expect(plan.last_in_beat).toBe(false);
    const frame: ChunkLastFrame = { last_frame_key: mediaKeys.lastFrame(h.videoId, plan.chunk_num), raw_key: mediaKeys.rawChunk(h.videoId, plan.chunk_num), palette: [] };
    const next = (await h.stub.publish(chunk, 1, frame, "own_pass")) as ClaimedJob | null;
    expect(next).toMatchObject({ step: "start", job: { beat: plan.beat_index }, then: { step: "normalize", job: { id: chunk }, endsPhase: false } });
    expect(normalizesSent(chunk)).toEqual([]);
  });

  it("published from within a queue batch, its pass goes on the media queue as before", async () => {
    const { h, chunk, frame } = await lastOfBeatIngesting();
    expect(await h.stub.publish(chunk, 1, frame, true)).toBeNull();
    expect(normalizesSent(chunk)).toEqual([{ message: { video_id: h.videoId, job_id: chunk, attempt: 1, step: "normalize" }, delaySeconds: undefined }]);
  });
});
