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
      expect(await again.take("api", 5, MINUTE_MS)).toMatchObject({ ok: true, retryAfterSeconds: 0, remaining: 2, granted: 1 });
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
      expect(await again.take("api", 5, MINUTE_MS)).toMatchObject({ ok: true, retryAfterSeconds: 0, remaining: 2, granted: 1 });
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
    expect(await stub.take("api", 5, MINUTE_MS)).toMatchObject({ ok: false, retryAfterSeconds: 0, remaining: 0, revoked: true });
    expect((await stub.take("api", 5, MINUTE_MS, 4, 1000)).ok).toBe(false);
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      expect((await new RequestLimiter(state, env).take("generate", 5, MINUTE_MS)).revoked).toBe(true);
    });
  });

  it("counts a lease's requests as of the end of its life, grants what is free, and takes back what was not spent", async () => {
    const stub = limiterFor(env, "key_limiter_lease");
    await runInDurableObject(stub, async (limiter: RequestLimiter, state) => {
      const before = Date.now();
      const lease = await limiter.take("api", 10, MINUTE_MS, 4, 1000);
      expect(lease).toMatchObject({ ok: true, granted: 4, remaining: 6 });
      const row = state.storage.sql.exec<{ at: number; n: number }>("SELECT at, n FROM hits WHERE rowid = ?", lease.lease).one();
      expect(row.n).toBe(4);
      // Counted as of when its requests may last be spent, so it leaves the window that much later.
      expect(row.at).toBeGreaterThanOrEqual(before + 1000);
      // Three of the four were not spent: handed back with the next take, they no longer count.
      const next = await limiter.take("api", 10, MINUTE_MS, 1, 1000, { lease: lease.lease, n: 3 });
      expect(next).toMatchObject({ ok: true, granted: 1, remaining: 8 });
      expect(state.storage.sql.exec<{ n: number }>("SELECT n FROM hits WHERE rowid = ?", lease.lease).one().n).toBe(1);
      // The same lease handed back again gives back nothing: what is left of it was spent.
      expect((await limiter.take("api", 10, MINUTE_MS, 1, 1000, { lease: lease.lease, n: 50 })).remaining).toBe(7);
      // More than is free: what is free; then nothing.
      expect(await limiter.take("api", 10, MINUTE_MS, 32, 1000)).toMatchObject({ ok: true, granted: 7, remaining: 0 });
      const refused = await limiter.take("api", 10, MINUTE_MS, 32, 1000);
      expect(refused).toMatchObject({ ok: false, granted: 0, remaining: 0 });
      // The oldest counted requests leave the window a minute after the end of their lease.
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(60);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(61);
      expect(state.storage.sql.exec<{ total: number }>("SELECT SUM(n) AS total FROM hits").one().total).toBe(10);
    });
  });

  it("counts rows written before leases (no n) as one request each", async () => {
    const stub = limiterFor(env, "key_limiter_old_rows");
    await runInDurableObject(stub, async (_limiter: RequestLimiter, state) => {
      state.storage.sql.exec("DROP TABLE hits");
      state.storage.sql.exec("CREATE TABLE hits (bucket TEXT NOT NULL, at INTEGER NOT NULL)");
      for (let i = 0; i < 3; i++) state.storage.sql.exec("INSERT INTO hits (bucket, at) VALUES ('api', ?)", Date.now() - 1000);
      expect(await new RequestLimiter(state, env).take("api", 5, MINUTE_MS, 5)).toMatchObject({ ok: true, granted: 2, remaining: 0 });
    });
  });
});
