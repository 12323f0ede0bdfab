import Fastify, { type FastifyInstance } from "fastify";
import { verifyRequest } from "../contracts/signing.ts";
import { FfmpegError } from "./ffmpeg.ts";
import { registerAudioRoutes } from "./audio/routes.ts";
import { registerFinishRoutes } from "./finish/routes.ts";
import { registerImageRoutes } from "./images/routes.ts";
import { registerVideoRoutes } from "./video/routes.ts";
import { InputError, UpstreamError, jsonBody } from "./io.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "./config.ts";

export async function buildServer(config: MediaNodeConfig): Promise<FastifyInstance> {
  const app = Fastify({ logger: config.logger ?? false, bodyLimit: 4 * 1024 * 1024 });

  app.addContentTypeParser("application/json", { parseAs: "string" }, jsonBody);
  // Keep the raw body: the signature covers the exact bytes sent.
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
  return app;
}
