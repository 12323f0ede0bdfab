import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../contracts/prediction.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { PREDICTION_KINDS } from "./jobs.ts";
import {
  deliverWebhook,
  driveToEnd,
  elapse,
  type Harness,
  ingest,
  jobOf,
  MODELS,
  newRun,
  outcomeFor,
  predictionOf,
  rows,
  runJob,
  snapshot,
  startJob,
} from "../../test/support/worker/run-driver.ts";
import type { ClaimedJob } from "../steps/step.ts";

/**
 * The run's alarm: polling when webhooks are late, cancelling past the deadline, recovering a
 * creation whose consumer vanished. Time passes by moving the run's stored due times back.
 */

const POLL_MS = 15_000;
const DEADLINE_MS = 180_000;
const LEASE_MS = 180_000;

async function alarm(h: Harness): Promise<void> {
  expect(await runDurableObjectAlarm(h.stub)).toBe(true);
}

const gets = (h: Harness, id: string) => h.double.calls.filter((c) => c === `GET /v1/predictions/${id}`).length;

async function referencePredicting(double?: ReplicateDouble): Promise<{ h: Harness; id: string }> {
  const h = await newRun({ config: { pollAfterMs: POLL_MS, predictionDeadlineMs: DEADLINE_MS, jobLeaseMs: LEASE_MS }, double });
  await runJob(h, "plan");
  await startJob(h, "reference:0");
  return { h, id: (await predictionOf(h, "reference:0")).id };
}

describe("polling and deadlines", () => {
  it("polls only once no webhook came within pollAfterMs, and takes the outcome from the poll", async () => {
    const { h, id } = await referencePredicting();
    h.double.finish(id, { status: "succeeded" });
    await elapse(h, POLL_MS - 2000);
    await alarm(h);
    expect(gets(h, id)).toBe(0);
    expect((await jobOf(h, "reference:0")).status).toBe("predicting");
    await elapse(h, 2001);
    await alarm(h);
    expect(gets(h, id)).toBe(1);
    expect((await jobOf(h, "reference:0")).status).toBe("ingesting");
  });

  it("waits longer when webhooks are flowing", async () => {
    const { h, id } = await referencePredicting();
    await elapse(h, POLL_MS - 1000);
    h.double.processing(id);
    await deliverWebhook(h, id);
    await elapse(h, 2000);
    await alarm(h);
    expect(gets(h, id)).toBe(0);
  });

  it("keeps polling a running prediction, then cancels it at its deadline and retries the job", async () => {
    const { h, id } = await referencePredicting();
    h.double.processing(id);
    await elapse(h, POLL_MS + 1);
    await alarm(h);
    expect(gets(h, id)).toBe(1);
    expect((await jobOf(h, "reference:0")).status).toBe("predicting");
    await elapse(h, DEADLINE_MS);
    await alarm(h);
    expect(gets(h, id)).toBe(2);
    expect(h.double.view(id).status).toBe("canceled");
    const job = await jobOf(h, "reference:0");
    expect(job).toMatchObject({ attempt: 2, status: "queued" });
    expect(job.errors).toEqual([`attempt 1: prediction ${id} exceeded its 180 s deadline and was cancelled`]);
    // The cancelled attempt stays in the ledger at what it cost (a per-image model bills nothing for it).
    expect((await snapshot(h)).cost_ledger).toMatchObject([{ prediction_id: id, attempt: 1, actual_usd: 0 }]);
  });

  it("does not cancel a prediction that finished unannounced just before its deadline", async () => {
    const { h, id } = await referencePredicting();
    h.double.finish(id, { status: "succeeded" });
    await elapse(h, DEADLINE_MS + 1);
    await alarm(h);
    expect(h.double.calls).not.toContain(`POST /v1/predictions/${id}/cancel`);
    expect(await jobOf(h, "reference:0")).toMatchObject({ status: "ingesting", attempt: 1 });
  });

  it("cancels at the deadline even when the provider cannot be asked", async () => {
    const { h, id } = await referencePredicting();
    await elapse(h, DEADLINE_MS + 1);
    h.double.failNext({ kind: "unreachable" }, 1, "any");
    await alarm(h);
    expect(h.double.view(id).status).toBe("canceled");
    expect((await jobOf(h, "reference:0")).attempt).toBe(2);
    const warnings = await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'warning'");
    expect(warnings.map((w) => JSON.parse(w.data).message)).toContainEqual(expect.stringMatching(/^polling reference:0 .* failed: provider unreachable/));
  });

  it("completes a whole video by polling alone, without a single webhook", async () => {
    const h = await newRun({ config: { pollAfterMs: POLL_MS } });
    const byPolling = async (run: Harness, jobId: string) => {
      const kind = (await jobOf(run, jobId)).kind;
      if (!PREDICTION_KINDS.includes(kind)) return runJob(run, jobId);
      await startJob(run, jobId);
      run.double.finish((await predictionOf(run, jobId)).id, { status: "succeeded", predictTime: 4 });
      await elapse(run, POLL_MS + 1);
      await alarm(run);
      await ingest(run, jobId);
    };
    const end = await driveToEnd(h, { run: byPolling });
    expect(end.status).toBe("complete");
    expect(end.error).toBeNull();
    expect(await rows(h, "SELECT * FROM deliveries")).toEqual([]);
    expect(end.cost_ledger).toHaveLength(h.double.all().length);
    expect(end.cost_ledger.every((e) => e.actual_usd !== null)).toBe(true);
  });
});

