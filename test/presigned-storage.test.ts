import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "@20minutes/s3rver";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositeResponse } from "../contracts/media.ts";
import { buildServer } from "../media-node/server.ts";
import { mediaKeys } from "../worker/media/keys.ts";
import { MediaNodeError, mediaNode } from "../worker/media/media-node.ts";
import { presignR2Url, type R2Credentials } from "../worker/media/presigned-url.ts";
import { MEDIA_BUCKET } from "../scripts/stack.ts";
import { startStorageHost, type TestStorageHost } from "./support/storage-host.ts";

/**
 * Media bytes that skip the Worker: real media-node reads its input from and writes its output
 * to presigned URLs minted by the Worker's own presigner (worker/media/presigned-url.ts), on a
 * local S3-compatible server. @20minutes/s3rver (npm) checks SigV4 query signatures, their
 * scope and their expiry the way S3 does, so a URL for another key, another method or past its
 * expiry is refused. What this cannot show: R2 itself, nor the Worker reading the object
 * through its R2 binding, so the object is read back through a presigned GET instead (the local
 * stack's storage host, below and in test/e2e.test.ts, is where the binding and the S3 API meet).
 *
 * The signatures are also checked against the local stack's storage host (scripts/storage-host.ts:
 * Miniflare's rendering of R2's S3 API, which signs the path as it receives it), with keys that
 * need encoding: the presigner once signed the decoded key, which both stores refused.
 */

