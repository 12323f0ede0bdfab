import { Container } from "@cloudflare/containers";
import type { MediaError } from "../../contracts/media.ts";
import { MEDIA_NODE_CONTAINER } from "./container-shape.ts";

/**
 * media-node in production: a Cloudflare Container (the `Dockerfile` image) behind a
 * Container-enabled Durable Object, one object per instance (`media-node-<n>`, see
 * container-pool.ts). The object admits at most one request per vCPU; past that it answers
 * 503 at once with MEDIA_NODE_BUSY_HEADER, so the caller tries another instance and, when all
 * are full, the queue retries later: a request is accepted only when it can start.
 */

/** Marks a 503 that means "this instance is full", as opposed to a failure inside media-node. */
export const MEDIA_NODE_BUSY_HEADER = "x-media-node-busy";

export class MediaNodeContainer extends Container<Env> {
  override defaultPort = MEDIA_NODE_CONTAINER.port;
  /**
   * An idle instance sleeps after 5 minutes: the encodes of one video arrive spread over its
   * chunk phase (a chunk every ~45 s per beat on Replicate), so it stays warm for a whole
   * video, while the minutes between videos are not billed. Any request renews the timer.
   */
  override sleepAfter = "5m";
  /** It fetches brand assets from the internet and reads and writes R2 through presigned URLs. */
  override enableInternet = true;
  /** Ready means media-node answers its health route, not merely that the port is open. */
  override pingEndpoint = "localhost/health";
  private admitted = 0;

  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env, { envVars: { MEDIA_NODE_SECRET: env.MEDIA_NODE_SECRET } });
  }

  override async fetch(request: Request): Promise<Response> {
    if (this.admitted >= MEDIA_NODE_CONTAINER.slotsPerInstance) {
      return Response.json(
        { error: `media-node instance is busy (${this.admitted} of ${MEDIA_NODE_CONTAINER.slotsPerInstance} slots in use)` } satisfies MediaError,
        { status: 503, headers: { [MEDIA_NODE_BUSY_HEADER]: "1", "retry-after": "2" } },
      );
    }
    this.admitted++;
    try {
      // media-node answers only once its work is done, so the slot is held for the whole encode.
      return await super.fetch(request);
    } finally {
      this.admitted--;
    }
  }
}
