import Fastify, { errorCodes, type FastifyInstance } from "fastify";
import sharp from "sharp";
import { MEDIA_NODE_BODY_LIMIT_BYTES, type MediaError, STORAGE_UNAVAILABLE_HEADER } from "../contracts/media.ts";
import { verifyRequest } from "../contracts/signing.ts";
import { FfmpegError } from "./ffmpeg.ts";
import { registerAudioRoutes } from "./audio/routes.ts";
import { registerFinishRoutes } from "./finish/routes.ts";
import { registerImageRoutes } from "./images/routes.ts";
import { registerSeamRoutes } from "./video/seam-routes.ts";
import { registerVideoRoutes } from "./video/routes.ts";
import { InputError, StorageUnavailableError, UpstreamError, jsonBody } from "./io.ts";
import { StitchPlanError } from "../lib/stitch-plan.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "./config.ts";
import { BUSY_RETRY_AFTER_SECONDS, EncodeSlots, HEAVY_ROUTES, admittedAsFinish } from "./admission.ts";
import { serverLogOptions } from "./request-log.ts";

export async function buildServer(config: MediaNodeConfig): Promise<FastifyInstance> {
  // Every image media-node touches is a new one (a frame, a reference, a layer): libvips's
  // operation cache (up to 50 MiB by default) would only hold memory, never be hit.
  sharp.cache(false);
  const app = Fastify({ ...serverLogOptions(config.log && { service: "media-node", ...config.log }), bodyLimit: MEDIA_NODE_BODY_LIMIT_BYTES });

  const slots = new EncodeSlots(config.encodeSlots);
  /** Requests that hold an encode slot until their answer is sent. */
  const holding = new Set<string>();
  app.addContentTypeParser("application/json", { parseAs: "string" }, jsonBody);
  // Keep the raw body: the signature covers the exact bytes sent.
  app.addHook("preParsing", async (request, _reply, payload) => {
    // Counted here, before the signature is checked: fastify's bodyLimit applies only after this
    // hook, so without it any caller, signed or not, could make media-node hold a body of any size.
    const declared = Number(request.headers["content-length"]);
    if (declared > MEDIA_NODE_BODY_LIMIT_BYTES) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of payload) {
      received += (chunk as Buffer).length;
      if (received > MEDIA_NODE_BODY_LIMIT_BYTES) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    (request as { rawBody?: string }).rawBody = raw.toString("utf8");
    const { Readable } = await import("node:stream");
    return Readable.from([raw]);
  });
  app.addHook("preHandler", async (request, reply) => {
    if (!request.url.startsWith(MEDIA_PREFIX)) return;
    const raw = (request as { rawBody?: string }).rawBody ?? "";
    const headers = { get: (name: string) => (request.headers[name] as string | undefined) ?? null };
    if (!(await verifyRequest(config.secret, request.method, request.url, raw, headers))) {
      return reply.code(401).send({ error: "missing or invalid request signature" } satisfies MediaError);
    }
    const route = request.url.split("?")[0]!;
    if (!HEAVY_ROUTES.has(route)) return;
    const finishing = admittedAsFinish(route, request.body);
    if (!slots.tryTake(finishing)) {
      const limit = slots.limitFor(finishing);
      request.log.info({ event: "request.busy", slots: limit });
      return reply
        .code(503)
        .header("retry-after", String(BUSY_RETRY_AFTER_SECONDS))
        .send({ error: `media-node is busy: all ${limit} encode slots ${finishing ? "a finish may take " : ""}are in use` } satisfies MediaError);
    }
    holding.add(request.id);
  });
  app.addHook("onResponse", async (request) => {
    if (holding.delete(request.id)) slots.give();
  });

  app.setErrorHandler((error, request, reply) => {
    const status = statusOf(error);
    const message = (error as Error).message;
    const field = status < 500 ? fieldOf(error) : undefined;
    // The reason, beside the request's end line that carries the status; a stack only for a failure none of our errors names.
    if (status < 500) request.log.warn({ event: "request.refused", status, error: message, field });
    else request.log.error({ event: "request.failed", status, error: message, stack: named(error) ? undefined : (error as Error).stack });
    if (error instanceof StorageUnavailableError) reply.header("retry-after", String(error.retryAfterSeconds)).header(STORAGE_UNAVAILABLE_HEADER, "1");
    // The rest of an oversized body is not read: the connection ends with the answer.
    if (status === 413) reply.header("connection", "close");
    return reply.code(status).send({ error: message, ...(field ? { field } : {}) } satisfies MediaError);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `Route ${request.method}:${request.url.split("?")[0]} not found` } satisfies MediaError));

  app.get("/health", async () => ({ ok: true }));

  registerImageRoutes(app, config);
  registerVideoRoutes(app, config);
  registerSeamRoutes(app, config);
  registerAudioRoutes(app, config);
  registerFinishRoutes(app, config);
  return app;
}

function named(error: unknown): boolean {
  return error instanceof InputError || error instanceof StitchPlanError || error instanceof UpstreamError || error instanceof FfmpegError || error instanceof StorageUnavailableError;
}

/** The request field a refusal is about (contracts/media.ts MediaError), when it is known. */
function fieldOf(error: unknown): string | undefined {
  if (error instanceof InputError || error instanceof StitchPlanError) return error.field;
  // A body over the limit (the raw-body hook's refusal, as fastify's bodyLimit names it).
  if ((error as { code?: string }).code === "FST_ERR_CTP_BODY_TOO_LARGE") return "body";
  return undefined;
}

/** The answer's status for an error: the input's fault (4xx), an upstream's (502), our storage's for now (503), or ours (500). */
function statusOf(error: unknown): number {
  if (error instanceof InputError || error instanceof StitchPlanError) return 422;
  if (error instanceof UpstreamError) return 502;
  if (error instanceof StorageUnavailableError) return 503;
  if (error instanceof FfmpegError) return 500;
  const status = (error as { statusCode?: number }).statusCode;
  return status && status >= 400 && status < 500 ? status : 500;
}
