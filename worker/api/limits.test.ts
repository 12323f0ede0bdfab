import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { LEASE_MS } from "../auth/leases.ts";
import { loadConfig } from "../config.ts";

/** Per-key rate limits, the per-tenant cap on videos in progress, Idempotency-Key, CORS and body limits. */

const config = loadConfig(env);

function call(key: string | null, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://adreel.test${path}`, { ...init, headers }));
}

const generate = (key: string, body: unknown, headers: Record<string, string> = {}) => call(key, "/api/generate", { method: "POST", body: JSON.stringify(body), headers });

async function videosOf(tenant: string): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = ?").bind(tenant).first<{ n: number }>())!.n;
}

describe("per-key rate limits", () => {
  it("answers the request over the per-minute limit with 429, Retry-After and the limit's name; other keys are unaffected", async () => {
    const { key } = await createKey(env.DB, "tenant-rate", "a");
    const other = (await createKey(env.DB, "tenant-rate", "b")).key;
    expect(config.rateLimitPerMinute).toBe(60);
    for (let i = 0; i < config.rateLimitPerMinute; i++) {
      const response = await call(key, "/api/videos");
      expect(response.status, `request ${i + 1}`).toBe(200);
      expect(response.headers.get("x-ratelimit-remaining")).toBe(String(config.rateLimitPerMinute - i - 1));
    }
    const refused = await call(key, "/api/videos");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // A minute after the end of the lease its oldest counted requests were served from (auth/leases.ts).
    expect(retryAfter).toBeLessThanOrEqual(60 + LEASE_MS / 1000);
    expect(await refused.json()).toMatchObject({ limit: "rate_limit", retry_after_seconds: retryAfter, error: expect.stringContaining("60 requests per minute") });
    // Every /api route is behind it, the WebSocket route included.
    expect((await call(key, "/api/status/00000000-0000-4000-8000-000000000000")).status).toBe(429);
    expect((await call(other, "/api/videos")).status).toBe(200);
  });

  it("answers a status poll over the limit with its 429, not the status read alongside the count", async () => {
    const { key } = await createKey(env.DB, "tenant-rate-status", "a");
    const created = await generate(key, { prompt: "A dashboard polls this video", duration_s: 15 });
    const { video_id } = (await created.json()) as { video_id: string };
    for (let i = 1; i < config.rateLimitPerMinute; i++) {
      const response = await call(key, `/api/status/${video_id}`);
      expect(response.status, `request ${i + 1}`).toBe(200);
      expect(response.headers.get("x-ratelimit-remaining")).toBe(String(config.rateLimitPerMinute - i - 1));
      expect(response.headers.get("x-ratelimit-limit")).toBe(String(config.rateLimitPerMinute));
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      expect(((await response.json()) as { video_id: string }).video_id).toBe(video_id);
    }
    const refused = await call(key, `/api/status/${video_id}`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.get("x-ratelimit-remaining")).toBeNull();
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ limit: "rate_limit", error: expect.stringContaining("requests per minute") });
    expect(body).not.toHaveProperty("video_id");
  });

  it("limits generate requests more strictly", async () => {
    const { key } = await createKey(env.DB, "tenant-generate-rate", "a");
    expect(config.generateRateLimitPerMinute).toBe(10);
    for (let i = 0; i < config.generateRateLimitPerMinute; i++) expect((await generate(key, { prompt: `a dry run ${i}`, dry_run: true })).status).toBe(200);
    const refused = await generate(key, { prompt: "one more", dry_run: true });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ limit: "generate_rate_limit" });
    // Reading is still allowed.
    expect((await call(key, "/api/videos")).status).toBe(200);
  });

  it("counts concurrent requests exactly (no overshoot under a burst)", async () => {
    const { key } = await createKey(env.DB, "tenant-burst", "a");
    const statuses = await Promise.all(Array.from({ length: 75 }, () => call(key, "/api/videos").then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(config.rateLimitPerMinute);
    expect(statuses.filter((s) => s === 429)).toHaveLength(75 - config.rateLimitPerMinute);
  });
});

