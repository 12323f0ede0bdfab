import Fastify, { type FastifyInstance } from "fastify";
import { jsonBody } from "../media-node/io.ts";
import { type ServerLogSettings, serverLogOptions } from "../media-node/request-log.ts";
import type { DraftSettings } from "./options.ts";
import { registerDraftModels } from "./routes.ts";

/**
 * The draft model server as its own HTTP server: Replicate's predictions API (routes.ts) and
 * nothing else. It runs as its own process (main.ts), never inside media-node, so the
 * production media image holds no model stand-in.
 */

export interface DraftServerOptions {
  /** The same structured request log as media-node's; none when absent. */
  log?: ServerLogSettings;
}

export async function buildDraftServer(settings: DraftSettings, options: DraftServerOptions = {}): Promise<FastifyInstance> {
  // Inputs may carry images as data: URIs (as Replicate accepts), hence more than fastify's 1 MiB.
  const app = Fastify({ ...serverLogOptions(options.log), bodyLimit: 4 * 1024 * 1024 });
  app.addContentTypeParser("application/json", { parseAs: "string" }, jsonBody);
  registerDraftModels(app, settings);
  return app;
}
