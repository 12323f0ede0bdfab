import { DurableObject } from "cloudflare:workers";
import { objectIdOf } from "./isolate-memo.ts";

/**
 * Per-key request rate limits: one `RequestLimiter` object per API key keeps a sliding-window
 * log of that key's requests in its SQLite. A Durable Object runs one request at a time and
 * its SQL calls are synchronous, so check-then-record cannot interleave between concurrent
 * requests (D1 or KV would need a read-modify-write race or tolerate overshoot). The log
 * holds at most `limit` rows per bucket in the window (refused requests are not recorded),
 * and fewer than `STALE_ROWS` more that left it.
 *
 * The object of an API key is also where the key's revocation is held (auth/keys.ts
 * `revokeKey`): every /api request asks it anyway, so a key refused here is refused on the
 * very next request, whatever an isolate remembers about it.
 */

export interface LimitVerdict {
  ok: boolean;
  /** When refused: seconds until the oldest counted request leaves the window. */
  retryAfterSeconds: number;
  remaining: number;
  /** The key was revoked: the request is refused as unauthenticated, not as over a limit. */
  revoked?: true;
}

export class RequestLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private revoked: boolean;
  private readonly windows = new Map<string, BucketWindow>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at INTEGER NOT NULL)");
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
   * Count one request in `bucket` unless `limit` were already made within `windowMs`. The
   * window's requests are held in memory too (read from SQLite once per bucket and object
   * start), so a request costs one INSERT: a key polling a few times a second keeps hundreds
   * of rows in its window, and counting or trimming them on every request was the limiter's
   * whole cost. Rows that left the window are deleted from SQLite in bulk (`STALE_ROWS`).
   */
  async take(bucket: string, limit: number, windowMs: number): Promise<LimitVerdict> {
    if (this.revoked) return { ok: false, retryAfterSeconds: 0, remaining: 0, revoked: true };
    const now = Date.now();
    const window = this.windowOf(bucket, windowMs);
    const hits = window.hits;
    // Requests that left the window are passed over, not shifted out one by one: a key polled
    // a few hundred times a minute would move its whole window on every request.
    let first = window.first;
    while (first < hits.length && hits[first]! <= now - windowMs) first++;
    if (first > window.first) {
      window.stale += first - window.first;
      window.first = first;
      if (window.stale >= STALE_ROWS) {
        this.sql.exec("DELETE FROM hits WHERE bucket = ? AND at <= ?", bucket, now - windowMs);
        window.stale = 0;
      }
      if (first >= COMPACT_AT && first * 2 >= hits.length) {
        hits.splice(0, first);
        window.first = 0;
      }
    }
    const counted = hits.length - window.first;
    if (counted >= limit) {
      // The request becomes possible once enough of the oldest ones have aged out.
      const freeingAt = hits[hits.length - limit]! + windowMs;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((freeingAt - now) / 1000)), remaining: 0 };
    }
    this.sql.exec("INSERT INTO hits (bucket, at) VALUES (?, ?)", bucket, now);
    hits.push(now);
    // A clock that stepped back keeps the window in order (oldest first), as SQLite's index would.
    if (counted > 0 && hits[hits.length - 2]! > now) {
      const inWindow = hits.splice(window.first).sort((a, b) => a - b);
      hits.push(...inWindow);
    }
    return { ok: true, retryAfterSeconds: 0, remaining: limit - counted - 1 };
  }

  /** The bucket's requests within the window, oldest first, as its SQLite rows hold them. */
  private windowOf(bucket: string, windowMs: number): BucketWindow {
    const known = this.windows.get(bucket);
    if (known && known.windowMs === windowMs) return known;
    const rows = this.sql.exec("SELECT at FROM hits WHERE bucket = ? ORDER BY at", bucket).toArray() as { at: number }[];
    const window: BucketWindow = { windowMs, hits: rows.map((row) => row.at), first: 0, stale: 0 };
    this.windows.set(bucket, window);
    return window;
  }
}

/** Rows of requests that left the window, kept in SQLite until this many can be deleted at once. */
const STALE_ROWS = 100;

/** Requests that left the window, kept at the front of the in-memory list until this many (and half of it) can be dropped at once. */
const COMPACT_AT = 1024;

interface BucketWindow {
  windowMs: number;
  /** Times of the requests, oldest first, from `first` on; those before it left the window (dropped in bulk, `COMPACT_AT`). */
  hits: number[];
  /** Index of the oldest request still counted (until the next `take` passes over them, some from here may have left the window too). */
  first: number;
  /** Rows still in SQLite whose requests left the window (trimmed from `hits`). */
  stale: number;
}

export function limiterFor(env: Env, keyId: string): DurableObjectStub<RequestLimiter> {
  return env.REQUEST_LIMITER.get(objectIdOf(env.REQUEST_LIMITER, keyId));
}
