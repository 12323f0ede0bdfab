import { afterEach, describe, expect, it, vi } from "vitest";
import { CONTEXT_HEADERS, contextFromHeaders, contextHeaders, LogRecord, redactUrls } from "../contracts/log.ts";
import { logSettings, type LogWriter, type WorkerLogLevel, workerLog } from "./log.ts";

/** A writer that keeps what the logger hands the console, by level. */
function recorder() {
  const lines: { level: WorkerLogLevel; line: unknown }[] = [];
  const write: LogWriter = (level, line) => lines.push({ level, line });
  return { lines, write };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the Worker's log", () => {
  it("writes a record as one line of JSON text with the level, service, event, time and the bound ids", () => {
    const { lines, write } = recorder();
    const log = workerLog({ level: "info", format: "json" }, { video_id: "3f0c2d9e-1111-4a2b-8c3d-000000000001" }, write).with({ job_id: "chunk-2-1", kind: "chunk", attempt: 2 });
    log.info("job.claimed", { step: "start", delivery: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe("info");
    const text = lines[0]!.line as string;
    expect(typeof text).toBe("string");
    expect(text).not.toContain("\n");
    expect(text.startsWith('{"level":"info","time":')).toBe(true);
    const record = LogRecord.parse(JSON.parse(text));
    expect(record).toMatchObject({ level: "info", service: "worker", event: "job.claimed", video_id: "3f0c2d9e-1111-4a2b-8c3d-000000000001", job_id: "chunk-2-1", kind: "chunk", attempt: 2, step: "start", delivery: 1 });
    expect(record.time).toBeGreaterThan(0);
  });

  it("hands Workers Logs an object (its fields are indexed) through the console method of the level", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const log = workerLog({ level: "debug", format: "fields" }, { video_id: "v-1" });
    log.warn("index.write_failed", { error: new Error("D1 is busy") });
    log.error("request.failed", { path: "/api/generate" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ level: "warn", service: "worker", event: "index.write_failed", video_id: "v-1", error: "D1 is busy" });
    expect(error.mock.calls[0]![0]).toMatchObject({ level: "error", event: "request.failed", path: "/api/generate" });
  });

  it("writes nothing below its level", () => {
    const { lines, write } = recorder();
    const log = workerLog({ level: "warn", format: "json" }, {}, write);
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d");
    expect(lines.map((l) => l.level)).toEqual(["warn", "error"]);
  });

  it("keeps its fixed keys whatever the fields say, and leaves out fields without a value", () => {
    const { lines, write } = recorder();
    const sneaky = { level: "debug", service: "media-node", event: "other", time: 1 } as unknown as Record<string, never>;
    workerLog({ level: "info", format: "fields" }, {}, write).info("phase.changed", { ...sneaky, phase: "planning", from: undefined });
    const record = lines[0]!.line as Record<string, unknown>;
    expect(record).toMatchObject({ level: "info", service: "worker", event: "phase.changed", phase: "planning" });
    expect(record.time).not.toBe(1);
    expect("from" in record).toBe(false);
  });

  it("never writes a URL's query (signatures, presigned credentials), in any field or error", () => {
    const { lines, write } = recorder();
    const signed = "https://adreel.example/media/videos/v/final.mp4?access=get&expires=1767225600&sig=c2lnbmF0dXJl";
    const presigned = "https://acct.r2.cloudflarestorage.com/adreel-media/videos/v/c.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F&X-Amz-Signature=abcdef";
    workerLog({ level: "info", format: "json" }, {}, write).info("media.stored", {
      url: signed,
      nested: { urls: [presigned] },
      error: new Error(`storing output at ${presigned} answered 403`),
      basic: "fetching https://user:secret@assets.example/logo.png failed",
    });
    const text = lines[0]!.line as string;
    expect(text).not.toMatch(/sig=|X-Amz-Signature|X-Amz-Credential|secret@/);
    const record = JSON.parse(text) as Record<string, unknown>;
    expect(record.url).toBe("https://adreel.example/media/videos/v/final.mp4?[redacted]");
    expect(record.nested).toEqual({ urls: ["https://acct.r2.cloudflarestorage.com/adreel-media/videos/v/c.mp4?[redacted]"] });
    expect(record.error).toBe("storing output at https://acct.r2.cloudflarestorage.com/adreel-media/videos/v/c.mp4?[redacted] answered 403");
    expect(record.basic).toBe("fetching https://assets.example/logo.png failed");
  });

  it("reads LOG_LEVEL and LOG_FORMAT, falling back to info and fields", () => {
    expect(logSettings("debug", "json")).toEqual({ level: "debug", format: "json" });
    expect(logSettings("loud", "yaml")).toEqual({ level: "info", format: "fields" });
  });
});

describe("the ids a media-node call carries", () => {
  it("go out as x-adreel-* headers and come back as the same context", () => {
    const context = { video_id: "3f0c2d9e-1111-4a2b-8c3d-000000000001", job_id: "chunk-0-1", kind: "chunk" as const, attempt: 3, step: "normalize", prediction_id: "q8xk2mzz1hrmc0cqz9v8" };
    const headers = contextHeaders(context);
    expect(headers).toEqual({
      "x-adreel-video-id": context.video_id,
      "x-adreel-job-id": "chunk-0-1",
      "x-adreel-kind": "chunk",
      "x-adreel-attempt": "3",
      "x-adreel-step": "normalize",
      "x-adreel-prediction-id": context.prediction_id,
    });
    expect(contextFromHeaders((name) => headers[name])).toEqual(context);
    expect(contextHeaders({})).toEqual({});
  });

  it("drop a malformed header and keep the others: they are log context, never trusted", () => {
    const given: Record<string, string> = {
      [CONTEXT_HEADERS.video_id]: "v-1\n{\"level\":\"error\"}",
      [CONTEXT_HEADERS.job_id]: "x".repeat(500),
      [CONTEXT_HEADERS.kind]: "bitcoin",
      [CONTEXT_HEADERS.attempt]: "1e3x",
      [CONTEXT_HEADERS.step]: "start",
    };
    expect(contextFromHeaders((name) => given[name])).toEqual({ step: "start" });
  });

  it("redact only queries: a URL without one, and text around URLs, stay as they are", () => {
    expect(redactUrls("GET https://a.example/x.png then http://b.example/y?z=1 done")).toBe("GET https://a.example/x.png then http://b.example/y?[redacted] done");
  });
});
