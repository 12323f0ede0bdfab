import type { z } from "zod";
import { signRequest } from "../../contracts/signing.ts";
import type { Config } from "../config.ts";
import { MEDIA_NODE_CONTAINER } from "./container-shape.ts";
import { type ContainerNamespace, containerFetcher } from "./container-pool.ts";

/**
 * Signed calls from the Worker to media-node, over one of two transports that look the same
 * to every caller: plain HTTP to `MEDIA_NODE_URL` (local development, tests, or a media-node
 * hosted elsewhere) or the `MEDIA_NODE_CONTAINER` binding (production: Cloudflare Containers).
 */

export class MediaNodeError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "MediaNodeError";
  }
}

export interface MediaNode {
  call<Res extends z.ZodType>(path: string, body: unknown, response: Res, timeoutMs?: number): Promise<z.infer<Res>>;
}

export function mediaNode(baseUrl: string, secret: string, fetcher: typeof fetch = fetch): MediaNode {
  return {
    async call(path, body, response, timeoutMs = 5 * 60_000) {
      const payload = JSON.stringify(body);
      const headers = await signRequest(secret, "POST", path, payload);
      let res: Response;
      try {
        res = await fetcher(`${baseUrl}${path}`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new MediaNodeError(`media-node unreachable at ${path}: ${(error as Error).message}`, true);
      }
      const text = await res.text();
      if (!res.ok) {
        let message = text.slice(0, 500);
        try {
          message = (JSON.parse(text) as { error?: string }).error ?? message;
        } catch {
          // Keep raw text.
        }
        // 422 means the input itself is bad: trying again cannot help.
        throw new MediaNodeError(`media-node ${path} answered ${res.status}: ${message}`, res.status !== 422 && res.status !== 400, res.status);
      }
      const parsed = response.safeParse(JSON.parse(text));
      if (!parsed.success) throw new MediaNodeError(`media-node ${path} answered an unexpected body`, true);
      return parsed.data;
    },
  };
}

/** Requests through the container binding need an absolute URL; only its path reaches media-node. */
const CONTAINER_ORIGIN = "http://media-node.container";

/** media-node as this deployment reaches it: MEDIA_NODE_URL when set, else its containers. */
export function connectMediaNode(env: Env, config: Config, random: () => number = Math.random): MediaNode {
  if (config.mediaNodeUrl) return mediaNode(config.mediaNodeUrl, config.mediaNodeSecret);
  const namespace: ContainerNamespace | undefined = env.MEDIA_NODE_CONTAINER;
  if (!namespace) throw new MediaNodeError("media-node is not configured: set MEDIA_NODE_URL or bind MEDIA_NODE_CONTAINER", false);
  return mediaNode(CONTAINER_ORIGIN, config.mediaNodeSecret, containerFetcher(namespace, MEDIA_NODE_CONTAINER.instances, random));
}
