import { DurableObject } from "cloudflare:workers";
import { objectIdOf } from "./isolate-memo.ts";

/**
 * Per-key request rate limits: one `RequestLimiter` object per API key keeps a sliding-window
 * log of that key's requests in its SQLite. A Durable Object runs one request at a time and
 * its SQL calls are synchronous, so check-then-record cannot interleave between concurrent
 * requests (D1 or KV would need a read-modify-write race or tolerate overshoot). The log
 * holds at most `limit` rows per bucket in the window (refused requests are not recorded; a
 * row counts the requests of one take, `n`), and fewer than `STALE_ROWS` more that left it.
 *
 * The object of an API key is also where the key's revocation is held (auth/keys.ts
 * `revokeKey`): an isolate asks it for every /api request, or for a lease of a few of them
 * (auth/leases.ts), so a key refused here is refused by every isolate within `LEASE_MS`,
 * whatever an isolate remembers about it.
 */

export interface LimitVerdict {
  ok: boolean;
  /** When refused: seconds until enough counted requests leave the window. */
  retryAfterSeconds: number;
  remaining: number;
  /** The key was revoked: the request is refused as unauthenticated, not as over a limit. */
  revoked?: true;
}

/** A verdict of `take`: when allowed, how many requests it counted (`granted`, ≥ 1) under which lease (to give unspent ones back). */
export interface TakeVerdict extends LimitVerdict {
  granted: number;
  lease: number;
}

/** Requests of a lease its holder did not spend, handed back to the limiter (auth/leases.ts). */
export interface UnspentLease {
  lease: number;
  n: number;
}

