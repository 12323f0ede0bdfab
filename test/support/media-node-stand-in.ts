import type { z } from "zod";
import { contextFromHeaders, type LogContext } from "../../contracts/log.ts";
import {
  CompositeRequest,
  CompositeResponse,
  INGEST_IMAGE_FIELD,
  INGEST_LIMITS,
  IngestImageRequest,
  MEDIA_NODE_BODY_LIMIT_BYTES,
  type IngestImageResponse,
  LastFrameRequest,
  LastFrameResponse,
  type MediaError,
  NormalizeChunkRequest,
  NormalizeChunkResponse,
  PaletteTransferRequest,
  PaletteTransferResponse,
  PrepareMusicRequest,
  type PrepareMusicResponse,
  ReframeRequest,
  ReframeResponse,
  STORAGE_RETRY_AFTER_SECONDS,
  STORAGE_UNAVAILABLE_HEADER,
  contractRefusal,
  cueFrames,
} from "../../contracts/media.ts";
import { chunkFramesUnder } from "../../lib/stitch-plan.ts";
import { inAllowedPlace } from "../../media-node/images/allowed-places.ts";
import { buildCues, placeLines } from "../../lib/voice-cues.ts";
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
 * media-node (Node, ffmpeg, sharp) cannot run: the same body limit (413 before the signature is
 * read), the same signature check (contracts/signing.ts, 401 `missing or invalid request
 * signature`), the same 404 for a route it does not have (`absent` takes routes away, as an
 * image older than the Worker lacks them), `GET /health`, and the routes the chunk step
 * calls (composite, reframe, palette-transfer, chunks/last-frame, chunks/normalize), the soundtrack's mix (audio/prepare) and brand-asset ingest (below) with their contracts (a body that fails the request schema is a 422
 * naming the field, like media-node's `parse`; every error answer is contracts/media.ts MediaError, its `field` set where
 * media-node sets it: test/media-node-stand-in.test.ts holds the two to the same answers), and the ids media-node's request log reads from the
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
  "/v1/media/audio/prepare": PrepareMusicRequest,
} as const;
type Route = keyof typeof SCHEMAS;

