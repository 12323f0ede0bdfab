import { type LogContext, redactFields } from "../contracts/log.ts";

/**
 * The Worker's logger: its routes, queue consumers and VideoRun objects write one record per
 * line (contracts/log.ts: level, `service: "worker"`, an event name, the time, and the ids of
 * the video, job and prediction it concerns). The console is the transport; Workers Logs
 * stores what it prints. Strings are stripped of URL queries (signatures) on the way out.
 */

export type WorkerLogLevel = "debug" | "info" | "warn" | "error";

/**
 * `fields`: the record as an object, which Workers Logs indexes field by field (Cloudflare
 * docs "Workers Logs", "Logging structured JSON objects"). `json`: the record as one line of
 * JSON text, which `wrangler dev` prints as it is (it prints objects in Node's inspect format,
 * over several lines), so the local stack's output can be read line by line.
 */
export type LogFormat = "fields" | "json";

export interface LogSettings {
  /** The least level written. */
  level: WorkerLogLevel;
  format: LogFormat;
}

/** What an event says besides the fixed keys (which a caller cannot overwrite). */
export type LogFields = LogContext & { [field: string]: unknown } & { level?: never; time?: never; service?: never; event?: never };

export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** The same log, each of whose lines also carries `fields` (a video's or a job's ids). */
  with(fields: LogFields): Log;
}

/** Where a finished record goes; the console's method of its level, unless a test listens. */
export type LogWriter = (level: WorkerLogLevel, line: unknown) => void;

const RANK: Record<WorkerLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Each level through the console method of its name, so Workers Logs files it under that level.
const consoleWriter: LogWriter = (level, line) => console[level](line);

export function workerLog(settings: LogSettings, bound: LogFields = {}, write: LogWriter = consoleWriter): Log {
  const emit = (level: WorkerLogLevel, event: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[settings.level]) return;
    const fixed = { level, time: Date.now(), service: "worker", event };
    // The fixed keys lead the line and win over any field of the same name.
    const record = redactFields(Object.assign({ ...fixed, ...bound, ...fields }, fixed));
    write(level, settings.format === "json" ? JSON.stringify(record) : record);
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
    with: (fields) => workerLog(settings, { ...bound, ...fields }, write),
  };
}

/** `LOG_LEVEL` (default `info`) and `LOG_FORMAT` (default `fields`; the local stack sets `json`). */
export function logSettings(level: string, format: string): LogSettings {
  return { level: level in RANK ? (level as WorkerLogLevel) : "info", format: format === "json" ? "json" : "fields" };
}