describe("the tenant's cap on videos in progress", () => {
  it("refuses a 6th queued or processing video with 429, and admits one again when a video ends", async () => {
    const { key } = await createKey(env.DB, "tenant-cap", "a");
    expect(config.maxConcurrentVideos).toBe(5);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await generate(key, { prompt: `bakery ad number ${i}`, duration_s: 15 });
      expect(response.status).toBe(200);
      ids.push(((await response.json()) as { video_id: string }).video_id);
    }
    const refused = await generate(key, { prompt: "one too many", duration_s: 15 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ limit: "concurrent_videos", error: expect.stringContaining("at most 5 videos") });
    expect(await videosOf("tenant-cap")).toBe(5);
    // Another tenant is not affected.
    const other = (await createKey(env.DB, "tenant-cap-other", "a")).key;
    expect((await generate(other, { prompt: "unrelated", duration_s: 15 })).status).toBe(200);
    // A cancelled video frees its slot.
    expect((await call(key, `/api/video/${ids[0]}/cancel`, { method: "POST" })).status).toBe(200);
    expect((await generate(key, { prompt: "now there is room", duration_s: 15 })).status).toBe(200);
  });

  it("holds under concurrent submissions: exactly 5 of 8 are created", async () => {
    const keys = await Promise.all([createKey(env.DB, "tenant-cap-race", "a"), createKey(env.DB, "tenant-cap-race", "b")]);
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => generate(keys[i % 2]!.key, { prompt: `race ${i}`, duration_s: 15 }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(await videosOf("tenant-cap-race")).toBe(5);
  });
});

describe("Idempotency-Key", () => {
  it("gives the same video for the same key and body, and refuses the key with another body", async () => {
    const { key } = await createKey(env.DB, "tenant-idem", "a");
    const body = { prompt: "A reusable coffee cup for commuters", duration_s: 15 };
    const first = await generate(key, body, { "idempotency-key": "order-42" });
    const second = await generate(key, body, { "idempotency-key": "order-42" });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const a = (await first.json()) as { video_id: string };
    const b = (await second.json()) as { video_id: string };
    expect(b.video_id).toBe(a.video_id);
    expect(await videosOf("tenant-idem")).toBe(1);
    const changed = await generate(key, { ...body, duration_s: 30 }, { "idempotency-key": "order-42" });
    expect(changed.status).toBe(422);
    expect(await changed.json()).toMatchObject({ field: "Idempotency-Key" });
    expect(await videosOf("tenant-idem")).toBe(1);
    // Another tenant's identical key is its own.
    const other = (await createKey(env.DB, "tenant-idem-other", "a")).key;
    const theirs = (await (await generate(other, body, { "idempotency-key": "order-42" })).json()) as { video_id: string };
    expect(theirs.video_id).not.toBe(a.video_id);
  });

  it("creates one video when retries race", async () => {
    const { key } = await createKey(env.DB, "tenant-idem-race", "a");
    const body = { prompt: "Noise-cancelling earbuds for libraries", duration_s: 15 };
    const answers = await Promise.all(Array.from({ length: 4 }, () => generate(key, body, { "idempotency-key": "retry-me" })));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { video_id: string }).video_id)));
    expect(ids.size).toBe(1);
    expect(await videosOf("tenant-idem-race")).toBe(1);
  });
});

describe("CORS and body limits", () => {
  it("answers a preflight without a key, allowing the API's headers", async () => {
    const response = await call(null, "/api/generate", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = response.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["authorization", "content-type", "idempotency-key"]) expect(allowed).toContain(h);
    // A real request carries the header too.
    const { key } = await createKey(env.DB, "tenant-cors", "a");
    const listed = await call(key, "/api/videos", { headers: { origin: "https://app.example.com" } });
    expect(listed.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("refuses a generate body over 64 KB with 413 and an asset over 15 MB with 413", async () => {
    const { key } = await createKey(env.DB, "tenant-size", "a");
    expect((await generate(key, { prompt: "x".repeat(65 * 1024) })).status).toBe(413);
    const asset = await call(key, "/api/assets", { method: "POST", headers: { "content-type": "image/png", "content-length": String(16 * 1024 * 1024) }, body: new Uint8Array(16 * 1024 * 1024) });
    expect(asset.status).toBe(413);
  });
});
