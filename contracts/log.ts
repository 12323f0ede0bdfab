import { z } from "zod";
import { JobKind } from "./live.ts";

/**
 * adreel's structured logs, from every service: the Worker (its routes, queue consumers and
 * VideoRun objects), media-node, and the draft model server on the local stack. One JSON
 * record per line with a level, the service, an event name and the time, plus the ids that
 * tie it to one video's story wherever they exist: every line of a video, from both services,
 * is selected by its `video_id` (README "Observability").
 */

export const LogService = z.enum(["worker", "media-node", "draft"]);
export type LogService = z.infer<typeof LogService>;

/** pino's level names; the Worker writes the middle four. */
export const LogLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal"]);
export type LogLevel = z.infer<typeof LogLevel>;

/** Ids as adreel makes them (UUIDs, `chunk-2-1`) and Replicate's prediction ids: no spaces, no markup. */
const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/);

/** The ids that place a line in a video's story. */
export const LogContext = z.object({
  video_id: Id.optional(),
  job_id: Id.optional(),
  kind: JobKind.optional(),
  attempt: z.number().int().min(1).max(1_000_000).optional(),
  /** The consumer step (`start`, `ingest`, `normalize`). */
  step: z.string().regex(/^[a-z_]{1,32}$/).optional(),
  prediction_id: Id.optional(),
});
export type LogContext = z.infer<typeof LogContext>;

/** One line. Events add fields of their own (`phase`, `status`, `duration_ms`, ...). */
export const LogRecord = LogContext.extend({
  level: LogLevel,
  /** Epoch milliseconds. */
  time: z.number(),
  service: LogService,
  event: z.string().min(1),
}).loose();
export type LogRecord = z.infer<typeof LogRecord>;

/**
 * The headers the Worker sends with every media-node call, so media-node's request lines carry
 * the ids of the job that asked. They are log context only: the request signature covers the
 * method, path and body, and a header that fails its schema is left out, never trusted.
 */
export const CONTEXT_HEADERS = {
  video_id: "x-adreel-video-id",
  job_id: "x-adreel-job-id",
  kind: "x-adreel-kind",
  attempt: "x-adreel-attempt",
  step: "x-adreel-step",
  prediction_id: "x-adreel-prediction-id",
} as const satisfies Record<keyof LogContext, string>;

const CONTEXT_KEYS = Object.keys(CONTEXT_HEADERS) as (keyof LogContext)[];

export function contextHeaders(context: LogContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const key of CONTEXT_KEYS) {
    const value = context[key];
    if (value !== undefined) headers[CONTEXT_HEADERS[key]] = String(value);
  }
  return headers;
}

/** The ids a request's headers name, each checked on its own: a malformed one is dropped, the others kept. */
export function contextFromHeaders(header: (name: string) => string | null | undefined): LogContext {
  const context: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const raw = header(CONTEXT_HEADERS[key]);
    if (raw === null || raw === undefined) continue;
    const value = key === "attempt" ? Number(raw) : raw;
    const parsed = LogContext.shape[key].safeParse(value);
    if (parsed.success && parsed.data !== undefined) context[key] = parsed.data;
  }
  return context as LogContext;
}

/**
 * URLs carry credentials in their query (signed `/media` URLs, presigned R2 URLs) and
 * sometimes in their user part: a logged string keeps each URL's origin and path only.
 */
export function redactUrls(text: string): string {
  return text.replace(/\b(https?:\/\/)[^\s/?#@"'<>]*@/gi, "$1").replace(/\b(https?:\/\/[^\s?#"'<>]*)\?[^\s#"'<>]*/gi, "$1?[redacted]");
}

/**
 * `fields` with every string in it passed through redactUrls and errors as their message.
 * Plain objects and arrays are walked (a few levels deep); anything else (a request object a
 * framework logs) is left to its own serializer.
 */
export function redactFields<T>(fields: T): T {
  return redactValue(fields, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactUrls(value);
  if (value instanceof Error) return redactUrls(value.message);
  if (depth >= 6) return value;
  if (Array.isArray(value)) return value.map((inner) => redactValue(inner, depth + 1));
  if (value !== null && typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = redactValue(inner, depth + 1);
    return out;
  }
  return value;
}
