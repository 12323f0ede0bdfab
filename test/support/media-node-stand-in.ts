import type { z } from "zod";
import { contextFromHeaders, type LogContext } from "../../contracts/log.ts";
import {
  CompositeRequest,
  CompositeResponse,
  LastFrameRequest,
  LastFrameResponse,
  NormalizeChunkRequest,
  NormalizeChunkResponse,
  PaletteTransferRequest,
  PaletteTransferResponse,
  ReframeRequest,
  ReframeResponse,
  cueFrames,
} from "../../contracts/media.ts";
import { chunkFramesUnder } from "../../lib/stitch-plan.ts";
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
 * 401 `missing or invalid request signature`), `GET /health`, and the routes the chunk step
 * calls (composite, reframe, palette-transfer, chunks/last-frame, chunks/normalize) with their contracts (a body that fails the request schema is a 422
 * naming the field, like media-node's `parse`), and the ids media-node's request log reads from the
 * `x-adreel-*` headers (contracts/log.ts). Nothing renders: a request is answered with what
 * media-node's contract says it answers (for reframe, the crop its rounding cuts; a palette
 * transfer's size and palette distances, and a normalized chunk's bytes, depend on pictures the
 * stand-in does not have, so it answers zeros, and the Worker reads none of them), after being
 * held until the test releases it, so a test can keep slots busy without depending on how long
 * an encode takes. Every accepted request is kept in `requests`.
 */

const SCHEMAS = {
  "/v1/media/images/composite": CompositeRequest,
  "/v1/media/images/reframe": ReframeRequest,
  "/v1/media/images/palette-transfer": PaletteTransferRequest,
  "/v1/media/chunks/normalize": NormalizeChunkRequest,
  "/v1/media/chunks/last-frame": LastFrameRequest,
} as const;
type Route = keyof typeof SCHEMAS;

function answer(path: Route, body: unknown): { ok: true; response: unknown } | { ok: false; error: string } {
  const parsed = SCHEMAS[path].safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join(".") || "body"}: ${issue?.message}` };
  }
  const request = parsed.data;
  if ("layers" in request) return { ok: true, response: { width: request.width, height: request.height, bytes: request.width * request.height } satisfies z.infer<typeof CompositeResponse> };
  if ("keyframes" in request) {
    const keyframes = [...new Set([0, ...request.keyframes])].sort((a, b) => a - b);
    const given = request.decorations;
    const ranges = given ? [...given.overlays.map((o) => ({ from: o.from_frame, to: o.to_frame })), ...(given.captions?.cues ?? []).map((c) => cueFrames(c, request.fps))] : [];
    const decorated = given ? chunkFramesUnder(ranges, given.output_from_frame, request.frames) : [];
    return { ok: true, response: { frames: request.frames, duration_s: request.frames / request.fps, bytes: 0, keyframes, palette: [], decorated } satisfies z.infer<typeof NormalizeChunkResponse> };
  }
  if ("chained" in request) return { ok: true, response: { width: request.width, height: request.height, palette: [] } satisfies z.infer<typeof LastFrameResponse> };
  if ("target_url" in request) return { ok: true, response: { width: 0, height: 0, bytes: 0, distance_before: 0, distance_after: 0 } satisfies z.infer<typeof PaletteTransferResponse> };
  const width = Math.round(request.width / request.zoom);
  const height = Math.round(request.height / request.zoom);
  const crop = { left: Math.round(request.width / 2 + request.dx * request.width - width / 2), top: Math.round(request.height / 2 + request.dy * request.height - height / 2), width, height };
  return { ok: true, response: { width: request.width, height: request.height, bytes: request.width * request.height, crop } satisfies z.infer<typeof ReframeResponse> };
}

export class MediaNodeStandIn {
  /** Requests being worked on right now, and the most there ever were at once. */
  active = 0;
  peak = 0;
  readonly served: string[] = [];
  /** The log context each served request's headers named. */
  readonly contexts: LogContext[] = [];
  readonly requests: { path: string; body: unknown }[] = [];
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
    if (!(url.pathname in SCHEMAS)) return Response.json({ error: `Route POST:${url.pathname} not found` }, { status: 404 });
    const payload = JSON.parse(body) as unknown;
    const result = answer(url.pathname as Route, payload);
    if (!result.ok) return Response.json({ error: result.error }, { status: 422 });
    this.requests.push({ path: url.pathname, body: payload });
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    this.served.push(servedBy);
    this.contexts.push(contextFromHeaders((name) => request.headers.get(name)));
    try {
      await until(() => !this.holding);
      return Response.json(result.response);
    } finally {
      this.active--;
    }
  }
}
