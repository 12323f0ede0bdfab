import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dropLease, LEASE_MS, MAX_LEASE, takeLeased } from "./leases.ts";
import { limiterFor, type RequestLimiter } from "./limiter.ts";

/**
 * Leases of requests against the real limiter object: the limit holds exactly, sequentially,
 * in a burst and across leases that end unspent; a revoked key is refused by an isolate that
 * holds a lease once that lease ends, and at once where it is dropped. The isolate's clock is
 * passed in, so a lease's end is reached without waiting.
 */

const MINUTE_MS = 60_000;

/** A clock that moves only when told. */
function clock(start = Date.now()) {
  let at = start;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

/** The key's rows in its limiter: one per lease taken, with its requests (`n`). */
function leaseRows(keyId: string): Promise<{ n: number }[]> {
  return runInDurableObject(limiterFor(env, keyId), (_limiter: RequestLimiter, state) => state.storage.sql.exec<{ n: number }>("SELECT n FROM hits WHERE bucket = 'api' ORDER BY at").toArray());
}

describe("leases of requests", () => {
  it("serves exactly the limit, one request after another, and refuses the next with Retry-After", async () => {
    const t = clock();
    const verdicts = [];
    for (let i = 0; i < 61; i++) verdicts.push(await takeLeased(env, "key_lease_sequential", "api", 60, MINUTE_MS, t.now));
    expect(verdicts.slice(0, 60).every((v) => v.ok)).toBe(true);
    expect(verdicts.slice(0, 60).map((v) => v.remaining)).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    expect(verdicts[60]).toMatchObject({ ok: false, remaining: 0 });
    expect(verdicts[60]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The limiter counted exactly the 60 served, in leases that doubled while they ran out (the last one what was left).
    expect((await leaseRows("key_lease_sequential")).map((r) => r.n)).toEqual([1, 2, 4, 8, 16, 29]);
  });

  it("hands back what a lease did not spend before its end, so the key can still make its whole limit", async () => {
    const t = clock();
    const take = () => takeLeased(env, "key_lease_unspent", "api", 20, MINUTE_MS, t.now);
    // Leases of 1, 2, 4 and 8 requests, each spent, then a lease of 5 (16 asked, 5 free) of which 2 are spent.
    for (let i = 0; i < 15; i++) expect((await take()).ok).toBe(true);
    expect((await take()).remaining).toBe(4);
    expect((await take()).remaining).toBe(3);
    // Its end passes with 3 unspent: the next request hands them back with its own take.
    t.advance(LEASE_MS);
    const served = [];
    for (let i = 0; i < 3; i++) served.push(await take());
    expect(served.map((v) => v.ok)).toEqual([true, true, true]);
    expect(served.at(-1)!.remaining).toBe(0);
    expect((await take()).ok).toBe(false);
  });

  it("serves exactly the limit in a burst of concurrent requests", async () => {
    const t = clock();
    const verdicts = await Promise.all(Array.from({ length: 75 }, () => takeLeased(env, "key_lease_burst", "api", 60, MINUTE_MS, t.now)));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(60);
    expect(verdicts.filter((v) => !v.ok)).toHaveLength(15);
    expect(new Set(verdicts.filter((v) => v.ok).map((v) => v.remaining)).size).toBe(60);
  });

  it("refuses a key revoked elsewhere once this isolate's lease ends, and at once where its lease is dropped", async () => {
    const t = clock();
    const take = (keyId: string) => takeLeased(env, keyId, "api", 1000, MINUTE_MS, t.now);
    // Grow a lease past one request.
    for (let i = 0; i < 4; i++) expect((await take("key_lease_revoked")).ok).toBe(true);
    expect((await take("key_lease_revoked")).ok).toBe(true);
    // Another isolate revokes the key (its limiter object says so); this one still holds requests of a lease...
    await limiterFor(env, "key_lease_revoked").revoke();
    expect((await take("key_lease_revoked")).ok).toBe(true);
    // ...until the lease's end: then the limiter's refusal, as unauthenticated.
    t.advance(LEASE_MS);
    expect(await take("key_lease_revoked")).toMatchObject({ ok: false, revoked: true });

    for (let i = 0; i < 5; i++) expect((await take("key_lease_dropped")).ok).toBe(true);
    await limiterFor(env, "key_lease_dropped").revoke();
    dropLease("key_lease_dropped", "api");
    expect(await take("key_lease_dropped")).toMatchObject({ ok: false, revoked: true });
  });

  it("takes at most MAX_LEASE requests at once", async () => {
    const t = clock();
    for (let i = 0; i < 200; i++) expect((await takeLeased(env, "key_lease_max", "api", 100_000, MINUTE_MS, t.now)).ok).toBe(true);
    const rows = (await leaseRows("key_lease_max")).map((r) => r.n);
    expect(rows.slice(0, 6)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(Math.max(...rows)).toBe(MAX_LEASE);
    // Counted: the 200 served and what the last lease holds unspent.
    const total = rows.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(200);
    expect(total).toBeLessThan(200 + MAX_LEASE);
  });
});
