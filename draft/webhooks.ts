import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Prediction, TERMINAL_STATUSES, type WebhookEvent } from "../contracts/prediction.ts";
import { signWebhook } from "../contracts/signing.ts";
import { redact } from "../media-node/io.ts";
import type { DraftOptions } from "./options.ts";

/**
 * Webhook delivery as Replicate does it: POST the prediction JSON, signed per Standard
 * Webhooks, retried with bounded backoff on network errors and non-2xx answers. Deliveries
 * run off the render path; one prediction's messages go out in order (unless the
 * `webhookMode` knob says otherwise).
 */

export interface WebhookTarget {
  url: string;
  events: ReadonlySet<WebhookEvent>;
}

interface Message {
  /** Same id on every attempt and duplicate, so receivers can deduplicate. */
  id: string;
  url: string;
  body: string;
  /** Not before this time (ms epoch): the `{delayMs}` mode. */
  dueAt: number;
}

type DeliveryOptions = Pick<DraftOptions, "webhookMode" | "webhookAttempts" | "webhookBackoffMs" | "webhookMaxBackoffMs" | "webhookTimeoutMs">;

export class WebhookDispatcher {
  private readonly chains = new Map<string, Promise<void>>();
  /** shuffle mode: messages held per prediction until it completes. */
  private readonly held = new Map<string, Message[]>();
  private readonly closing = new AbortController();
  private readonly secret: string;
  private readonly options: () => DeliveryOptions;
  private readonly onGiveUp: (message: string) => void;

  constructor(
    secret: string,
    options: () => DeliveryOptions,
    onGiveUp: (message: string) => void = () => undefined,
  ) {
    this.secret = secret;
    this.options = options;
    this.onGiveUp = onGiveUp;
  }

  /** Called for every lifecycle event of every prediction; never throws, never waits. */
  notify(target: WebhookTarget | undefined, event: WebhookEvent, snapshot: Prediction): void {
    if (this.closing.signal.aborted) return;
    const terminal = TERMINAL_STATUSES.includes(snapshot.status);
    const mode = this.options().webhookMode;
    const held = this.held.get(snapshot.id);
    if (target && target.events.has(event) && mode !== "none") {
      const message: Message = {
        id: `msg_${randomBytes(12).toString("hex")}`,
        url: target.url,
        body: JSON.stringify(snapshot),
        dueAt: Date.now() + (typeof mode === "object" ? mode.delayMs : 0),
      };
      if (mode === "shuffle" || held) {
        if (held) held.push(message);
        else this.held.set(snapshot.id, [message]);
      } else {
        this.enqueue(snapshot.id, [message], mode === "duplicate");
      }
    }
    if (terminal) {
      const messages = this.held.get(snapshot.id);
      this.held.delete(snapshot.id);
      // Newest first: `completed` lands before `start`, the worst order a receiver can see.
      if (messages?.length) this.enqueue(snapshot.id, messages.reverse(), false);
    }
  }

  private enqueue(predictionId: string, messages: Message[], twice: boolean): void {
    const previous = this.chains.get(predictionId) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (const message of messages) {
        await this.deliver(message);
        if (twice) await this.deliver(message);
      }
    });
    this.chains.set(predictionId, next);
    void next.finally(() => {
      if (this.chains.get(predictionId) === next) this.chains.delete(predictionId);
    });
  }

  private async deliver(message: Message): Promise<void> {
    const { webhookAttempts, webhookBackoffMs, webhookMaxBackoffMs, webhookTimeoutMs } = this.options();
    const signal = this.closing.signal;
    try {
      const wait = message.dueAt - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      let problem = "";
      for (let attempt = 1; attempt <= webhookAttempts; attempt++) {
        if (signal.aborted) return;
        const headers = await signWebhook(this.secret, message.id, Math.floor(Date.now() / 1000), message.body);
        try {
          const response = await fetch(message.url, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json", "user-agent": "adreel-draft-webhooks/1" },
            body: message.body,
            signal: AbortSignal.any([signal, AbortSignal.timeout(webhookTimeoutMs)]),
          });
          await response.arrayBuffer().catch(() => undefined);
          if (response.ok) return;
          problem = `answered ${response.status}`;
        } catch (error) {
          problem = (error as Error).message;
        }
        if (attempt < webhookAttempts) {
          await sleep(Math.min(webhookMaxBackoffMs, webhookBackoffMs * 2 ** (attempt - 1)), undefined, { signal });
        }
      }
      this.onGiveUp(`webhook ${message.id} to ${redact(message.url)} gave up after ${webhookAttempts} attempts: ${problem}`);
    } catch (error) {
      if (!signal.aborted) this.onGiveUp(`webhook ${message.id} to ${redact(message.url)} failed: ${(error as Error).message}`);
    }
  }

  /** Stop retries and pending deliveries; resolves when none is in flight. */
  async close(): Promise<void> {
    this.closing.abort();
    this.held.clear();
    await Promise.allSettled([...this.chains.values()]);
  }
}
