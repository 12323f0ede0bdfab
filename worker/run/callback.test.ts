import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CallbackNotification } from "../../contracts/api.ts";
import { newWebhookSecret, verifyWebhook } from "../../contracts/signing.ts";
import { createKey } from "../auth/keys.ts";
import { callbackUrlProblem } from "../api/videos/generate.ts";
import { callbackBackoffMs } from "./callback.ts";
import { driveToChunks, driveToEnd, type Harness, newRun, rows } from "../../test/support/worker/run-driver.ts";
import type { VideoRun } from "./video-run.ts";

type RunEvent = { id: number; type: string; at: number; data: unknown };

/** `callback_url`: a signed notification when the video ends, retried with back-off, never failing the video. */

const SECRET = newWebhookSecret();

interface Received {
  url: string;
  headers: Headers;
  body: string;
}

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-callback", "test")).key;
});

function generate(body: unknown) {
  return exports.default.fetch(
    new Request("http://adreel.test/api/generate", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
  );
}

/** A video with a callback_url, its run bound to a receiver answering each delivery with the next status of `answers`. */
async function withCallback(answers: number[], options: { maxAttempts?: number } = {}): Promise<{ h: Harness; received: Received[] }> {
  const created = await generate({ prompt: "A solar lantern for campers", duration_s: 15, callback_url: "https://hooks.example.com/adreel?order=7" });
  expect(created.status).toBe(200);
  const { video_id } = (await created.json()) as { video_id: string };
  const h = await newRun({ videoId: video_id, config: { callbackSecret: SECRET, ...(options.maxAttempts ? { callbackMaxAttempts: options.maxAttempts } : {}) } });
  const received: Received[] = [];
  await runInDurableObject(h.stub, (run: VideoRun) => {
    run.notify = async (input, init) => {
      const request = new Request(input, init);
      received.push({ url: request.url, headers: request.headers, body: await request.text() });
      return new Response(null, { status: answers[received.length - 1] ?? 200 });
    };
  });
  return { h, received };
}

/** Run the object's alarm until `count` deliveries were made (bounded); each retry is made due at once. */
async function deliveries(h: Harness, received: Received[], count: number): Promise<void> {
  for (let i = 0; i < 50 && received.length < count; i++) {
    await runInDurableObject(h.stub, (_run: VideoRun, state) => {
      state.storage.sql.exec("UPDATE callbacks SET next_at = 0 WHERE status = 'pending'");
    });
    await runDurableObjectAlarm(h.stub);
  }
  expect(received).toHaveLength(count);
}

describe("callback_url", () => {
  it("POSTs a Standard-Webhooks-signed notification when the video completes, retrying a failed delivery", async () => {
    const { h, received } = await withCallback([503, 200]);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    await deliveries(h, received, 2);
    const [failed, delivered] = received;
    expect(delivered!.url).toBe("https://hooks.example.com/adreel?order=7");
    // Same webhook-id on the retry, so the receiver can deduplicate.
    expect(delivered!.headers.get("webhook-id")).toBe(failed!.headers.get("webhook-id"));
    expect(await verifyWebhook(SECRET, delivered!.headers, delivered!.body)).toMatchObject({ ok: true });
    expect(await verifyWebhook(newWebhookSecret(), delivered!.headers, delivered!.body)).toMatchObject({ ok: false });
    const notification = CallbackNotification.parse(JSON.parse(delivered!.body));
    expect(notification).toMatchObject({ video_id: h.videoId, status: "complete", error: null, cost_usd: end.cost_usd });
    expect(notification.final_video_url).toContain(`/media/videos/${h.videoId}/final.mp4?`);
    const events = (await h.stub.events(0)) as RunEvent[];
    expect(events.some((e) => e.type === "warning" && String((e.data as { message: string }).message).includes("callback attempt 1"))).toBe(true);
    expect(events.at(-1)!.type).toBe("callback");
    expect(await rows(h, "SELECT status, attempt FROM callbacks")).toEqual([{ status: "delivered", attempt: 2 }]);
    // Nothing more is sent.
    await runDurableObjectAlarm(h.stub);
    expect(received).toHaveLength(2);
  });

  it("notifies a failure, gives up after the bounded attempts, and the video's outcome stays as it was", async () => {
    const { h, received } = await withCallback([500, 500, 500], { maxAttempts: 3 });
    await driveToChunks(h);
    await h.stub.cancel("cancelled by request");
    await deliveries(h, received, 3);
    const notification = CallbackNotification.parse(JSON.parse(received[0]!.body));
    expect(notification).toMatchObject({ status: "cancelled", error: "cancelled by request", final_video_url: null });
    const events = (await h.stub.events(0)) as RunEvent[];
    const gaveUp = events.find((e) => e.type === "callback_failed");
    expect((gaveUp!.data as { message: string }).message).toContain("failed 3 times, giving up: HTTP 500");
    expect(await rows(h, "SELECT status, attempt FROM callbacks")).toEqual([{ status: "failed", attempt: 3 }]);
    expect(((await h.stub.snapshot()) as { status: string } | null)!.status).toBe("cancelled");
    for (let i = 0; i < 3; i++) await runDurableObjectAlarm(h.stub);
    expect(received).toHaveLength(3);
  });

  it("backs off exponentially", () => {
    expect([1, 2, 3, 4, 10].map(callbackBackoffMs)).toEqual([5_000, 20_000, 80_000, 320_000, 900_000]);
  });

  it("accepts https only (http to loopback only where ALLOW_HTTP_CALLBACKS=1), refusing others with 422", async () => {
    expect(callbackUrlProblem("https://hooks.example.com/x", false)).toBeNull();
    expect(callbackUrlProblem("http://127.0.0.1:9000/x", true)).toBeNull();
    expect(callbackUrlProblem("http://localhost:9000/x", true)).toBeNull();
    expect(callbackUrlProblem("http://127.0.0.1:9000/x", false)).toBe("must be an https: URL");
    expect(callbackUrlProblem("http://example.com/x", true)).toContain("only to 127.0.0.1");
    expect(callbackUrlProblem("https://user:pw@example.com/x", false)).toBe("must not carry credentials");
    for (const callback_url of ["http://127.0.0.1:9000/hook", "ftp://example.com/x", "not a url", "https://u:p@example.com/"]) {
      const response = await generate({ prompt: "x", dry_run: true, callback_url });
      expect(response.status, callback_url).toBe(422);
      expect(await response.json()).toMatchObject({ field: "callback_url" });
    }
  });
});
