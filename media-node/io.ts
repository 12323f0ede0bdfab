import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { z } from "zod";
import { contractRefusal } from "../contracts/media.ts";

/** Moving bytes in and out of media-node: inputs come from URLs, outputs go to signed PUT URLs. */

/**
 * A refusal of the request's input: a 422 whose answer names `field` (contracts/media.ts
 * MediaError) when it is known here or set later by `concerning`.
 */
export class InputError extends Error {
  readonly statusCode = 422;
  field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
    this.name = "InputError";
  }
}

/**
 * `work` on the input at `field`: a refusal it throws that names no field is about that input.
 * For helpers that judge a file without knowing which request field it came from (a probe, a
 * decode); a refusal that names its own field keeps it.
 */
export async function concerning<T>(field: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof InputError) error.field ??= field;
    throw error;
  }
}

/**
 * fastify's JSON body parser for `parseAs: "string"`: an empty body is `{}` (so the contract
 * names what is missing) and a malformed one is a 422, never a 500.
 */
export function jsonBody(_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void {
  try {
    done(null, body === "" ? {} : JSON.parse(body.toString()));
  } catch {
    done(new InputError("request body is not valid JSON", "body"), undefined);
  }
}

/** Parse a request body with its contract; a mismatch is a 422 naming the field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const refusal = contractRefusal(result.error);
  throw new InputError(refusal.error, refusal.field);
}

/**
 * A failure of the deployment's own storage, where a retry can help: a 503 with Retry-After, as
 * media-node's busy answer is, so the Worker retries (or reports its own failure) and never
 * passes it on as a fault of the input.
 */
export class StorageUnavailableError extends Error {
  readonly statusCode = 503;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
    this.name = "StorageUnavailableError";
  }
}

export class UpstreamError extends Error {
  readonly statusCode = 502;
  /** What the upstream answered, when it answered at all. */
  readonly answered?: number;
  constructor(message: string, answered?: number) {
    super(message);
    this.answered = answered;
    this.name = "UpstreamError";
  }
}

export interface DownloadOptions {
  maxBytes?: number;
  timeoutMs?: number;
}

/** Stream a URL to a file, refusing bodies over `maxBytes`. Returns the byte count. */
export async function downloadTo(url: string, path: string, options: DownloadOptions = {}): Promise<number> {
  const { maxBytes = 512 * 1024 * 1024, timeoutMs = 120_000 } = options;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (error) {
    throw new UpstreamError(`fetching ${redact(url)} failed: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) throw new UpstreamError(`fetching ${redact(url)} answered ${response.status}`);
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new InputError(`${redact(url)} is ${declared} bytes, over the ${maxBytes} byte limit`);
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new InputError(`${redact(url)} is over the ${maxBytes} byte limit`));
      else done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as never), limiter, createWriteStream(path));
  return seen;
}

/**
 * PUT a file (by path) or a buffer to a signed URL. A file is streamed from disk with its
 * length declared, never read whole: twenty videos' clips in flight would otherwise each sit
 * in memory while they upload.
 */
export async function uploadTo(url: string, body: Buffer | string, contentType: string): Promise<number> {
  const length = typeof body === "string" ? (await stat(body)).size : body.length;
  const payload = typeof body === "string" ? (Readable.toWeb(createReadStream(body)) as ReadableStream<Uint8Array>) : new Uint8Array(body.buffer, body.byteOffset, body.length);
  const response = await fetch(url, {
    method: "PUT",
    body: payload as BodyInit,
    headers: { "content-type": contentType, "content-length": String(length) },
    signal: AbortSignal.timeout(120_000),
    // A streamed request body must say so (fetch's half-duplex rule).
    ...(typeof body === "string" ? { duplex: "half" } : {}),
  } as RequestInit);
  if (!response.ok) throw new UpstreamError(`storing output at ${redact(url)} answered ${response.status}: ${(await response.text()).slice(0, 200)}`, response.status);
  return length;
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/**
 * Run `work` over `items` with at most `limit` running at once, keeping order. After a failure no
 * further item starts, and the first error is thrown only once the running ones have stopped:
 * work writes into a temp dir, which withTempDir removes as soon as this throws, and a writer
 * still running would race the removal and leave the dir behind.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  await settleAll(lanes);
  return results;
}

/** Promise.all that throws (the first error) only once every promise has settled, for the same reason as mapLimited. */
export async function settleAll<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }> {
  const settled = await Promise.allSettled(values);
  const rejected = settled.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
  if (rejected) throw rejected.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [P in keyof T]: Awaited<T[P]> };
}

/** Run `work` in a fresh temp directory that is always removed afterwards. */
export async function withTempDir<T>(root: string | undefined, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(root ?? tmpdir(), "adreel-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** URLs carry signatures in their query; never echo those into errors or logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "<invalid url>";
  }
}
