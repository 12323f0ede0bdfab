import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { type Prediction, Prediction as PredictionSchema } from "../contracts/prediction.ts";
import { verifyWebhook } from "../contracts/signing.ts";
import { DRAFT_DEFAULTS, pickKnobs } from "./options.ts";
import { type DraftTestServer, type ReceivedWebhook, startDraftServer, startWebhookReceiver, type WebhookReceiver } from "../test/support/draft-server.ts";

// Webhooks from the draft server, received by a real HTTP listener and verified two ways.

const TINY = { prompt: "abstract", width: 16, height: 16 };

let server: DraftTestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  server = await startDraftServer({ webhookBackoffMs: 20, webhookMaxBackoffMs: 100 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await server.api("/v1/_draft/config", { body: pickKnobs(DRAFT_DEFAULTS) });
  await receiver?.close();
});

const bodyOf = (message: ReceivedWebhook): Prediction => PredictionSchema.parse(JSON.parse(message.body));
const headerGetter = (message: ReceivedWebhook) => ({ get: (name: string) => (message.headers[name] as string | undefined) ?? null });

async function create(input: Record<string, unknown>, extra: Record<string, unknown> = {}, model = "adreel/draft-image"): Promise<Prediction> {
  const answer = await server.api(`/v1/models/${model}/predictions`, { body: { input, webhook: receiver.url, ...extra } });
  expect(answer.status).toBe(201);
  return answer.body;
}

