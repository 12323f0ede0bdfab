import type { z } from "zod";
import { contextFromHeaders, type LogContext } from "../../contracts/log.ts";
import { CompositeRequest, CompositeResponse } from "../../contracts/media.ts";
import { verifyRequest } from "../../contracts/signing.ts";

/**
 * Waits, checking every few milliseconds, until `condition` holds. The requests run inside the
 * container Durable Objects and the test outside them; workerd lets no promise created in one
 * of those contexts be settled from another, so they share plain state and look at it.
 * Correctness does not depend on how fast anything runs: it only waits for the state.
 */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

/**
 * media-node's HTTP surface as the Worker's tests need it inside workerd, where the real
 * media-node (Node, ffmpeg, sharp) cannot run: the same signature check (contracts/signing.ts,
 * 401 `missing or invalid request signature`), `GET /health`, and the composite route with its
 * contract (a body that fails CompositeRequest is a 422 naming the field, like media-node's
 * `parse`), and the ids media-node's request log reads from the `x-adreel-*` headers
 * (contracts/log.ts). A composite does not render: it is held until the test releases it, so a test can
 * keep slots busy without depending on how long an encode takes.
 */
export class MediaNodeStandIn {
  /** Requests being worked on right now, and the most there ever were at once. */
  active = 0;
  peak = 0;
  readonly served: string[] = [];
  /** The log context each served composite's headers named. */
  readonly contexts: LogContext[] = [];
  holding = false;

  constructor(private readonly secret: string) {}

  /** Resolves once `count` composites are being worked on at the same time. */
  whenActive(count: number): Promise<void> {
    return until(() => this.active >= count);
  }

  /** Let every held composite answer, and stop holding new ones. */
  release(): void {
    this.holding = false;
  }

  async handle(request: Request, servedBy = "url"): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/health") return Response.json({ ok: true });
    if (!url.pathname.startsWith("/v1/media/")) return Response.json({ error: `Route ${request.method}:${url.pathname} not found` }, { status: 404 });
    const body = await request.text();
    if (!(await verifyRequest(this.secret, request.method, `${url.pathname}${url.search}`, body, request.headers))) {
      return Response.json({ error: "missing or invalid request signature" }, { status: 401 });
    }
    if (url.pathname !== "/v1/media/images/composite") return Response.json({ error: `Route POST:${url.pathname} not found` }, { status: 404 });
    const parsed = CompositeRequest.safeParse(JSON.parse(body));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Response.json({ error: `${issue?.path.join(".") || "body"}: ${issue?.message}` }, { status: 422 });
    }
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    this.served.push(servedBy);
    this.contexts.push(contextFromHeaders((name) => request.headers.get(name)));
    try {
      await until(() => !this.holding);
      const answer: z.infer<typeof CompositeResponse> = { width: parsed.data.width, height: parsed.data.height, bytes: parsed.data.width * parsed.data.height };
      return Response.json(answer);
    } finally {
      this.active--;
    }
  }
}