export class RequestLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private revoked: boolean;
  private readonly windows = new Map<string, BucketWindow>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 1)");
    // Objects made before leases hold one row per request: each counts one.
    try {
      this.sql.exec("SELECT n FROM hits LIMIT 0");
    } catch {
      this.sql.exec("ALTER TABLE hits ADD COLUMN n INTEGER NOT NULL DEFAULT 1");
    }
    this.sql.exec("CREATE INDEX IF NOT EXISTS hits_bucket_at ON hits (bucket, at)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS revocation (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)");
    this.revoked = this.sql.exec("SELECT 1 FROM revocation").toArray().length > 0;
  }

  /** The key this object limits is revoked: every request of it is refused from now on. */
  async revoke(): Promise<void> {
    this.sql.exec("INSERT OR IGNORE INTO revocation (id, at) VALUES (1, ?)", Date.now());
    this.revoked = true;
  }

  /**
   * Count up to `want` requests in `bucket` (at least one, else refuse) so that no more than
   * `limit` are counted within any `windowMs`. A caller that spends them later (a lease,
   * auth/leases.ts) says within how long (`spendWithinMs`): they are counted as of the end of
   * that time, so whenever they are spent, every `windowMs` holds at most `limit` spent requests;
   * `unspent` hands back what an earlier lease did not spend. The window's requests are held in
   * memory too (read from SQLite once per bucket and object start), so a take costs one INSERT;
   * rows that left the window are deleted from SQLite in bulk (`STALE_ROWS`).
   */
  async take(bucket: string, limit: number, windowMs: number, want = 1, spendWithinMs = 0, unspent?: UnspentLease): Promise<TakeVerdict> {
    if (this.revoked) return { ok: false, retryAfterSeconds: 0, remaining: 0, revoked: true, granted: 0, lease: 0 };
    const now = Date.now();
    const window = this.windowOf(bucket, windowMs);
    if (unspent) this.giveBack(window, unspent);
    this.age(window, bucket, now);
    const free = limit - window.counted;
    if (free <= 0) return { ok: false, retryAfterSeconds: retryAfter(window, limit, now), remaining: 0, granted: 0, lease: 0 };
    const granted = Math.max(1, Math.min(Math.floor(want), free));
    const at = now + spendWithinMs;
    const lease = this.sql.exec<{ id: number }>("INSERT INTO hits (bucket, at, n) VALUES (?, ?, ?) RETURNING rowid AS id", bucket, at, granted).one().id;
    // A clock that stepped back (or a shorter spendWithinMs than the last take's) keeps the window in order, oldest first, as SQLite's index would.
    const { entries } = window;
    if (entries.length > window.first && entries[entries.length - 1]!.at > at) {
      const inWindow = entries.splice(window.first);
      inWindow.push({ at, n: granted, id: lease });
      entries.push(...inWindow.sort((a, b) => a.at - b.at));
    } else entries.push({ at, n: granted, id: lease });
    window.counted += granted;
    return { ok: true, retryAfterSeconds: 0, remaining: limit - window.counted, granted, lease };
  }

  /** Requests that left the window are passed over, not shifted out one by one: a key polled a few hundred times a minute would move its whole window on every take. */
  private age(window: BucketWindow, bucket: string, now: number): void {
    const { entries } = window;
    let first = window.first;
    while (first < entries.length && entries[first]!.at <= now - window.windowMs) window.counted -= entries[first++]!.n;
    if (first === window.first) return;
    window.stale += first - window.first;
    window.first = first;
    if (window.stale >= STALE_ROWS) {
      this.sql.exec("DELETE FROM hits WHERE bucket = ? AND at <= ?", bucket, now - window.windowMs);
      window.stale = 0;
    }
    if (first >= COMPACT_AT && first * 2 >= entries.length) {
      entries.splice(0, first);
      window.first = 0;
    }
  }

  /**
   * A lease's unspent requests no longer count (its row keeps the spent ones, at its time); one
   * that left the window already is let be. Taken once per lease (leases.ts hands a lease back
   * with its holder's next take only); the mark is in memory, as the lease itself is in its holder's.
   */
  private giveBack(window: BucketWindow, unspent: UnspentLease): void {
    const { entries } = window;
    // Leases are handed back soon after they are taken: searched from the newest.
    for (let i = entries.length - 1; i >= window.first; i--) {
      const entry = entries[i]!;
      if (entry.id !== unspent.lease) continue;
      // Once: what is left of a lease after it was handed back was spent.
      if (entry.settled) return;
      entry.settled = true;
      const n = Math.min(entry.n, Math.max(0, Math.floor(unspent.n)));
      entry.n -= n;
      window.counted -= n;
      this.sql.exec("UPDATE hits SET n = ? WHERE rowid = ?", entry.n, entry.id);
      return;
    }
  }

  /** The bucket's requests within the window, oldest first, as its SQLite rows hold them. */
  private windowOf(bucket: string, windowMs: number): BucketWindow {
    const known = this.windows.get(bucket);
    if (known && known.windowMs === windowMs) return known;
    const entries = this.sql.exec<{ id: number; at: number; n: number }>("SELECT rowid AS id, at, n FROM hits WHERE bucket = ? ORDER BY at", bucket).toArray().map((row) => ({ id: row.id, at: row.at, n: row.n }));
    const window: BucketWindow = { windowMs, entries, first: 0, counted: entries.reduce((sum, e) => sum + e.n, 0), stale: 0 };
    this.windows.set(bucket, window);
    return window;
  }
}

/** Seconds until enough of the oldest counted requests leave the window for one more to fit. */
function retryAfter(window: BucketWindow, limit: number, now: number): number {
  let counted = window.counted;
  for (let i = window.first; i < window.entries.length; i++) {
    const entry = window.entries[i]!;
    counted -= entry.n;
    if (counted < limit) return Math.max(1, Math.ceil((entry.at + window.windowMs - now) / 1000));
  }
  return 1;
}

/** Rows of requests that left the window, kept in SQLite until this many can be deleted at once. */
const STALE_ROWS = 100;

/** Rows that left the window, kept at the front of the in-memory list until this many (and half of it) can be dropped at once. */
const COMPACT_AT = 1024;

interface BucketWindow {
  windowMs: number;
  /** The counted requests, one entry per take (its SQLite row): when, how many, the row's id; oldest first from `first` on, those before it left the window (dropped in bulk, `COMPACT_AT`). */
  entries: { at: number; n: number; id: number; settled?: true }[];
  /** Index of the oldest entry still counted (until the next `take` passes over them, some from here may have left the window too). */
  first: number;
  /** Requests the entries from `first` on hold. */
  counted: number;
  /** Rows still in SQLite whose requests left the window (trimmed from `entries`). */
  stale: number;
}

export function limiterFor(env: Env, keyId: string): DurableObjectStub<RequestLimiter> {
  return env.REQUEST_LIMITER.get(objectIdOf(env.REQUEST_LIMITER, keyId));
}