/** Settle the prediction, then give stragglers a moment: asserts on "nothing more arrives". */
async function quiet(id: string, ms = 300): Promise<void> {
  await server.settle(id);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe("delivery", () => {
  test("every event is signed so that both verifyWebhook and the standardwebhooks library accept it", async () => {
    receiver = await startWebhookReceiver();
    const created = await create(TINY);
    await quiet(created.id);
    const messages = receiver.received;
    const bodies = messages.map(bodyOf);
    // start, logs (at most one per 500 ms), output, completed — in that order.
    expect(bodies[0]).toMatchObject({ id: created.id, status: "starting" });
    expect(bodies.at(-1)).toMatchObject({ id: created.id, status: "succeeded" });
    const output = bodies.at(-2)!;
    expect(output.status).toBe("processing");
    expect(output.output).toMatch(/\/v1\/files\/[0-9a-f]{32}\.png$/);
    expect(bodies.at(-1)!.output).toBe(output.output);
    const logs = bodies.slice(1, -2);
    expect(logs.length).toBeGreaterThanOrEqual(1);
    for (const body of logs) expect(body).toMatchObject({ status: "processing", output: null });
    expect(logs[0]!.logs).toContain("started");

    const library = new Webhook(server.webhookSecret);
    for (const message of messages) {
      expect(message.headers["content-type"]).toBe("application/json");
      expect(message.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(await verifyWebhook(server.webhookSecret, headerGetter(message), message.body)).toMatchObject({ ok: true, id: message.headers["webhook-id"] });
      expect(library.verify(message.body, message.headers as Record<string, string>)).toMatchObject({ id: created.id });
    }
    expect(new Set(messages.map((m) => m.headers["webhook-id"])).size).toBe(messages.length);

    // A tampered body or another secret fails both verifiers.
    const last = messages.at(-1)!;
    const tampered = last.body.replace("succeeded", "failed");
    expect((await verifyWebhook(server.webhookSecret, headerGetter(last), tampered)).ok).toBe(false);
    expect(() => library.verify(tampered, last.headers as Record<string, string>)).toThrow();
    expect(() => new Webhook("whsec_" + Buffer.alloc(32, 1).toString("base64")).verify(last.body, last.headers as Record<string, string>)).toThrow();
  });

  test("webhook_events_filter is respected, and completed fires for failed and canceled too", async () => {
    receiver = await startWebhookReceiver();
    const onlyCompleted = await create(TINY, { webhook_events_filter: ["completed"] });
    await quiet(onlyCompleted.id);
    expect(receiver.received.map((m) => bodyOf(m).status)).toEqual(["succeeded"]);

    receiver.received.length = 0;
    const startAndOutput = await create(TINY, { webhook_events_filter: ["start", "output"] });
    await quiet(startAndOutput.id);
    const seen = receiver.received.map(bodyOf);
    expect(seen.map((p) => p.status)).toEqual(["starting", "processing"]);
    expect(seen[1]!.output).toBeTruthy();

    receiver.received.length = 0;
    await server.api("/v1/_draft/config", { body: { failRate: 1 } });
    const failing = await create(TINY, { webhook_events_filter: ["completed"] });
    await quiet(failing.id);
    expect(receiver.received.map(bodyOf)).toMatchObject([{ status: "failed", error: "draft: injected failure" }]);

    receiver.received.length = 0;
    await server.api("/v1/_draft/config", { body: { failRate: 0, latencyMs: 10_000 } });
    const canceled = await create(TINY, { webhook_events_filter: ["completed"] });
    await server.api(`/v1/predictions/${canceled.id}/cancel`, { method: "POST" });
    await quiet(canceled.id);
    expect(receiver.received.map(bodyOf)).toMatchObject([{ id: canceled.id, status: "canceled" }]);
  });

  test("a failing receiver is retried with backoff under the same webhook-id until it answers 2xx", async () => {
    receiver = await startWebhookReceiver((n) => (n < 2 ? 500 : 200));
    const created = await create(TINY, { webhook_events_filter: ["completed"] });
    const [delivered] = await receiver.waitFor(1);
    expect(bodyOf(delivered!)).toMatchObject({ id: created.id, status: "succeeded" });
    expect((await verifyWebhook(server.webhookSecret, headerGetter(delivered!), delivered!.body)).ok).toBe(true);
    expect(receiver.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(new Set(receiver.attempts.map((a) => a.headers["webhook-id"])).size).toBe(1);
    // Backoff doubles from webhookBackoffMs (20 ms here): 20 ms, then 40 ms.
    expect(receiver.attempts[1]!.at - receiver.attempts[0]!.at).toBeGreaterThanOrEqual(18);
    expect(receiver.attempts[2]!.at - receiver.attempts[1]!.at).toBeGreaterThanOrEqual(38);
  });

  test("retries are bounded: a receiver that always fails gets exactly webhookAttempts tries", async () => {
    receiver = await startWebhookReceiver(() => 503);
    const created = await create(TINY, { webhook_events_filter: ["completed"] });
    await quiet(created.id, 20 + 40 + 80 + 100 + 400);
    expect(receiver.attempts).toHaveLength(DRAFT_DEFAULTS.webhookAttempts);
    expect(receiver.received).toHaveLength(0);
  });
});

describe("webhookMode knob", () => {
  test("duplicate sends every message twice with the same webhook-id", async () => {
    receiver = await startWebhookReceiver();
    await server.api("/v1/_draft/config", { body: { webhookMode: "duplicate" } });
    const created = await create(TINY, { webhook_events_filter: ["start", "completed"] });
    await quiet(created.id);
    const ids = receiver.received.map((m) => m.headers["webhook-id"]);
    expect(receiver.received.map((m) => bodyOf(m).status)).toEqual(["starting", "starting", "succeeded", "succeeded"]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[2]);
  });

  test("shuffle delivers completed before start", async () => {
    receiver = await startWebhookReceiver();
    await server.api("/v1/_draft/config", { body: { webhookMode: "shuffle" } });
    const created = await create(TINY);
    await quiet(created.id);
    const statuses = receiver.received.map((m) => bodyOf(m).status);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses[0]).toBe("succeeded");
    expect(statuses.at(-1)).toBe("starting");
    for (const message of receiver.received) expect((await verifyWebhook(server.webhookSecret, headerGetter(message), message.body)).ok).toBe(true);
  });

  test("none never sends; {delayMs} sends late", async () => {
    receiver = await startWebhookReceiver();
    await server.api("/v1/_draft/config", { body: { webhookMode: "none" } });
    const silent = await create(TINY);
    await quiet(silent.id);
    expect(receiver.received).toHaveLength(0);

    await server.api("/v1/_draft/config", { body: { webhookMode: { delayMs: 400 } } });
    const late = await create(TINY, { webhook_events_filter: ["completed"] });
    const done = await server.settle(late.id);
    const [message] = await receiver.waitFor(1);
    expect(message!.at - Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(390);
    expect(bodyOf(message!).status).toBe("succeeded");
  });
});
