import type { Config } from "../config.ts";
import { type ContainerNamespace, containerFetcher } from "./container-pool.ts";
import { MEDIA_NODE_CONTAINER } from "./container-shape.ts";
import { type MediaNode, MediaNodeError, mediaNode } from "./media-node.ts";

/**
 * How the Worker reaches media-node. Two transports look the same to every caller (the
 * MediaNode interface): plain HTTP to `MEDIA_NODE_URL` (local development, tests, or a
 * media-node hosted elsewhere) or the `MEDIA_NODE_CONTAINER` binding (production: Cloudflare
 * Containers, spread over instances by container-pool.ts).
 */

/** Requests through the container binding need an absolute URL; only its path reaches media-node. */
const CONTAINER_ORIGIN = "http://media-node.container";

export interface MediaNodeTransport {
  /** HTTP client for MEDIA_NODE_URL (tests pass one bound to a stand-in). */
  fetch?: typeof fetch;
  /** Where the container pool starts looking for a free instance. */
  random?: () => number;
}

/** media-node as this deployment reaches it: MEDIA_NODE_URL when set, else its containers. */
export function connectMediaNode(env: Env, config: Config, transport: MediaNodeTransport = {}): MediaNode {
  if (config.mediaNodeUrl) return mediaNode(config.mediaNodeUrl, config.mediaNodeSecret, transport.fetch);
  const namespace: ContainerNamespace | undefined = env.MEDIA_NODE_CONTAINER;
  if (!namespace) throw new MediaNodeError("media-node is not configured: set MEDIA_NODE_URL or bind MEDIA_NODE_CONTAINER", "ours");
  return mediaNode(CONTAINER_ORIGIN, config.mediaNodeSecret, containerFetcher(namespace, MEDIA_NODE_CONTAINER.instances, transport.random));
}
