import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../contracts/signing.ts";
import { deliverWebhook, type Harness, jobOf, newRun, predictionOf, rows, runJob, snapshot, startJob } from "../../test/support/worker/run-driver.ts";

/**
 * Webhook intake through the real route (POST /webhooks/replicate): the signature decides
 * whether anything happens; the run decides what a genuine delivery means.
 */

/** A run whose first reference job has a prediction running at the provider. */
async function predicting(): Promise<{ h: Harness; id: string }> {
  const h = await newRun();
  await runJob(h, "plan");
  await startJob(h, "reference:0");
  return { h, id: (await predictionOf(h, "reference:0")).id };
}

/** Everything a delivery could change. */
async function observable(h: Harness) {
  const snap = await snapshot(h);
  return { jobs: snap.jobs, ledger: snap.cost_ledger, last_event: snap.last_event, updates: await rows(h, "SELECT * FROM prediction_updates"), deliveries: await rows(h, "SELECT * FROM deliveries") };
}

describe("webhook signatures", () => {
  it("answers 401 to unsigned, forged, stale and wrongly keyed deliveries, and changes nothing", async () => {
    const { h, id } = await predicting();
    h.double.finish(id, { status: "succeeded" });
    const body = JSON.stringify(h.double.view(id));
    const now = Math.floor(Date.now() / 1000);
    const genuine = await signWebhook(h.config.webhookSecret, "msg_1", now, body);
    const before = await observable(h);
    const attempts: [string, Record<string, string>][] = [
      ["unsigned", {}],
      ["forged signature", { ...genuine, "webhook-signature": `v1,${btoa("x".repeat(32))}` }],
      ["signature of another body", { ...(await signWebhook(h.config.webhookSecret, "msg_1", now, body.replace("succeeded", "failed"))) }],
      ["10 minutes old", { ...(await signWebhook(h.config.webhookSecret, "msg_1", now - 600, body)) }],
      ["10 minutes ahead", { ...(await signWebhook(h.config.webhookSecret, "msg_1", now + 600, body)) }],
      ["another secret", { ...(await signWebhook(`whsec_${btoa("another secret of 32 bytes......")}`, "msg_1", now, body)) }],
      ["v2 scheme only", { ...genuine, "webhook-signature": genuine["webhook-signature"].replace("v1,", "v2,") }],
    ];
    for (const [name, headers] of attempts) {
      const response = await deliverWebhook(h, id, { headers, body });
      expect(response.status, name).toBe(401);
      expect(((await response.json()) as { error: string }).error, name).toMatch(/^webhook rejected: /);
    }
    expect(await observable(h)).toEqual(before);
    expect((await jobOf(h, "reference:0")).status).toBe("predicting");
  });

  it("accepts a delivery signed by the standardwebhooks library, among rotated signatures", async () => {
    const { h, id } = await predicting();
    h.double.finish(id, { status: "succeeded" });
    const body = JSON.stringify(h.double.view(id));
    const signature = new Webhook(h.config.webhookSecret).sign("msg_std_1", new Date(), body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const rotated = `v1,${btoa("an old key's signature, now stale")} ${signature}`;
    const response = await deliverWebhook(h, id, { body, headers: { "webhook-id": "msg_std_1", "webhook-timestamp": timestamp, "webhook-signature": rotated } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, accepted: true });
    expect((await jobOf(h, "reference:0")).status).toBe("ingesting");
    // Our own verifier and the library agree in the other direction too.
    const ours = await signWebhook(h.config.webhookSecret, "msg_2", Math.floor(Date.now() / 1000), body);
    expect(new Webhook(h.config.webhookSecret).verify(body, ours)).toMatchObject({ id });
  });

  it("answers 400 to a signed delivery that names no job or carries no prediction", async () => {
    const { h, id } = await predicting();
    const body = JSON.stringify({ hello: "world" });
    const headers = await signWebhook(h.config.webhookSecret, "msg_x", Math.floor(Date.now() / 1000), body);
    expect((await deliverWebhook(h, id, { body, headers: { ...headers } })).status).toBe(400);
    expect((await jobOf(h, "reference:0")).status).toBe("predicting");
  });
});

describe("deliveries the run receives more than once, late, or out of order", () => {
  /** start, processing and succeeded for reference:0, each delivered three times (same webhook-id), in `order`. */
  async function storm(order: number[]): Promise<Harness> {
    const { h, id } = await predicting();
    const bodies: string[] = [JSON.stringify(h.double.view(id)), JSON.stringify(h.double.processing(id))];
    bodies.push(JSON.stringify(h.double.finish(id, { status: "succeeded", predictTime: 3.25 })));
    const deliveries = bodies.flatMap((body, kind) => [0, 1, 2].map(() => ({ body, deliveryId: `msg_${id}_${kind}` })));
    const seen = new Set<string>();
    for (const index of order) {
      const delivery = deliveries[index]!;
      const response = await deliverWebhook(h, id, delivery);
      expect(response.status).toBe(200);
      // A repeated webhook-id is acknowledged and not acted on again.
      if (seen.has(delivery.deliveryId)) expect(await response.json()).toEqual({ ok: true, accepted: false });
      seen.add(delivery.deliveryId);
    }
    return h;
  }

  async function outcome(h: Harness) {
    const snap = await snapshot(h);
    const job = snap.jobs.find((j) => j.id === "reference:0")!;
    return { status: job.status, attempt: job.attempt, errors: job.errors, ledger: snap.cost_ledger.map(({ job_id, attempt, phase, model, estimate_usd, actual_usd, usd }) => ({ job_id, attempt, phase, model, estimate_usd, actual_usd, usd })), cost: snap.cost_usd };
  }

  it("ends the same whatever the order, and books each cost once", async () => {
    const inOrder = await outcome(await storm([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const succeededFirst = await outcome(await storm([6, 3, 0, 7, 4, 1, 8, 5, 2]));
    const shuffled = await outcome(await storm([4, 8, 0, 6, 2, 5, 1, 7, 3]));
    expect(inOrder.status).toBe("ingesting");
    expect(succeededFirst).toEqual(inOrder);
    expect(shuffled).toEqual(inOrder);
    expect(inOrder.ledger).toHaveLength(1);
    expect(inOrder.ledger[0]).toMatchObject({ job_id: "reference:0", attempt: 1, actual_usd: inOrder.ledger[0]!.estimate_usd });
    expect(inOrder.cost).toBe(inOrder.ledger[0]!.usd);
  });

  it("acts on each (prediction, status) once, whatever the webhook-id", async () => {
    const { h, id } = await predicting();
    h.double.finish(id, { status: "succeeded" });
    const first = await deliverWebhook(h, id, { deliveryId: "msg_a" });
    const again = await deliverWebhook(h, id, { deliveryId: "msg_b" });
    expect(await first.json()).toEqual({ ok: true, accepted: true });
    expect(await again.json()).toEqual({ ok: true, accepted: false });
    const ingest = (await rows<{ type: string; data: string }>(h, "SELECT type, data FROM events WHERE type = 'job'")).filter((e) => e.data.includes('"status":"ingesting"'));
    expect(ingest).toHaveLength(1);
  });

  it("ignores a processing update that arrives after succeeded", async () => {
    const { h, id } = await predicting();
    const processing = JSON.stringify(h.double.processing(id));
    h.double.finish(id, { status: "succeeded" });
    await deliverWebhook(h, id);
    const late = await deliverWebhook(h, id, { body: processing });
    expect(await late.json()).toEqual({ ok: true, accepted: false });
    expect((await jobOf(h, "reference:0")).status).toBe("ingesting");
    expect(h.double.calls.filter((c) => c.endsWith("/cancel"))).toEqual([]);
  });

  it("keeps a late update of an abandoned attempt out of the job, prices it, and stops it if it still runs", async () => {
    const { h, id: first } = await predicting();
    // Attempt 1 fails; attempt 2 starts.
    h.double.finish(first, { status: "failed", error: "NSFW content detected" });
    await deliverWebhook(h, first);
    await startJob(h, "reference:0");
    const second = (await predictionOf(h, "reference:0")).id;
    expect(second).not.toBe(first);
    // Attempt 1's updates again, late: a redelivered failure and a stale "processing".
    const redelivered = await deliverWebhook(h, first, { deliveryId: "msg_late_failed" });
    const staleBody = JSON.stringify({ ...h.double.view(first), status: "processing", error: null, completed_at: null });
    const stale = await deliverWebhook(h, first, { body: staleBody });
    expect(await redelivered.json()).toEqual({ ok: true, accepted: false });
    expect(await stale.json()).toEqual({ ok: true, accepted: false });
    const job = await jobOf(h, "reference:0");
    expect(job).toMatchObject({ status: "predicting", attempt: 2 });
    // The failed prediction had ended: nothing to cancel. The stale "processing" claimed it still ran: it was asked to stop.
    expect(h.double.calls.filter((c) => c.endsWith("/cancel"))).toEqual([`POST /v1/predictions/${first}/cancel`]);
    expect(job.errors).toEqual([`attempt 1: prediction ${first} failed: NSFW content detected`]);
    // A stray running prediction for the job (a duplicate) is cancelled and booked.
    const stray = await h.deps.provider.create({ model: "google/nano-banana", input: {}, webhook: h.double.webhookOf(second)! });
    const strayAnswer = await deliverWebhook(h, stray.id);
    expect(await strayAnswer.json()).toEqual({ ok: true, accepted: false });
    expect(h.double.view(stray.id).status).toBe("canceled");
    expect(h.double.view(second).status).toBe("starting");
    const ledger = (await snapshot(h)).cost_ledger;
    expect(ledger.map((e) => [e.prediction_id, e.attempt, e.actual_usd])).toEqual([
      [first, 1, 0],
      [second, 2, null],
      [stray.id, 2, 0],
    ]);
  });
});
