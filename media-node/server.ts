import Fastify, { type FastifyInstance } from "fastify";
import type { z } from "zod";
import { verifyRequest } from "../contracts/signing.ts";
import { FfmpegError } from "./ffmpeg.ts";
import { registerAudioRoutes } from "./audio/routes.ts";
import { registerDraftModels } from "./draft/routes.ts";
import { registerFinishRoutes } from "./finish/routes.ts";
import { registerImageRoutes } from "./images/routes.ts";
import { registerVideoRoutes } from "./video/routes.ts";
import { InputError, UpstreamError } from "./io.ts";

export interface MediaNodeConfig {
  /** Shared secret the Worker signs media requests with. */
  secret: string;
  /** Root for per-request temp directories (removed after each request). */
  tmpDir?: string;
  /** The draft model server (Replicate protocol) is mounted on the same process. */
  draft?: DraftConfig;
  logger?: boolean;
}

export interface DraftConfig {
  /** API token clients must send as `Authorization: Bearer <token>`. */
  token: string;
  /** `whsec_` secret webhooks are signed with. */
  webhookSecret: string;
  /** Base URL this server is reachable at (used in prediction `urls` and output file URLs). */
  publicUrl: string;
  /** Where rendered outputs are kept until they expire. */
  outputDir?: string;
  /** Extra latency added to every prediction, in ms. */
  latencyMs?: number;
  /** Share of predictions that fail, 0..1. */
  failRate?: number;
  /** How many predictions render at once. */
  concurrency?: number;
}

/** Parse a request body with its contract; a mismatch is a 422 naming the field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  throw new InputError(`${field}: ${issue?.message ?? "invalid"}`);
}

/** Routes under this prefix are media operations and must be signed with `secret`. */
export const MEDIA_PREFIX = "/v1/media/";

export async function buildServer(config: MediaNodeConfig): Promise<FastifyInstance> {
  const app = Fastify({ logger: config.logger ?? false, bodyLimit: 4 * 1024 * 1024 });

  // Keep the raw body: the signature covers the exact bytes sent.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, body === "" ? {} : JSON.parse(body as string));
    } catch {
      const error = new InputError("request body is not valid JSON");
      done(error, undefined);
    }
  });
  app.addHook("preParsing", async (request, _reply, payload) => {
    const chunks: Buffer[] = [];
    for await (const chunk of payload) chunks.push(chunk as Buffer);
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
      return reply.code(401).send({ error: "missing or invalid request signature" });
    }
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InputError) return reply.code(422).send({ error: error.message });
    if (error instanceof UpstreamError) return reply.code(502).send({ error: error.message });
    if (error instanceof FfmpegError) return reply.code(500).send({ error: error.message });
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (error as Error).message });
    app.log.error(error);
    return reply.code(500).send({ error: (error as Error).message });
  });

  app.get("/health", async () => ({ ok: true }));

  registerImageRoutes(app, config);
  registerVideoRoutes(app, config);
  registerAudioRoutes(app, config);
  registerFinishRoutes(app, config);
  if (config.draft) {
    const draft = registerDraftModels(app, config.draft);
    app.addHook("onClose", async () => draft.close());
  }
  return app;
}
