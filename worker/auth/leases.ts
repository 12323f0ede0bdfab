import { IsolateMemo } from "./isolate-memo.ts";
import { type LimitVerdict, limiterFor, type TakeVerdict, type UnspentLease } from "./limiter.ts";

/**
 * An API key's requests counted a few at a time: the isolate takes a lease of requests from
 * the key's limiter object (one round trip, one row) and serves the next requests of that key
 * from it. A dashboard polling a status a few times a second made one limiter call per
 * request, the largest share of the isolate's time per poll after the status read itself.
 *
 * What still holds:
 * - The limit: the limiter counts a lease's requests as of the end of its life (`LEASE_MS`),
 *   so however they are spent within it, no `windowMs` holds more than `limit` spent requests;
 *   what a lease did not spend is handed back with the next take. An isolate holding unspent
 *   requests can make another isolate's request of the same key be refused early, never late.
 * - Revocation: a lease is spent only within `LEASE_MS` of being taken, and the limiter
 *   refuses a revoked key every new one; the isolate that revokes a key drops its lease at
 *   once (`dropLease`). So a revoked key is refused at once where it was revoked, and by every
 *   isolate within `LEASE_MS`.
 */

/** How long a lease's requests may be spent after it is taken. */
export const LEASE_MS = 1000;

/** The most requests one lease takes: a key's lease grows by doubling while it runs out before its end. */
export const MAX_LEASE = 32;

interface Lease {
  id: number;
  size: number;
  left: number;
  /** The limiter's `remaining` once the lease was counted: what the key may still make beyond it. */
  remaining: number;
  until: number;
}

interface KeyRequests {
  lease: Lease | null;
  /** The take in flight: requests of the key arriving meanwhile wait for it instead of asking too. */
  taking: Promise<TakeVerdict> | null;
}

/** Per isolate, by key and bucket. Forgetting one only leaves its lease's requests unspent (counted, never more). */
const keys = new IsolateMemo<string, KeyRequests>(10_000);

const keyOf = (keyId: string, bucket: string) => `${bucket}\u0000${keyId}`;

/**
 * Count one request of `keyId` in `bucket` against `limit` per `windowMs`, from this isolate's
 * lease when it has one, else from a new one. `now` is the isolate's clock (a parameter for tests).
 */
export async function takeLeased(env: Env, keyId: string, bucket: string, limit: number, windowMs: number, now: () => number = Date.now): Promise<LimitVerdict> {
  const key = keyOf(keyId, bucket);
  let requests = keys.get(key);
  if (!requests) keys.set(key, (requests = { lease: null, taking: null }));
  for (;;) {
    const lease = requests.lease;
    if (lease && lease.left > 0 && now() < lease.until) {
      lease.left--;
      return { ok: true, retryAfterSeconds: 0, remaining: lease.remaining + lease.left };
    }
    if (!requests.taking) {
      requests.taking = renew(env, keyId, bucket, limit, windowMs, requests, now).finally(() => {
        requests.taking = null;
      });
    }
    const verdict = await requests.taking;
    // Refused (or revoked): the limiter's answer to every request that waited for this take.
    if (!verdict.ok) return verdict;
  }
}

/** A new lease, sized by how the last one went, handing back what it left unspent. */
async function renew(env: Env, keyId: string, bucket: string, limit: number, windowMs: number, requests: KeyRequests, now: () => number): Promise<TakeVerdict> {
  const last = requests.lease;
  let unspent: UnspentLease | undefined;
  let want = 1;
  if (last) {
    want = last.left === 0 ? last.size * 2 : last.size - last.left;
    if (last.left > 0) unspent = { lease: last.id, n: last.left };
    last.left = 0;
  }
  want = Math.min(MAX_LEASE, Math.max(1, want));
  // The lease ends LEASE_MS from before the limiter counted it, so it is spent by the time it was counted as of.
  const asked = now();
  const verdict = await limiterFor(env, keyId).take(bucket, limit, windowMs, want, LEASE_MS, unspent);
  if (verdict.ok) requests.lease = { id: verdict.lease, size: verdict.granted, left: verdict.granted, remaining: verdict.remaining, until: asked + LEASE_MS };
  else if (verdict.revoked) keys.delete(keyOf(keyId, bucket));
  return verdict;
}

/** This isolate spends nothing more of the key's leases (it was just revoked). */
export function dropLease(keyId: string, bucket: string): void {
  const requests = keys.get(keyOf(keyId, bucket));
  if (requests?.lease) requests.lease.left = 0;
  keys.delete(keyOf(keyId, bucket));
}
