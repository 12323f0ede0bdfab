import { describe, expect, it } from "vitest";
import { ProviderError, providerClient, retryAfterSeconds } from "./client.ts";
import { findPredictionByWebhook, LOOKUP_SKEW_MS } from "./lookup.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

const MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb";

describe("provider client", () => {
  it("refuses, without a request, a community model named without its version and an input its schema refuses", async () => {
    const double = new ReplicateDouble();
    const unpinned = await failure(double.client().create({ model: "meta/musicgen", input: { prompt: "b" } }));
    expect(unpinned).toMatchObject({ retryable: false, uncertain: false });
    expect(unpinned.message).toBe(`meta/musicgen is a community model: Replicate runs it only by version (configure meta/musicgen:${MUSICGEN_VERSION})`);
    const wrong = await failure(double.client().create({ model: "wan-video/wan-2.2-i2v-fast", input: { image: "https://m.test/a.png", prompt: "a", num_frames: 48 } }));
    expect(wrong).toMatchObject({ retryable: false, status: 422, uncertain: false });
    expect(wrong.message).toMatch(/^wan-video\/wan-2.2-i2v-fast input refused by its schema: input.num_frames: /);
    expect(double.calls).toEqual([]);
  });

  it("is answered like Replicate answers: 404 for a community model on the model-scoped route, 422 for an unknown version", async () => {
    const double = new ReplicateDouble();
    const headers = { authorization: `Bearer ${double.token}`, "content-type": "application/json" };
    const scoped = await double.fetch(`${double.base}/v1/models/meta/musicgen/predictions`, { method: "POST", headers, body: JSON.stringify({ input: { prompt: "b" } }) });
    expect(scoped.status).toBe(404);
    expect(await scoped.json()).toEqual({ detail: "The requested resource could not be found.", status: 404 });
    const unknown = await failure(double.client().create({ model: `meta/musicgen:${"0".repeat(64)}`, input: { prompt: "b" } }));
    expect(unknown).toMatchObject({ retryable: false, status: 422 });
    expect(unknown.message).toContain("The specified version does not exist");
  });

  it("creates on the model-scoped route for owner/name and on /v1/predictions for a version", async () => {
    const double = new ReplicateDouble();
    const client = double.client();
    const scoped = await client.create({ model: "wan-video/wan-2.2-i2v-fast", input: { prompt: "a" }, webhook: "https://w.test/hook?job=x", webhookEvents: ["start", "completed"] });
    const versioned = await client.create({ model: `meta/musicgen:${MUSICGEN_VERSION}`, input: { prompt: "b" } });
    expect(double.calls).toEqual(["POST /v1/models/wan-video/wan-2.2-i2v-fast/predictions", "POST /v1/predictions"]);
    expect(scoped).toMatchObject({ status: "starting", model: "wan-video/wan-2.2-i2v-fast", webhook: "https://w.test/hook?job=x", webhook_events_filter: ["start", "completed"] });
    expect(versioned.model).toBe("meta/musicgen");
    expect((await client.get(scoped.id)).id).toBe(scoped.id);
    expect((await client.cancel(scoped.id)).status).toBe("canceled");
  });

  it("reports 429 as retryable with the Retry-After it was given, in seconds or as a date", async () => {
    const double = new ReplicateDouble();
    double.failNext({ kind: "rate-limited", retryAfter: "17" });
    const seconds = await failure(double.client().create({ model: "a/b", input: {} }));
    expect(seconds).toMatchObject({ retryable: true, retryAfterSeconds: 17, status: 429, uncertain: false });
    double.failNext({ kind: "rate-limited", retryAfter: new Date(Date.now() + 42_000).toUTCString() });
    const dated = await failure(double.client().create({ model: "a/b", input: {} }));
    expect(dated.retryAfterSeconds).toBeGreaterThanOrEqual(40);
    expect(dated.retryAfterSeconds).toBeLessThanOrEqual(43);
    expect(double.all()).toHaveLength(0);
  });

  it("parses Retry-After strictly", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterSeconds("120", now)).toBe(120);
    expect(retryAfterSeconds("Thu, 01 Jan 2026 00:01:30 GMT", now)).toBe(90);
    expect(retryAfterSeconds("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBeUndefined();
    expect(retryAfterSeconds("0", now)).toBeUndefined();
    expect(retryAfterSeconds("soon", now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });

  it("tells a refused create (nothing happened) from one whose outcome is unknown", async () => {
    const double = new ReplicateDouble();
    const invalid = await failure(double.client().create({ model: "a/b", input: null as unknown as Record<string, unknown> }));
    expect(invalid).toMatchObject({ retryable: false, status: 422, uncertain: false });
    double.failNext({ kind: "server-error" });
    expect(await failure(double.client().create({ model: "a/b", input: {} }))).toMatchObject({ retryable: true, status: 500, uncertain: true });
    double.failNext({ kind: "answer-lost" });
    const lost = await failure(double.client().create({ model: "a/b", input: {} }));
    expect(lost).toMatchObject({ retryable: true, uncertain: true });
    expect(lost.message).toContain("unreachable");
    // The lost answer's create did happen: that is why "uncertain" matters.
    expect(double.all()).toHaveLength(1);
    const wrongToken = await failure(providerClient(double.base, "r8_wrong", double.fetch).create({ model: "a/b", input: {} }));
    expect(wrongToken).toMatchObject({ retryable: false, status: 401, uncertain: false });
    expect(wrongToken.message).toContain("Invalid token");
  });

  it("pages through the list newest first with the absolute next URLs the API returns", async () => {
    const double = new ReplicateDouble({ pageSize: 2 });
    const client = double.client();
    for (let i = 0; i < 5; i++) await client.create({ model: "a/b", input: { i } });
    const seen: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { results, next } = await client.list(cursor);
      seen.push(...results.map((p) => p.input?.i));
      if (!next) break;
      expect(next.startsWith(double.base)).toBe(true);
      cursor = next;
    }
    expect(seen).toEqual([4, 3, 2, 1, 0]);
  });
});

describe("finding a prediction by its webhook URL", () => {
  const hook = (attempt: number) => `https://adreel.test/webhooks/replicate?video=v&job=chunk%3A003&attempt=${attempt}`;

  it("finds the attempt's prediction among other predictions, across pages", async () => {
    const double = new ReplicateDouble({ pageSize: 2 });
    const client = double.client();
    const mine = await client.create({ model: "a/b", input: {}, webhook: hook(2) });
    await client.create({ model: "a/b", input: {}, webhook: hook(1) });
    for (let i = 0; i < 4; i++) await client.create({ model: "a/b", input: {}, webhook: `https://other.test/${i}` });
    const found = await findPredictionByWebhook(client, hook(2), Date.now() - 1000);
    expect(found).toEqual({ kind: "found", prediction: expect.objectContaining({ id: mine.id }) });
  });

  it("answers absent once the list reaches predictions older than the attempt", async () => {
    const double = new ReplicateDouble({ pageSize: 2 });
    const client = double.client();
    double.addForeign(LOOKUP_SKEW_MS + 60_000);
    await client.create({ model: "a/b", input: {}, webhook: hook(1) });
    await client.create({ model: "a/b", input: {}, webhook: null as unknown as string });
    expect(await findPredictionByWebhook(client, hook(2), Date.now() - 1000)).toEqual({ kind: "absent" });
    expect(await findPredictionByWebhook(new ReplicateDouble().client(), hook(2), Date.now())).toEqual({ kind: "absent" });
  });

  it("answers unknown when the provider does not report webhooks, or the search runs out of pages", async () => {
    const silent = new ReplicateDouble({ reportWebhook: false });
    await silent.client().create({ model: "a/b", input: {}, webhook: hook(2) });
    expect((await findPredictionByWebhook(silent.client(), hook(2), Date.now())).kind).toBe("unknown");
    const busy = new ReplicateDouble({ pageSize: 1 });
    for (let i = 0; i < 4; i++) await busy.client().create({ model: "a/b", input: {}, webhook: `https://other.test/${i}` });
    const lookup = await findPredictionByWebhook(busy.client(), hook(2), Date.now() - 1000, 3);
    expect(lookup).toEqual({ kind: "unknown", reason: "no match in the newest 3 pages of predictions" });
  });
});