describe("a consumer lost while creating a prediction", () => {
  /** A consumer passes the guard and (maybe) creates the prediction, then dies before reporting it. */
  async function dieWhileCreating(h: Harness, jobId: string, creates: boolean): Promise<ClaimedJob> {
    const { attempt } = await jobOf(h, jobId);
    const claimed = (await h.stub.claim(jobId, attempt, "start")) as ClaimedJob | null;
    if (!claimed) throw new Error(`${jobId} cannot be claimed`);
    const outcome = outcomeFor(h, claimed);
    expect(await h.stub.beginPrediction(jobId, attempt, outcome.estimateUsd, outcome.model)).toEqual({ proceed: true });
    if (creates) await h.deps.provider.create({ model: outcome.model, input: outcome.input, webhook: await webhookUrl(h.config, h.videoId, jobId, attempt) });
    // Its message is redelivered meanwhile: the guard turns it away.
    expect(await h.stub.claim(jobId, attempt, "start")).toBeNull();
    expect(await h.stub.beginPrediction(jobId, attempt, outcome.estimateUsd, outcome.model)).toEqual({ proceed: false, reason: "creating" });
    return claimed;
  }

  async function lostRun(double?: ReplicateDouble): Promise<Harness> {
    const h = await newRun({ config: { jobLeaseMs: LEASE_MS, pollAfterMs: POLL_MS, predictionDeadlineMs: DEADLINE_MS }, double });
    await runJob(h, "plan");
    return h;
  }

  it("adopts the prediction the provider lists under the attempt's webhook URL", async () => {
    const h = await lostRun(new ReplicateDouble({ pageSize: 2 }));
    for (let i = 0; i < 3; i++) await h.deps.provider.create({ model: MODELS.image, input: {}, webhook: `https://elsewhere.test/${i}` });
    await dieWhileCreating(h, "reference:1", true);
    for (let i = 0; i < 3; i++) await h.deps.provider.create({ model: MODELS.image, input: {}, webhook: `https://elsewhere.test/later/${i}` });
    await elapse(h, LEASE_MS + 1);
    await alarm(h);
    const [created] = h.double.forJob("reference:1");
    expect(h.double.forJob("reference:1")).toHaveLength(1);
    expect(await jobOf(h, "reference:1")).toMatchObject({ status: "predicting", attempt: 1 });
    expect((await rows(h, "SELECT prediction_id FROM jobs WHERE id = 'reference:1'"))[0]).toEqual({ prediction_id: created!.id });
    expect((await snapshot(h)).cost_ledger.map((e) => e.prediction_id)).toEqual([created!.id]);
    // It then completes like any other.
    h.double.finish(created!.id, { status: "succeeded" });
    await deliverWebhook(h, created!.id);
    expect((await jobOf(h, "reference:1")).status).toBe("ingesting");
  });

  it("starts the same attempt again when the provider surely has no prediction for it", async () => {
    const h = await lostRun();
    h.double.addForeign(60 * 60_000);
    await dieWhileCreating(h, "reference:1", false);
    await elapse(h, LEASE_MS + 1);
    await alarm(h);
    expect(await jobOf(h, "reference:1")).toMatchObject({ status: "queued", attempt: 1, errors: [] });
    await startJob(h, "reference:1");
    expect(h.double.forJob("reference:1")).toHaveLength(1);
  });

  it("moves to a new attempt when the provider cannot tell, and stops the old one's prediction if it appears", async () => {
    const h = await lostRun(new ReplicateDouble({ reportWebhook: false }));
    await dieWhileCreating(h, "reference:1", true);
    await elapse(h, LEASE_MS + 1);
    await alarm(h);
    const job = await jobOf(h, "reference:1");
    expect(job).toMatchObject({ status: "queued", attempt: 2 });
    expect(job.errors[0]).toMatch(/^attempt 1: consumer lost while creating the prediction, and whether it exists is unknown/);
    const [orphan] = h.double.forJob("reference:1", 1);
    h.double.processing(orphan!.id);
    await deliverWebhook(h, orphan!.id);
    expect(h.double.view(orphan!.id).status).toBe("canceled");
  });

  /** The video is cancelled while reference:2's creation is under way; the provider creates it anyway. Reporting it is left to the test. */
  async function createdAfterTheEnd(): Promise<{ h: Harness; late: Prediction; report: () => Promise<void> }> {
    const h = await lostRun();
    const claimed = await dieWhileCreating(h, "reference:2", false);
    await h.stub.cancel("cancelled by request");
    const outcome = outcomeFor(h, claimed);
    const late = await h.deps.provider.create({ model: outcome.model, input: outcome.input, webhook: await webhookUrl(h.config, h.videoId, "reference:2", 1) });
    return { h, late, report: () => h.stub.predictionCreated("reference:2", 1, late, outcome.estimateUsd, outcome.model) };
  }

  it("cancels a prediction whose creation is reported after the video ended", async () => {
    const { h, late, report } = await createdAfterTheEnd();
    await report();
    expect(h.double.view(late.id).status).toBe("canceled");
    expect((await snapshot(h)).cost_ledger).toMatchObject([{ prediction_id: late.id, actual_usd: 0 }]);
  });

  it("asks again about a prediction reported after the end whose cancel was not answered, until it is priced", async () => {
    const { h, late, report } = await createdAfterTheEnd();
    h.double.failNext({ kind: "unreachable" }, 1, "any");
    await report();
    expect(h.double.view(late.id).status).not.toBe("canceled");
    expect((await snapshot(h)).cost_pending_usd).toBeGreaterThan(0);
    // The ended run had no alarm left; the unanswered cancel gives it one, which cancels again and prices the line.
    await alarm(h);
    expect(h.double.view(late.id).status).toBe("canceled");
    const settled = await snapshot(h);
    expect(settled.cost_ledger).toMatchObject([{ prediction_id: late.id, actual_usd: 0 }]);
    expect(settled.cost_pending_usd).toBe(0);
  });
});
