import type { MediaError } from "../../contracts/media.ts";
import { instanceBusy } from "./media-node.ts";

/**
 * Spreading media-node requests over the container instances. Each request starts at a random
 * instance and, while an instance answers busy (503 or 429: full, or no container could be
 * started; media-node.ts `instanceBusy`), moves on to the next; the first instance with a free
 * slot takes it. Any other answer is the one every instance would give (a refusal of the request
 * itself: its signature, route or size; our storage's outage) and is passed on at once. When
 * every instance is full one busy 503 is returned, which media-node.ts turns into a retryable
 * error: the queue message comes back later (back-pressure) instead of waiting inside a busy instance.
 *
 * Instances are addressed by name (`media-node-<n>`), as `getRandom` in @cloudflare/containers
 * does, so the same few objects, and the containers behind them, are reused.
 */

/** What the pool needs of the binding (a DurableObjectNamespace of MediaNodeContainer). */
export interface ContainerNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
}

export function instanceName(index: number): string {
  return `media-node-${index}`;
}

/** The order in which one request visits the instances: every instance once, from a random one. */
export function visitOrder(instances: number, random: () => number = Math.random): number[] {
  const start = Math.min(instances - 1, Math.floor(random() * instances));
  return Array.from({ length: instances }, (_, step) => (start + step) % instances);
}

export function containerFetcher(namespace: ContainerNamespace, instances: number, random: () => number = Math.random): typeof fetch {
  return async (input, init) => {
    let refused: Response | undefined;
    for (const index of visitOrder(instances, random)) {
      const stub = namespace.get(namespace.idFromName(instanceName(index)));
      const response = await stub.fetch(new Request(input, init));
      if (!instanceBusy(response)) return response;
      await response.body?.cancel();
      refused = response;
    }
    // Every instance refused: report it as one busy answer naming the pool.
    return Response.json({ error: `all ${instances} media-node instances are busy or starting` } satisfies MediaError, { status: 503, headers: { "retry-after": refused?.headers.get("retry-after") ?? "2" } });
  };
}
