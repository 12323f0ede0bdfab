import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterFor, RequestLimiter } from "./limiter.ts";

/**
 * The per-key limiter keeps its window in memory beside SQLite: a new life of the object
 * (after eviction or a restart; here a second instance on the same storage) must count
 * exactly what the earlier one recorded, and requests older than the window never count.
 */

const MINUTE_MS = 60_000;

describe("RequestLimiter", () => {
  it("counts in a new life of the object what the earlier one recorded", async () => {
    const stub = limiterFor(env, "key_limiter_restart");
    expect((await stub.take("api", 5, MINUTE_MS)).remaining).toBe(4);
    expect((await stub.take("api", 5, MINUTE_MS)).remaining).toBe(3);
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      const again = new RequestLimiter(state, env);
      expect(await again.take("api", 5, MINUTE_MS)).toEqual({ ok: true, retryAfterSeconds: 0, remaining: 2 });
      // Another bucket of the same key is counted apart.
      expect((await again.take("generate", 5, MINUTE_MS)).remaining).toBe(4);
    });
  });

  it("does not count requests that left the window, and deletes their rows in bulk", async () => {
    const stub = limiterFor(env, "key_limiter_window");
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      const now = Date.now();
      // What an earlier life left: 150 requests two minutes ago, 2 within the last minute.
      for (let i = 0; i < 150; i++) state.storage.sql.exec("INSERT INTO hits (bucket, at) VALUES ('api', ?)", now - 2 * MINUTE_MS + i);
      for (const ago of [30_000, 1_000]) state.storage.sql.exec("INSERT INTO hits (bucket, at) VALUES ('api', ?)", now - ago);
      const again = new RequestLimiter(state, env);
      expect(await again.take("api", 5, MINUTE_MS)).toEqual({ ok: true, retryAfterSeconds: 0, remaining: 2 });
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM hits").one().n).toBe(3);
      expect((await again.take("api", 5, MINUTE_MS)).remaining).toBe(1);
      expect((await again.take("api", 5, MINUTE_MS)).remaining).toBe(0);
      // Full: refused until the oldest counted request (30 s ago) leaves the window.
      const refused = await again.take("api", 5, MINUTE_MS);
      expect(refused.ok).toBe(false);
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(30);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM hits").one().n).toBe(5);
    });
  });

  it("counts exactly to the limit after thousands of requests left the window", async () => {
    const stub = limiterFor(env, "key_limiter_many");
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      const now = Date.now();
      // More requests aged out than the list keeps before dropping them (COMPACT_AT), and 40 still counted.
      for (let i = 0; i < 3000; i++) state.storage.sql.exec("INSERT INTO hits (bucket, at) VALUES ('api', ?)", now - 2 * MINUTE_MS + i);
      for (let i = 0; i < 40; i++) state.storage.sql.exec("INSERT INTO hits (bucket, at) VALUES ('api', ?)", now - 50_000 + i);
      const again = new RequestLimiter(state, env);
      const verdicts = [];
      for (let i = 0; i < 12; i++) verdicts.push(await again.take("api", 50, MINUTE_MS));
      expect(verdicts.map((v) => v.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]);
      expect(verdicts.map((v) => v.ok)).toEqual([...Array(10).fill(true), false, false]);
      // The oldest counted request is 50 s old: it leaves the window in about 10 s.
      expect(verdicts[10]!.retryAfterSeconds).toBeGreaterThanOrEqual(10);
      expect(verdicts[10]!.retryAfterSeconds).toBeLessThanOrEqual(11);
      // The aged-out rows were deleted from SQLite too: what is left is what counts.
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM hits").one().n).toBe(50);
    });
  });

  it("refuses every request of a revoked key, in this life and the next", async () => {
    const stub = limiterFor(env, "key_limiter_revoked");
    expect((await stub.take("api", 5, MINUTE_MS)).ok).toBe(true);
    await stub.revoke();
    expect(await stub.take("api", 5, MINUTE_MS)).toEqual({ ok: false, retryAfterSeconds: 0, remaining: 0, revoked: true });
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      expect((await new RequestLimiter(state, env).take("generate", 5, MINUTE_MS)).revoked).toBe(true);
    });
  });
});
