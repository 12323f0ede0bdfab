import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { mediaUrl } from "../media/media-urls.ts";
import { app } from "./routes.ts";

/**
 * R2 failing a request's read or write is answered 503 with Retry-After, as D1 failing is, not
 * 500. The bucket here fails every call the way R2's binding does: a rejected promise whose
 * message carries R2's error (InternalError, code 10001: developers.cloudflare.com/r2/api/
 * error-codes, read 2026-12-06). The fault suite (test/faults) locks the real local store instead.
 */

const failure = (operation: string) => Promise.reject(new Error(`${operation}: We encountered an internal error. Please try again. (10001)`));
const failingBucket = { head: () => failure("head"), get: () => failure("get"), put: () => failure("put"), delete: () => failure("delete"), list: () => failure("list") } as unknown as R2Bucket;

async function call(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, MEDIA: failingBucket } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function signed(key: string, access: "get" | "put"): Promise<string> {
  const url = new URL(await mediaUrl(loadConfig(env), "client", key, access));
  return `http://adreel.test${url.pathname}${url.search}`;
}

describe("R2 unavailable", () => {
  it("answers a signed media read 503 with Retry-After", async () => {
    const response = await call(new Request(await signed("videos/v-outage/final.mp4", "get")));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await response.json()).toEqual({ error: "media storage is unavailable right now; try again shortly" });
  });

  it("answers a signed media write 503, and an asset upload too", async () => {
    const bytes = new Uint8Array(64).fill(7);
    const put = await call(new Request(await signed("videos/v-outage/chunk.mp4", "put"), { method: "PUT", body: bytes, headers: { "content-length": String(bytes.length) } }));
    expect(put.status).toBe(503);
    const { key } = await createKey(env.DB, "tenant-outage", "test");
    const upload = await call(new Request("http://adreel.test/api/assets", { method: "POST", body: bytes, headers: { authorization: `Bearer ${key}`, "content-type": "image/png" } }));
    expect(upload.status).toBe(503);
    expect(upload.headers.get("retry-after")).toBe("2");
  });
});
