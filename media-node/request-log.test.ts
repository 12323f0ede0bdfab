import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CONTEXT_HEADERS, LogRecord } from "../contracts/log.ts";
import { AnalyzeImageResponse } from "../contracts/media.ts";
import { startOrigin, TEST_SECRET, type TestOrigin } from "../test/support/origin.ts";
import { mediaNode } from "../worker/media/media-node.ts";
import { buildServer } from "./server.ts";

/**
 * media-node's request log, on a real server over HTTP, called by the Worker's own client:
 * every line is a structured record (contracts/log.ts), each request has a start and an end
 * line bound to the ids the Worker sent, and nothing secret reaches the log.
 */

const lines: string[] = [];
const records = () => lines.map((line) => LogRecord.parse(JSON.parse(line)));

let app: FastifyInstance;
let origin: TestOrigin;
let base: string;

beforeAll(async () => {
  origin = await startOrigin();
  origin.serveBytes("/frame.png", await sharp({ create: { width: 64, height: 36, channels: 3, background: "#2a6f97" } }).png().toBuffer(), "image/png");
  app = await buildServer({ secret: TEST_SECRET, log: { level: "info", stream: { write: (line) => void lines.push(line.trimEnd()) } } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await origin.close();
});

beforeEach(() => {
  lines.length = 0;
});

const job = { video_id: "3f0c2d9e-1111-4a2b-8c3d-000000000001", job_id: "chunk-1-0", kind: "chunk" as const, attempt: 2, step: "normalize" };

describe("media-node's request log", () => {
  it("writes a start and an end line per request, each bound to the video, job, attempt and step the Worker named", async () => {
    const stats = await mediaNode(base, TEST_SECRET).about(job).call("/v1/media/images/analyze", { url: origin.url("/frame.png?sig=c2VjcmV0") }, AnalyzeImageResponse);
    expect(stats.width).toBe(64);
    const [start, end, ...rest] = records();
    expect(rest).toEqual([]);
    expect(start).toMatchObject({ level: "info", service: "media-node", event: "request.start", method: "POST", path: "/v1/media/images/analyze", ...job });
    expect(end).toMatchObject({ level: "info", service: "media-node", event: "request.end", status: 200, path: "/v1/media/images/analyze", ...job });
    expect(end!.duration_ms).toEqual(expect.any(Number));
    // One request, one id: both lines are the same request's.
    expect(end!.request_id).toBe(start!.request_id);
    expect(lines.join("\n")).not.toContain("c2VjcmV0");
  });

  it("says why a request was refused, beside its end line, and keeps query strings out", async () => {
    const response = await fetch(`${base}/v1/media/images/analyze?token=hunter2`, {
      method: "POST",
      headers: { "content-type": "application/json", [CONTEXT_HEADERS.video_id]: job.video_id },
      body: JSON.stringify({ url: origin.url("/frame.png") }),
    });
    expect(response.status).toBe(401);
    const end = records().find((r) => r.event === "request.end")!;
    expect(end).toMatchObject({ level: "warn", status: 401, path: "/v1/media/images/analyze", video_id: job.video_id });
    expect(lines.join("\n")).not.toContain("hunter2");

    lines.length = 0;
    const failing = mediaNode(base, TEST_SECRET).about(job).call("/v1/media/images/analyze", { url: origin.url("/missing.png?X-Amz-Signature=abc123") }, AnalyzeImageResponse);
    await expect(failing).rejects.toThrow(/answered 502/);
    expect(records().map((r) => [r.event, r.level, r.status])).toEqual([
      ["request.start", "info", undefined],
      ["request.failed", "error", 502],
      ["request.end", "error", 502],
    ]);
    expect(records().every((r) => r.job_id === job.job_id)).toBe(true);
    expect(lines.join("\n")).not.toContain("abc123");
  });

  it("leaves out header values that are not ids, and does not log health probes", async () => {
    await mediaNode(base, TEST_SECRET)
      .about({ video_id: job.video_id })
      .call("/v1/media/images/analyze", { url: origin.url("/frame.png") }, AnalyzeImageResponse);
    const forged = await fetch(`${base}/v1/media/images/analyze`, {
      method: "POST",
      headers: { "content-type": "application/json", [CONTEXT_HEADERS.job_id]: 'x"} {"level":"fatal', [CONTEXT_HEADERS.attempt]: "-1" },
      body: "{}",
    });
    expect(forged.status).toBe(401);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const all = records();
    expect(all.filter((r) => r.path === "/health")).toEqual([]);
    expect(all.filter((r) => r.event === "request.end").map((r) => [r.status, r.video_id, r.job_id, r.attempt])).toEqual([
      [200, job.video_id, undefined, undefined],
      [401, undefined, undefined, undefined],
    ]);
  });
});
