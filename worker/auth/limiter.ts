import { DurableObject } from "cloudflare:workers";

/**
 * Per-key request rate limits: one `RequestLimiter` object per API key keeps a sliding-window
 * log of that key's requests in its SQLite. A Durable Object runs one request at a time and
 * its SQL calls are synchronous, so check-then-record cannot interleave between concurrent
 * requests (D1 or KV would need a read-modify-write race or tolerate overshoot). The log
 * holds at most `limit` rows per bucket, because refused requests are not recorded.
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

  /** Count one request in `bucket` unless `limit` were already made within `windowMs`. */
  async take(bucket: string, limit: number, windowMs: number): Promise<LimitVerdict> {
    if (this.revoked) return { ok: false, retryAfterSeconds: 0, remaining: 0, revoked: true };
    const now = Date.now();
    this.sql.exec("DELETE FROM hits WHERE bucket = ? AND at <= ?", bucket, now - windowMs);
    // Counted in the index, not read out: a key polling a few times a second keeps hundreds of rows in its window.
    const counted = this.sql.exec("SELECT COUNT(*) AS n FROM hits WHERE bucket = ?", bucket).one().n as number;
    if (counted >= limit) {
      // The request becomes possible once enough of the oldest ones have aged out.
      const oldest = this.sql.exec("SELECT at FROM hits WHERE bucket = ? ORDER BY at LIMIT 1 OFFSET ?", bucket, counted - limit).one().at as number;
      const freeingAt = oldest + windowMs;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((freeingAt - now) / 1000)), remaining: 0 };
    }
    this.sql.exec("INSERT INTO hits (bucket, at) VALUES (?, ?)", bucket, now);
    return { ok: true, retryAfterSeconds: 0, remaining: limit - counted - 1 };
  }
}

export function limiterFor(env: Env, keyId: string): DurableObjectStub<RequestLimiter> {
  return env.REQUEST_LIMITER.get(env.REQUEST_LIMITER.idFromName(keyId));
}
