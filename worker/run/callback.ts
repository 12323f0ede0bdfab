import type { CallbackNotification } from "../../contracts/api.ts";
import { signWebhook } from "../../contracts/signing.ts";
import type { RunContext } from "./types.ts";

/**
 * `callback_url` notifications: when a video ends, its run POSTs a Standard-Webhooks-signed
 * `CallbackNotification` there (the URL was checked at admission, api/videos/generate.ts). Delivery
 * is driven by the run's alarm with exponential back-off and a bounded number of attempts;
 * every failure is an event, never a failed video.
 */

/** Delay before attempt `attempt + 1` after `attempt` failed: 5 s, 20 s, 80 s, … capped at 15 min. */
export function callbackBackoffMs(attempt: number): number {
  return Math.min(15 * 60_000, 5_000 * 4 ** (attempt - 1));
}

export interface CallbackOutcome {
  ok: boolean;
  /** HTTP status, or the network error. */
  detail: string;
}

const CALLBACK_TIMEOUT_MS = 10_000;

/** One delivery attempt. `id` stays the same across retries, so the receiver can deduplicate. */
export async function deliverCallback(send: typeof fetch, url: string, secret: string, id: string, notification: CallbackNotification): Promise<CallbackOutcome> {
  const body = JSON.stringify(notification);
  const headers = await signWebhook(secret, id, Math.floor(Date.now() / 1000), body);
  try {
    const response = await send(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "adreel-callback/1" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return { ok: response.status >= 200 && response.status < 300, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

// ---------------------------------------------------------------- the run's outbox (`callbacks` table)

/** Record the notification for the alarm to deliver: the end of a video never waits on the receiver. */
export function queueCallback(sql: SqlStorage, notification: CallbackNotification, now = Date.now()): void {
  const seq = sql.exec("SELECT COUNT(*) AS n FROM callbacks").one().n as number;
  sql.exec("INSERT INTO callbacks (id, body, attempt, status, next_at, created_at) VALUES (?, ?, 0, 'pending', ?, ?)", `cb_${notification.video_id}_${seq + 1}`, JSON.stringify(notification), now, now);
}

/** When the next pending notification is due, or null when none is. */
export function nextCallbackAt(sql: SqlStorage): number | null {
  return sql.exec("SELECT MIN(next_at) AS t FROM callbacks WHERE status = 'pending'").one().t as number | null;
}

/** Deliver due notifications; failures are retried with back-off up to `callbackMaxAttempts`, each recorded as an event. */
export async function deliverCallbacks(run: Pick<RunContext, "sql" | "config" | "state" | "event">, send: typeof fetch, now: number): Promise<void> {
  const url = run.state()?.request.callback_url;
  const due = run.sql.exec("SELECT id, body, attempt FROM callbacks WHERE status = 'pending' AND next_at <= ? ORDER BY created_at", now).toArray() as { id: string; body: string; attempt: number }[];
  for (const callback of due) {
    if (!url || !run.config.callbackSecret) {
      run.sql.exec("UPDATE callbacks SET status = 'skipped', next_at = NULL WHERE id = ?", callback.id);
      run.event("callback_failed", { callback_id: callback.id, attempt: callback.attempt, message: "not sent: CALLBACK_SECRET is not configured" });
      continue;
    }
    const attempt = callback.attempt + 1;
    const outcome = await deliverCallback(send, url, run.config.callbackSecret, callback.id, JSON.parse(callback.body) as CallbackNotification);
    const origin = new URL(url).origin;
    if (outcome.ok) {
      run.sql.exec("UPDATE callbacks SET status = 'delivered', attempt = ?, next_at = NULL WHERE id = ?", attempt, callback.id);
      run.event("callback", { callback_id: callback.id, attempt, message: `notified ${origin} (${outcome.detail})` });
    } else if (attempt >= run.config.callbackMaxAttempts) {
      run.sql.exec("UPDATE callbacks SET status = 'failed', attempt = ?, next_at = NULL WHERE id = ?", attempt, callback.id);
      run.event("callback_failed", { callback_id: callback.id, attempt, message: `callback to ${origin} failed ${attempt} times, giving up: ${outcome.detail}` });
    } else {
      const next = Date.now() + callbackBackoffMs(attempt);
      run.sql.exec("UPDATE callbacks SET attempt = ?, next_at = ? WHERE id = ?", attempt, next, callback.id);
      run.event("warning", { message: `callback attempt ${attempt} to ${origin} failed (${outcome.detail}); retrying in ${Math.round((next - Date.now()) / 1000)} s`, callback_id: callback.id });
    }
  }
}
