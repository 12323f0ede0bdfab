import type { Next } from "hono";
import type { ErrorResponse } from "../../contracts/api.ts";
import type { AppContext } from "../app.ts";
import { takeLeased } from "../auth/leases.ts";
import { type LimitVerdict, limiterFor } from "../auth/limiter.ts";

/** The API's limits: requests per key per minute, generations per key per minute, videos in progress per tenant. */

export type LimitName = "rate_limit" | "generate_rate_limit" | "concurrent_videos";

const MINUTE_MS = 60_000;

/** 401: no key, or one that is unknown or revoked (a revoked key's limiter says so, `rateLimit`). */
export function unauthorized(c: AppContext, keyGiven: boolean): Response {
  return c.json({ error: keyGiven ? "invalid or revoked API key" : "missing API key (Authorization: Bearer <key>)" } satisfies ErrorResponse, 401);
}

/** 429 with `Retry-After`, naming which limit was hit. */
export function tooMany(c: AppContext, limit: LimitName, retryAfterSeconds: number, message: string): Response {
  c.header("retry-after", String(retryAfterSeconds));
  return c.json({ error: message, limit, retry_after_seconds: retryAfterSeconds } satisfies ErrorResponse & { limit: LimitName; retry_after_seconds: number }, 429);
}

/**
 * Reads answered while their limit is checked: a status poll (what dashboards send several
 * times a second) is read-only and cheap, so its read and the limiter's count go out at once
 * instead of one after the other — each is a hop through the isolate's queue, which is what a
 * request waits for when the isolate is busy. The answer is still the limiter's: a refused
 * poll gets its 429 or 401 and the read is dropped.
 */
const READ_ALONGSIDE = /^\/api\/status\/[^/]+$/;

/**
 * /api/* middleware (after authentication): every request counts against its key's per-minute
 * limit, and a key revoked since this isolate found it active is refused here (auth/keys.ts),
 * within a lease's life (auth/leases.ts: the isolate counts a key's requests a few at a time).
 */
export async function rateLimit(c: AppContext, next: Next): Promise<Response | void> {
  if (c.req.method === "OPTIONS") return next();
  const limit = c.get("config").rateLimitPerMinute;
  const taken = takeLeased(c.env, c.get("principal").keyId, "api", limit, MINUTE_MS);
  if (c.req.method === "GET" && READ_ALONGSIDE.test(c.req.path)) {
    const answered = next();
    let verdict: LimitVerdict;
    try {
      verdict = await taken;
    } finally {
      await answered;
    }
    const refused = refusal(c, verdict, limit);
    if (refused) c.res = refused;
    else {
      // The status route's answers are built in this isolate, so their headers can take these
      // in place (`c.header` would copy the finished Response, once per header).
      c.res.headers.set("x-ratelimit-limit", String(limit));
      c.res.headers.set("x-ratelimit-remaining", String(verdict.remaining));
    }
    return;
  }
  const verdict = await taken;
  const refused = refusal(c, verdict, limit);
  if (refused) return refused;
  limitHeaders(c, verdict, limit);
  await next();
}

function refusal(c: AppContext, verdict: LimitVerdict, limit: number): Response | null {
  if (verdict.revoked) return unauthorized(c, true);
  if (!verdict.ok) return tooMany(c, "rate_limit", verdict.retryAfterSeconds, `rate limit: at most ${limit} requests per minute per API key`);
  return null;
}

function limitHeaders(c: AppContext, verdict: LimitVerdict, limit: number): void {
  c.header("x-ratelimit-limit", String(limit));
  c.header("x-ratelimit-remaining", String(verdict.remaining));
}

/** Stricter per-key limit on generation (planning costs CPU, videos cost money); null when allowed. */
export async function generateLimit(c: AppContext): Promise<Response | null> {
  const limit = c.get("config").generateRateLimitPerMinute;
  const verdict = await limiterFor(c.env, c.get("principal").keyId).take("generate", limit, MINUTE_MS);
  if (verdict.revoked) return unauthorized(c, true);
  return verdict.ok ? null : tooMany(c, "generate_rate_limit", verdict.retryAfterSeconds, `generate rate limit: at most ${limit} generate requests per minute per API key`);
}

/** How long a client refused by the concurrency cap should wait: about one short video's run. */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 30;

/**
 * SQL condition, true while the tenant has fewer than `cap` videos queued or processing. The one
 * statement that takes a slot — generate's INSERT, regenerate's UPDATE — carries it in its WHERE:
 * D1 runs each statement atomically, so concurrent requests cannot both pass the cap. `tenant`
 * and `cap` are the statement's placeholders (e.g. "?2").
 */
export function underConcurrencyCap(tenant: string, cap: string): string {
  return `(SELECT COUNT(*) FROM videos WHERE tenant_id = ${tenant} AND status IN ('queued', 'processing')) < ${cap}`;
}

export function tooManyVideos(c: AppContext): Response {
  const cap = c.get("config").maxConcurrentVideos;
  return tooMany(c, "concurrent_videos", CONCURRENCY_RETRY_AFTER_SECONDS, `concurrency limit: at most ${cap} videos may be queued or processing at once per tenant`);
}
