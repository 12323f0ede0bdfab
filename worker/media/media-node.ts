import type { z } from "zod";
import { contextHeaders, type LogContext } from "../../contracts/log.ts";
import { MediaError } from "../../contracts/media.ts";
import { signRequest } from "../../contracts/signing.ts";

/**
 * Signed calls from the Worker to media-node over any `fetch`: plain HTTP, or the container
 * pool's (media-node-transport.ts picks which).
 */

export class MediaNodeError extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  /** Set when media-node (or the container pool) was too busy to start the work: try again after this many seconds. */
  readonly busyForSeconds?: number;
  /** media-node's own words (its answer's `error`, or the start of a body that is not its error contract), without this call's prefix. */
  readonly reason: string;
  /** The request field a refusal is about, as media-node's answer names it (contracts/media.ts MediaError); undefined when it names none. */
  readonly field?: string;
  constructor(message: string, retryable: boolean, status?: number, busyForSeconds?: number, answer?: { reason: string; field?: string }) {
    super(message);
    this.retryable = retryable;
    this.status = status;
    this.busyForSeconds = busyForSeconds;
    this.reason = answer?.reason ?? message;
    this.field = answer?.field;
    this.name = "MediaNodeError";
  }
}

export interface MediaNode {
  call<Res extends z.ZodType>(path: string, body: unknown, response: Res, timeoutMs?: number): Promise<z.infer<Res>>;
  /** The same client, whose calls name the video and job they are for (media-node logs them with its request lines). */
  about(context: LogContext): MediaNode;
}

export function mediaNode(baseUrl: string, secret: string, fetcher: typeof fetch = fetch, context: LogContext = {}): MediaNode {
  return {
    about: (more) => mediaNode(baseUrl, secret, fetcher, { ...context, ...more }),
    async call(path, body, response, timeoutMs = 5 * 60_000) {
      const payload = JSON.stringify(body);
      const headers = await signRequest(secret, "POST", path, payload);
      let res: Response;
      try {
        res = await fetcher(`${baseUrl}${path}`, {
          method: "POST",
          headers: { ...headers, ...contextHeaders(context), "content-type": "application/json" },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new MediaNodeError(`media-node unreachable at ${path}: ${(error as Error).message}`, true);
      }
      const text = await res.text();
      if (!res.ok) {
        // A body outside the error contract (a proxy's HTML 502, a truncated answer) is still an answer with a status: its start is the reason.
        const answer = MediaError.safeParse(jsonOrNull(text));
        const reason = answer.success ? answer.data.error : text.slice(0, 500);
        // 422 means the input itself is bad: trying again cannot help.
        throw new MediaNodeError(`media-node ${path} answered ${res.status}: ${reason}`, res.status !== 422 && res.status !== 400, res.status, busyFor(res), {
          reason,
          field: answer.success ? answer.data.field : undefined,
        });
      }
      const parsed = response.safeParse(jsonOrNull(text));
      if (!parsed.success) throw new MediaNodeError(`media-node ${path} answered an unexpected body`, true);
      return parsed.data;
    },
  };
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A busy answer's wait: 503 or 429 with Retry-After in seconds (at least 1); otherwise undefined. */
function busyFor(res: Response): number | undefined {
  if (res.status !== 503 && res.status !== 429) return undefined;
  const seconds = Number(res.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : undefined;
}
