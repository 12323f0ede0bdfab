import type { z } from "zod";
import { contextHeaders, type LogContext } from "../../contracts/log.ts";
import { contractRefusal, MEDIA_NODE_BODY_LIMIT_BYTES, MediaError, STORAGE_UNAVAILABLE_HEADER } from "../../contracts/media.ts";
import { signRequest, WEBHOOK_TOLERANCE_SECONDS } from "../../contracts/signing.ts";

/**
 * Signed calls from the Worker to media-node over any `fetch`: plain HTTP, or the container
 * pool's (media-node-transport.ts picks which).
 */

/**
 * Whose an unsuccessful call to media-node is, and so what can mend it. Every caller decides by
 * this one verdict (MEDIA_NODE_ANSWERS): the queue consumer whether to send a step again, asset
 * ingest what to tell the client, the container pool whether another instance may answer otherwise.
 * - `passing`: media-node busy, restarting or failing, our storage behind it, the network between:
 *   the same request later may succeed (`busyForSeconds` when media-node said how long to wait).
 * - `content`: media-node refused what the request carries; its `field` names which part, and the
 *   caller knows whose that part is (a client's image, or a file of ours). Sent again, refused again.
 * - `ours`: media-node refused the request the Worker built, whatever it carried: its signature,
 *   its route, its size. A deployment fault of ours that no retry mends; the error says what to check.
 */
export type MediaNodeFault = "passing" | "content" | "ours";

/** What an error answer's status means, and for a refusal of ours, what to check. */
interface AnswerMeaning {
  fault: MediaNodeFault;
  check?: string;
}

const OUT_OF_STEP = "the Worker and the media-node image are out of step: deploy both from the same version";

/** media-node's error answers by status (media-node/server.ts, and fastify's own before our code runs). */
const MEDIA_NODE_ANSWERS: Record<number, AnswerMeaning> = {
  // A body that fails the route's contract or an input it cannot use (MediaError `field`).
  400: { fault: "content" },
  422: { fault: "content" },
  // The HMAC or its timestamp (contracts/signing.ts) is refused; the same request signed again is refused again.
  401: { fault: "ours", check: `media-node refused the request's signature: MEDIA_NODE_SECRET must be the same for the Worker and media-node, and their clocks within ${WEBHOOK_TOLERANCE_SECONDS / 60} minutes of each other` },
  // media-node answers no 403 itself: something in front of it (an access rule) refuses the Worker.
  403: { fault: "ours", check: "media-node's address refused the Worker's request: check MEDIA_NODE_SECRET and any access rule in front of media-node" },
  // fastify's answer for a path (or a method on it) media-node has no route for: a route the deployed image lacks.
  404: { fault: "ours", check: `media-node has no such route: ${OUT_OF_STEP}` },
  405: { fault: "ours", check: `media-node does not take this method on that route: ${OUT_OF_STEP}` },
  // A timeout of whatever stood between (a proxy's): the request itself was never judged.
  408: { fault: "passing" },
  // fastify's bodyLimit (MEDIA_NODE_BODY_LIMIT_BYTES): the Worker built a body that size, and would again.
  413: { fault: "ours", check: `media-node refused the request's body as over its ${MEDIA_NODE_BODY_LIMIT_BYTES / 1024 / 1024} MiB limit: the Worker built a request too large for media-node` },
  // fastify has no parser for the content type: the Worker sends JSON, so the two disagree on the wire.
  415: { fault: "ours", check: `media-node refused the request's content type: ${OUT_OF_STEP}` },
  // Busy (admission.ts, the container pool) with Retry-After, as the 503s below.
  429: { fault: "passing" },
};

/** Any other status: a 5xx passes (media-node's own failure, an upstream's, our storage's outage, a container starting); a 4xx refuses the request we built. */
function meaningOf(status: number): AnswerMeaning {
  return MEDIA_NODE_ANSWERS[status] ?? (status >= 500 ? { fault: "passing" } : { fault: "ours", check: `media-node refused the request the Worker built: ${OUT_OF_STEP}` });
}

/**
 * An answer that this instance alone gives: it is full or cannot start the work (503, 429), and
 * not our storage's outage, which every instance shares. The container pool asks the next
 * instance only past these; any other answer, a refusal of ours included, every instance would give.
 */
export function instanceBusy(response: Response): boolean {
  return (response.status === 503 || response.status === 429) && !response.headers.has(STORAGE_UNAVAILABLE_HEADER);
}

export class MediaNodeError extends Error {
  readonly fault: MediaNodeFault;
  readonly status?: number;
  /** Set when media-node (or the container pool) was too busy to start the work: try again after this many seconds. */
  readonly busyForSeconds?: number;
  /** media-node's own words (its answer's `error`, or the start of a body that is not its error contract), without this call's prefix. */
  readonly reason: string;
  /** The request field a refusal is about, as media-node's answer names it (contracts/media.ts MediaError); undefined when it names none. */
  readonly field?: string;
  /** media-node said our storage failed it (STORAGE_UNAVAILABLE_HEADER): an outage of ours, to be named as such to a client. */
  readonly storageOutage: boolean;
  constructor(message: string, fault: MediaNodeFault, answer: { status?: number; busyForSeconds?: number; reason?: string; field?: string; storageOutage?: boolean } = {}) {
    super(message);
    this.fault = fault;
    this.status = answer.status;
    this.busyForSeconds = answer.busyForSeconds;
    this.reason = answer.reason ?? message;
    this.field = answer.field;
    this.storageOutage = answer.storageOutage ?? false;
    this.name = "MediaNodeError";
  }

  /** Only a passing condition is worth the same request again. */
  get retryable(): boolean {
    return this.fault === "passing";
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
        throw new MediaNodeError(`media-node unreachable at ${path}: ${(error as Error).message}`, "passing");
      }
      const text = await res.text();
      if (!res.ok) {
        // A body outside the error contract (a proxy's HTML 502, a truncated answer) is still an answer with a status: its start is the reason.
        const answer = MediaError.safeParse(jsonOrNull(text));
        const reason = answer.success ? answer.data.error : text.slice(0, 500);
        const { fault, check } = meaningOf(res.status);
        const answered = `media-node ${path} answered ${res.status}: ${reason}`;
        // A refusal of ours leads with what to check: it becomes the video's error as it is.
        throw new MediaNodeError(check ? `${check} (${answered})` : answered, fault, {
          status: res.status,
          busyForSeconds: busyFor(res),
          reason,
          field: answer.success ? answer.data.field : undefined,
          storageOutage: res.headers.has(STORAGE_UNAVAILABLE_HEADER),
        });
      }
      const json = jsonOrNull(text);
      const parsed = response.safeParse(json);
      if (parsed.success) return parsed.data;
      // Not JSON at all (cut short, or something in between answered): it may pass. JSON that
      // misses the route's contract is an image that answers another version of it: every
      // instance and every retry would answer the same, so it is ours, and says what to check.
      if (json === null) throw new MediaNodeError(`media-node ${path} answered an unexpected body`, "passing");
      throw new MediaNodeError(`media-node answered outside the route's contract (${contractRefusal(parsed.error).error}): ${OUT_OF_STEP} (media-node ${path} answered 200)`, "ours", { status: res.status });
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
