import { DurableObject } from "cloudflare:workers";

/**
 * Per-key request rate limits: one `RequestLimiter` object per API key keeps a sliding-window
 * log of that key's requests in its SQLite. A Durable Object runs one request at a time and
 * its SQL calls are synchronous, so check-then-record cannot interleave between concurrent
 * requests (D1 or KV would need a read-modify-write race or tolerate overshoot). The log
 * holds at most `limit` rows per bucket, because refused requests are not recorded.
 */

export interface LimitVerdict {
  ok: boolean;
  /** When refused: seconds until the oldest counted request leaves the window. */
  retryAfterSeconds: number;
  remaining: number;
}

export class RequestLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS hits_bucket_at ON hits (bucket, at)");
  }

  /** Count one request in `bucket` unless `limit` were already made within `windowMs`. */
  async take(bucket: string, limit: number, windowMs: number): Promise<LimitVerdict> {
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