function answer(path: Route, body: unknown): { ok: true; response: unknown } | { ok: false; refusal: MediaError } {
  const parsed = SCHEMAS[path].safeParse(body);
  if (!parsed.success) return { ok: false, refusal: contractRefusal(parsed.error) };
  const request = parsed.data;
  if ("music_url" in request) return soundtrack(request);
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

/**
 * A soundtrack as media-node's mix answers it, at the targets asked for. The stand-in has no
 * audio to hear, so it places only lines handed their speech (`speech`, what audio/speech
 * answered): a line without is a 422 here, where media-node would find it itself.
 */
function soundtrack(request: PrepareMusicRequest): { ok: true; response: PrepareMusicResponse } | { ok: false; refusal: MediaError } {
  const measured = { duration_s: request.frames / request.fps, bytes: 0, integrated_lufs: request.loudness_lufs, true_peak_db: request.true_peak_db, normalization: "linear" as const, loops: 1 };
  const voiceover = request.voiceover;
  if (!voiceover) return { ok: true, response: { ...measured, voiceover: null } };
  const unheard = voiceover.phrases.findIndex((p) => !p.speech);
  if (unheard >= 0) return { ok: false, refusal: { error: `voiceover.phrases.${unheard}.url: the stand-in places only lines handed their speech`, field: `voiceover.phrases.${unheard}.url` } };
  const placed = placeLines(voiceover.phrases.map((p) => ({ text: p.text, atFrame: p.at_frame, speechS: p.speech!.samples / 48_000 })), request.frames, request.fps);
  if (!Array.isArray(placed)) return { ok: false, refusal: { error: `voiceover.phrases.${placed.index}: ${placed.error}`, field: `voiceover.phrases.${placed.index}` } };
  return { ok: true, response: { ...measured, voiceover: { phrases: placed, cues: buildCues(placed), duck_db: voiceover.duck_db, voice_bytes: voiceover.voice_url ? 0 : null, captions_bytes: voiceover.captions_url ? 0 : null } } };
}

const INGEST_ROUTE = "/v1/media/images/ingest";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** How the stand-in reaches URLs (a source's GET, an output's PUT); in workerd, the Worker's own `/media` route. */
export type StandInStorage = (request: Request) => Promise<Response>;

/** A media-node answer: its status, body and headers. */
type Answer = { status: number; body: unknown; headers?: Record<string, string> };
const refused = (refusal: MediaError): Answer => ({ status: 422, body: refusal });
/** Refusals of the source URL and of the image it held, named as media-node names them (media-node/images/safe-fetch.ts). */
const refusedSource = (error: string) => refused({ error, field: "source_url" satisfies keyof IngestImageRequest });
const refusedImage = (error: string) => refused({ error, field: INGEST_IMAGE_FIELD });

/**
 * Brand-asset ingest as media-node answers it (media-node/images/routes.ts): the contract and its
 * ceilings; the fetch policy, in the stand-in's reach: only `allowedOrigins` (a folder each, as
 * media-node's), every other source refused — plain http as media-node words it, https because
 * the stand-in cannot resolve names to judge them; a source that cannot be read is the client's
 * 422 naming source_url, or, `staged` (our storage holding the client's upload), our storage's
 * 503 with Retry-After, as is its failing to take the output; the byte limit; then the image. The stand-in cannot decode: it measures a
 * PNG by its header (the checks media-node makes on sizes, the same) and refuses JPEG and WebP,
 * which media-node would decode; what it stores at output_url is the PNG as read, not re-encoded.
 */
async function ingest(body: unknown, storage: StandInStorage | undefined, allowedOrigins: readonly string[]): Promise<Answer> {
  const parsed = IngestImageRequest.safeParse(body);
  if (!parsed.success) return refused(contractRefusal(parsed.error));
  const request = parsed.data;
  if (request.max_bytes > INGEST_LIMITS.maxBytesCeiling) return refused({ error: `max_bytes: ${request.max_bytes} is over media-node's ${INGEST_LIMITS.maxBytesCeiling} byte ceiling`, field: "max_bytes" });
  if (request.max_pixels > INGEST_LIMITS.maxPixelsCeiling) return refused({ error: `max_pixels: ${request.max_pixels} is over media-node's ${INGEST_LIMITS.maxPixelsCeiling} pixel ceiling`, field: "max_pixels" });
  const source = new URL(request.source_url);
  if (!inAllowedPlace(source, allowedOrigins)) return refusedSource(source.protocol === "https:" ? "source_url: the stand-in reaches only its allowed origins" : `source_url must use https (got ${source.protocol})`);
  if (!storage) throw new Error("the media-node stand-in was asked to ingest without a storage to read from");
  const unreachable = (reason: string): Answer =>
    request.staged
      ? { status: 503, body: { error: `our storage did not hand back the staged source: ${reason}` } satisfies MediaError, headers: { "retry-after": String(STORAGE_RETRY_AFTER_SECONDS), [STORAGE_UNAVAILABLE_HEADER]: "1" } }
      : refusedSource(reason);
  let response: Response;
  try {
    response = await storage(new Request(request.source_url));
  } catch (error) {
    return unreachable(`source_url could not be fetched (${(error as Error).message})`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    return unreachable(`source_url answered ${response.status}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > request.max_bytes) return refusedImage(`image is ${bytes.length} bytes, over the ${request.max_bytes} byte limit`);
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return refusedImage("not a PNG, JPEG or WebP image (the stand-in reads PNG only)");
  if (bytes.length < 24) return refusedImage("PNG image could not be decoded: no header");
  const header = new DataView(bytes.buffer, bytes.byteOffset);
  const width = header.getUint32(16);
  const height = header.getUint32(20);
  const { minSide } = INGEST_LIMITS;
  if (width < minSide || height < minSide) return refusedImage(`image is ${width}x${height}, under the ${minSide}x${minSide} minimum`);
  if (width * height > request.max_pixels) return refusedImage(`image is ${width}x${height} (${width * height} pixels), over the ${request.max_pixels} pixel limit`);
  // Our storage unreachable or failing (5xx) on the output is our outage, as for a staged source; a refused presign (4xx) is a 502.
  const notTaken = (reason: string): Answer => ({ status: 503, body: { error: `our storage did not take the ingested image: ${reason}` } satisfies MediaError, headers: { "retry-after": String(STORAGE_RETRY_AFTER_SECONDS), [STORAGE_UNAVAILABLE_HEADER]: "1" } });
  let stored: Response;
  try {
    stored = await storage(new Request(request.output_url, { method: "PUT", body: bytes, headers: { "content-type": "image/png", "content-length": String(bytes.length) } }));
  } catch (error) {
    return notTaken((error as Error).message);
  }
  if (!stored.ok) {
    await stored.body?.cancel();
    if (stored.status >= 500) return notTaken(`storing output answered ${stored.status}`);
    return { status: 502, body: { error: `storing output answered ${stored.status}` } satisfies MediaError };
  }
  return { status: 200, body: { width, height, format: "png", bytes: bytes.length } satisfies z.infer<typeof IngestImageResponse> };
}

export class MediaNodeStandIn {
  /** Requests being worked on right now, and the most there ever were at once. */
  active = 0;
  peak = 0;
  readonly served: string[] = [];
  /** The log context each served request's headers named. */
  readonly contexts: LogContext[] = [];
  readonly requests: { path: string; body: unknown }[] = [];
  /** Who passed on each request that reached it, accepted or refused (`url`, or the container instance's name). */
  readonly reached: string[] = [];
  /** Routes this media-node does not have: it answers them as every unknown route, 404 once the signature holds. */
  readonly absent = new Set<string>();
  holding = false;
  private readonly secret: string;
  /** For ingest: how sources are read and outputs written, and the places media-node is configured to allow. */
  private readonly ingestFrom: { storage: StandInStorage; allowedOrigins: readonly string[] } | undefined;

  constructor(secret: string, ingestFrom: { storage: StandInStorage; allowedOrigins: readonly string[] } | undefined = undefined) {
    this.secret = secret;
    this.ingestFrom = ingestFrom;
  }

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
    const notFound = () => Response.json({ error: `Route ${request.method}:${url.pathname} not found` } satisfies MediaError, { status: 404 });
    if (!url.pathname.startsWith("/v1/media/")) return notFound();
    this.reached.push(servedBy);
    const bytes = new Uint8Array(await request.arrayBuffer());
    // fastify's bodyLimit refuses it while reading, before the signature check sees the body.
    if (bytes.length > MEDIA_NODE_BODY_LIMIT_BYTES) return Response.json({ error: "Request body is too large", field: "body" } satisfies MediaError, { status: 413 });
    const body = new TextDecoder().decode(bytes);
    if (!(await verifyRequest(this.secret, request.method, `${url.pathname}${url.search}`, body, request.headers))) {
      return Response.json({ error: "missing or invalid request signature" } satisfies MediaError, { status: 401 });
    }
    if (this.absent.has(url.pathname) || (url.pathname !== INGEST_ROUTE && !(url.pathname in SCHEMAS))) return notFound();
    let payload: unknown;
    try {
      payload = body === "" ? {} : JSON.parse(body);
    } catch {
      return Response.json({ error: "request body is not valid JSON", field: "body" } satisfies MediaError, { status: 422 });
    }
    if (url.pathname === INGEST_ROUTE) {
      if (IngestImageRequest.safeParse(payload).success) this.requests.push({ path: url.pathname, body: payload });
      const answered = await ingest(payload, this.ingestFrom?.storage, this.ingestFrom?.allowedOrigins ?? []);
      return Response.json(answered.body, { status: answered.status, headers: answered.headers });
    }
    const result = answer(url.pathname as Route, payload);
    if (!result.ok) return Response.json(result.refusal, { status: 422 });
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
