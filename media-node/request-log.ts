import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from "fastify";
import { contextFromHeaders, redactFields, type LogService } from "../contracts/log.ts";

/**
 * Structured logs for our fastify servers (media-node; the draft model server reuses them):
 * fastify's own logger, pino, writing one JSON record per line (contracts/log.ts: `level` by
 * name, `time`, `service`, an `event`), and a child logger per request bound to the ids the
 * Worker names in its `x-adreel-*` headers, so every line of a request joins the video's story
 * in Workers Logs. Each request gets a `request.start` and a `request.end` line (status,
 * duration); strings are stripped of URL queries (signatures) before they are written.
 */

export interface ServerLogSettings {
  service: LogService;
  /** pino's level name (`info` by default; `silent` writes nothing). */
  level: string;
  /** Where lines go: stdout unless a test listens. */
  stream?: { write(line: string): void };
}

/** The path of a request URL, without its query. */
function pathOf(url: string): string {
  const at = url.indexOf("?");
  return at < 0 ? url : url.slice(0, at);
}

/** fastify's request lines, renamed into events: one when a request arrives, one when its answer is sent. */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.info({ event: "request.start", method: request.method, path: pathOf(request.url) });
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { event: "request.end", method: request.method, path: pathOf(request.url), status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime) };
    if (error || reply.statusCode >= 500) reply.log.error({ ...line, error: error?.message });
    else if (reply.statusCode >= 400) reply.log.warn(line);
    else reply.log.info(line);
  }

  override routeNotFound(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.info({ event: "request.no_route", method: request.method, path: pathOf(request.url) });
  }
}

type LogOptions = Pick<FastifyServerOptions, "logger" | "logController" | "childLoggerFactory">;

/** fastify's logging options for `settings`; without settings, no logger (tests that do not read logs). */
export function serverLogOptions(settings: ServerLogSettings | undefined): LogOptions {
  if (!settings) return { logger: false };
  return {
    logger: {
      level: settings.level,
      base: { service: settings.service },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redactFields(fields),
      },
      // A line fastify writes on its own (the address it listens on) still names an event; one
      // that names its own wins (pino merges its fields over the mixin's).
      mixin: () => ({ event: "server.message" }),
      ...(settings.stream ? { stream: settings.stream } : {}),
    },
    // Health probes (the container's readiness checks) would drown the story.
    logController: new RequestLog({ requestIdLogLabel: "request_id", disableRequestLogging: (request) => pathOf(request.url) === "/health" }),
    childLoggerFactory: (logger, bindings, options, raw) => logger.child({ ...bindings, ...contextFromHeaders((name) => headerValue(raw.headers[name])) }, options),
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