const SECRET = "presigned-storage-test-secret";
let dir: string;
let s3: S3rver;
let node: FastifyInstance;
let credentials: R2Credentials;
let nodeUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-s3-"));
  s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: [{ name: "adreel-media" }] });
  const { port } = (await s3.run()) as AddressInfo;
  // s3rver's built-in account; R2 would be an R2 API token's key pair.
  credentials = { accountId: "local", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", bucket: "adreel-media", endpoint: `http://127.0.0.1:${port}` };
  node = await buildServer({ secret: SECRET });
  await node.listen({ port: 0, host: "127.0.0.1" });
  nodeUrl = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await node?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sign = (key: string, access: "get" | "put", ttl = 600, now?: number) => presignR2Url(credentials, key, access, ttl, { now });

async function put(key: string, bytes: Buffer, contentType: string): Promise<Response> {
  return fetch(await sign(key, "put"), { method: "PUT", body: new Uint8Array(bytes), headers: { "content-type": contentType } });
}

describe("media-node and presigned S3 URLs", () => {
  it("composites from a presigned GET into a presigned PUT, and the object is in the bucket", async () => {
    const input = await sharp({ create: { width: 96, height: 54, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();
    const inputKey = mediaKeys.storyboard("vid-presigned", 1);
    expect((await put(inputKey, input, "image/png")).status).toBe(200);

    const outputKey = mediaKeys.composite("vid-presigned", 0);
    const client = mediaNode(nodeUrl, SECRET);
    const answer = await client.call(
      "/v1/media/images/composite",
      { layers: [{ url: await sign(inputKey, "get"), weight: 1 }], width: 64, height: 36, output_url: await sign(outputKey, "put") },
      CompositeResponse,
    );
    expect(answer).toMatchObject({ width: 64, height: 36 });

    const stored = await fetch(await sign(outputKey, "get"));
    expect(stored.status).toBe(200);
    expect(stored.headers.get("content-type")).toBe("image/png");
    const bytes = Buffer.from(await stored.arrayBuffer());
    expect(bytes.length).toBe(answer.bytes);
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 64, 36]);
  });

  it("refuses a URL used for another key, another method, or after it expired", async () => {
    const key = "videos/vid-presigned/scope.png";
    const putUrl = await sign(key, "put");
    const otherKey = putUrl.replace("scope.png", "other.png");
    expect((await fetch(otherKey, { method: "PUT", body: "x" })).status).toBe(403);
    expect((await fetch(putUrl, { method: "GET" })).status).toBe(403);
    const expired = await sign(key, "put", 60, Date.now() - 120_000);
    const refused = await fetch(expired, { method: "PUT", body: "x" });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/Request has expired/);
    // Nothing was written by any of them.
    expect((await fetch(await sign(key, "get"))).status).toBe(404);
    expect((await fetch(await sign("videos/vid-presigned/other.png", "get"))).status).toBe(404);
  });

  it("reports an output URL the store refuses as a retryable media-node failure", async () => {
    const input = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    await put("videos/vid-presigned/in.png", input, "image/png");
    const client = mediaNode(nodeUrl, SECRET);
    const error = await client
      .call(
        "/v1/media/images/composite",
        // A GET URL where a PUT is needed: the signature does not cover the upload.
        { layers: [{ url: await sign("videos/vid-presigned/in.png", "get"), weight: 1 }], width: 64, height: 36, output_url: await sign("videos/vid-presigned/out.png", "get") },
        CompositeResponse,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaNodeError);
    expect((error as MediaNodeError).status).toBe(502);
    expect((error as MediaNodeError).message).toMatch(/storing output at http:\/\/127\.0\.0\.1:\d+\/adreel-media\/videos\/vid-presigned\/out\.png answered 403/);
    // The URL's signature is never echoed back.
    expect((error as MediaNodeError).message).not.toMatch(/X-Amz-Signature/);
  });
});

/** Keys a signature must survive: a space, `+`, a non-ASCII letter, and the characters `encodeURIComponent` leaves bare. */
const AWKWARD_KEYS = ["assets/dev/a b.png", "assets/dev/plus+tilde~.png", "assets/dev/çødé.png", "assets/dev/paren(1)*!'.png"];

describe("keys that need encoding", () => {
  let storage: TestStorageHost | undefined;
  let storageDir: string;
  let local: R2Credentials;

  beforeAll(async () => {
    storageDir = mkdtempSync(join(tmpdir(), "adreel-storage-host-"));
    storage = await startStorageHost(storageDir, { accessKeyId: "storage-test", secretAccessKey: "storage-test-secret" });
    local = storage.credentials;
  }, 60_000);

  afterAll(async () => {
    await storage?.stop();
    rmSync(storageDir, { recursive: true, force: true });
  });

  for (const store of ["s3rver", "storage host"] as const) {
    it(`round-trips each through presigned URLs: ${store}`, async () => {
      const creds = store === "s3rver" ? credentials : local;
      for (const key of AWKWARD_KEYS) {
        const body = `bytes of ${key}`;
        const stored = await fetch(await presignR2Url(creds, key, "put", 60), { method: "PUT", body, headers: { "content-type": "image/png" } });
        expect(stored.status, `${key}: ${await stored.clone().text()}`).toBe(200);
        const read = await fetch(await presignR2Url(creds, key, "get", 60));
        expect(read.status, key).toBe(200);
        expect(await read.text()).toBe(body);
      }
    });
  }

  // R2 refuses each too, with its own statuses for two of them (developers.cloudflare.com/r2/api/error-codes,
  // updated 2026-11-10): an expired URL is 400 ExpiredRequest (10018), where Miniflare answers 403, and
  // missing credentials 401 Unauthorized (10002), where Miniflare answers 400 InvalidArgument. adreel
  // reads no status from them: media-node's downloadTo and uploadTo fail alike on any refusal.
  it("refuses on the storage host what R2 refuses: another method, an expired URL, no signature", async () => {
    const key = "assets/dev/refused.png";
    expect((await fetch(await presignR2Url(local, key, "get", 60), { method: "PUT", body: "x" })).status).toBe(403);
    const expired = await fetch(await presignR2Url(local, key, "put", 60, { now: Date.now() - 120_000 }), { method: "PUT", body: "x" });
    expect(expired.status).toBe(403);
    expect((await fetch(`${local.endpoint}/${MEDIA_BUCKET}/${key}`)).status).toBe(400);
    expect((await fetch(await presignR2Url(local, key, "get", 60))).status).toBe(404);
  });
});
