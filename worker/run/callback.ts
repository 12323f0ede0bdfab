import type { CallbackNotification } from "../../contracts/api.ts";
import { signWebhook } from "../../contracts/signing.ts";

/**
 * `callback_url` notifications: when a video ends, its run POSTs a Standard-Webhooks-signed
 * `CallbackNotification` there (the URL was checked at admission, api/generate.ts). Delivery
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
