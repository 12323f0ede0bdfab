import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { GenerateRequest } from "../../contracts/api.ts";
import { INGEST_IMAGE_FIELD, MediaError } from "../../contracts/media.ts";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { containerMediaNode } from "../../test/support/workerd/container-runtime.ts";
import { createKey } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { mediaKeys } from "../media/keys.ts";
import { type AssetRecord, assetRecordKey } from "../references/assets.ts";
import type { Snapshot } from "../run/types.ts";
import { app } from "./routes.ts";

/**
 * Upload and admission rules that hold whatever media-node says. In the Worker project
 * media-node is unreachable (MEDIA_NODE_URL points at port 9), which is itself a case: the
 * answer is 503 and nothing is created. The accepted paths, with the real media-node,
 * are in test/assets.test.ts.
 */

const TENANT = "assets-tenant";
const OTHER = "assets-other";
let key: string;

beforeAll(async () => {
  key = (await createKey(env.DB, TENANT, "test")).key;
});

function call(path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${key}`);
  return exports.default.fetch(new Request(`http://adreel.test${path}`, { ...init, headers }));
}

const generate = (body: object) => call("/api/generate", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function videoCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = ?").bind(TENANT).first<{ n: number }>();
  return row?.n ?? 0;
}

/** A stored tenant asset, as admission leaves it (the PNG bytes need not be real here: nothing decodes them). */
async function storeAsset(tenant: string, id: string, source = "upload"): Promise<void> {
  await env.MEDIA.put(mediaKeys.asset(tenant, id), new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  const record: AssetRecord = { asset_id: id, source, width: 640, height: 480, format: "png", bytes: 4, created_at: Date.now() };
  await env.MEDIA.put(assetRecordKey(tenant, id), JSON.stringify(record));
}

const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe("POST /api/assets", () => {
  it("needs a key", async () => {
    const response = await exports.default.fetch(new Request("http://adreel.test/api/assets", { method: "POST", headers: { "content-type": "image/png" }, body: PNG_SIGNATURE }));
    expect(response.status).toBe(401);
  });

  it("refuses other content types with 415", async () => {
    const response = await call("/api/assets", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: string }).error).toMatch(/multipart\/form-data or image\/png/);
  });

  it("refuses an image over 15 MB with 413, raw or multipart", async () => {
    const big = new Uint8Array(15 * 1024 * 1024 + 1);
    const raw = await call("/api/assets", { method: "POST", headers: { "content-type": "image/jpeg" }, body: big });
    expect(raw.status).toBe(413);
    expect(((await raw.json()) as { field: string }).field).toBe("file");
    const form = new FormData();
    form.set("file", new File([big], "huge.png", { type: "image/png" }));
    const multipart = await call("/api/assets", { method: "POST", body: form });
    expect(multipart.status).toBe(413);
  });

  it("refuses an empty body and a form without a file field with 422 naming file", async () => {
    const empty = await call("/api/assets", { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array() });
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({ field: "file", error: "file: is empty" });
    const form = new FormData();
    form.set("image", new File([PNG_SIGNATURE], "a.png", { type: "image/png" }));
    const missing = await call("/api/assets", { method: "POST", body: form });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { error: string }).error).toMatch(/^file: missing/);
  });

  it("answers 503 when the image cannot be validated, and leaves nothing behind", async () => {
    const form = new FormData();
    form.set("file", new File([PNG_SIGNATURE], "a.png", { type: "image/png" }));
    const response = await call("/api/assets", { method: "POST", body: form });
    expect(response.status).toBe(503);
    expect((await env.MEDIA.list({ prefix: `uploads/${TENANT}/` })).objects).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: `assets/${TENANT}/` })).objects).toHaveLength(0);
  });
});

describe("brand assets at POST /api/generate", () => {
  it("refuses an asset ref the tenant does not have with 422 naming the field; nothing is created", async () => {
    const before = await videoCount();
    const unknown = await generate({ prompt: "a running shoe", brand_assets: { product_images: ["asset:does-not-exist-0001"] } });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ field: "brand_assets.product_images.0", error: expect.stringMatching(/asset:does-not-exist-0001 is not one of your assets/) });

    // Another tenant's asset is not one of yours either.
    const foreign = crypto.randomUUID();
    await storeAsset(OTHER, foreign);
    const mine = crypto.randomUUID();
    await storeAsset(TENANT, mine);
    const stolen = await generate({ prompt: "a running shoe", brand_assets: { product_images: [`asset:${mine}`], logo: `asset:${foreign}` } });
    expect(stolen.status).toBe(422);
    expect(((await stolen.json()) as { field: string }).field).toBe("brand_assets.logo");
    expect(await videoCount()).toBe(before);
  });

  it("answers 503 naming the asset when media-node is unreachable, with Retry-After, and creates no video", async () => {
    const before = await videoCount();
    const response = await generate({ prompt: "a running shoe", brand_assets: { product_images: ["https://assets.example/shoe.png"], character_images: ["http://127.0.0.1:1/runner.png"] } });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ field: "brand_assets.product_images.0", error: expect.stringMatching(/cannot be validated right now/) });
    expect(await videoCount()).toBe(before);
    expect((await env.MEDIA.list({ prefix: `assets/${TENANT}/` })).objects.filter((o) => o.key.endsWith(".json")).every((o) => !o.key.includes("shoe"))).toBe(true);
  });

  it("does not touch brand assets on a dry run", async () => {
    const response = await generate({ prompt: "a running shoe", dry_run: true, brand_assets: { product_images: ["https://assets.example/shoe.png"], logo: "asset:does-not-exist-0001" } });
    expect(response.status).toBe(200);
  });

  it("starts the run with the tenant's own asset refs", async () => {
    const product = crypto.randomUUID();
    const logo = crypto.randomUUID();
    await storeAsset(TENANT, product, "https://assets.example/shoe.png");
    await storeAsset(TENANT, logo);
    const response = await generate({ prompt: "a running shoe", brand_assets: { product_images: [`asset:${product}`], logo: `asset:${logo}` } });
    expect(response.status).toBe(200);
    const { video_id } = (await response.json()) as { video_id: string };
    const snapshot = (await env.VIDEO_RUN.get(env.VIDEO_RUN.idFromName(video_id)).snapshot()) as unknown as Snapshot;
    expect(snapshot.request.brand_assets).toEqual({ product_images: [`asset:${product}`], character_images: [], logo: `asset:${logo}` } satisfies GenerateRequest["brand_assets"]);
    await call(`/api/video/${video_id}/cancel`, { method: "POST" });
  });
});

/**
 * An upload is staged in our R2 and media-node reads it back from our own storage (the Worker's
 * `/media` route here; a presigned R2 URL where R2's S3 API is configured). When our storage
 * fails that read, the fault is ours: the client gets a 503 with Retry-After, never a 422 about
 * its file. media-node is the strict stand-in, reached through the container pool (MEDIA_NODE_URL
 * unset), and it reads sources and writes outputs through this same Worker and bucket.
 */
describe("POST /api/assets when our storage cannot hand back the staged upload", () => {
  const config = loadConfig(env);
  const STAGING_TENANT = "assets-staging";
  let stagingKey: string;
  beforeAll(async () => {
    stagingKey = (await createKey(env.DB, STAGING_TENANT, "test")).key;
  });
  const readFailure = () => Promise.reject(new Error("get: We encountered an internal error. Please try again. (10001)"));
  /** R2 taking writes and deletes but failing every read, as R2's binding fails (a rejected promise; see storage-outage.test.ts). */
  const readsFail = {
    put: (...args: Parameters<R2Bucket["put"]>) => env.MEDIA.put(...args),
    delete: (...args: Parameters<R2Bucket["delete"]>) => env.MEDIA.delete(...args),
    list: (...args: Parameters<R2Bucket["list"]>) => env.MEDIA.list(...args),
    get: readFailure,
    head: readFailure,
  } as unknown as R2Bucket;

  async function serve(request: Request, bucket: R2Bucket): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await app.fetch(request, { ...env, MEDIA_NODE_URL: "", MEDIA: bucket } as Env, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  /** The stand-in reads and writes through the Worker with `bucket`; it allows the Worker's /media folder, as the local stack's media-node does. */
  function standIn(bucket: R2Bucket, allowedOrigins = [`${config.publicBaseUrl}/media/`]): MediaNodeStandIn {
    const server = new MediaNodeStandIn(config.mediaNodeSecret, { storage: (request) => serve(request, bucket), allowedOrigins });
    containerMediaNode.current = server;
    return server;
  }

  /** A PNG as far as its header goes (signature, IHDR with the size): all the stand-in reads. */
  function pngHeader(width: number, height: number): Uint8Array {
    const bytes = new Uint8Array(33);
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(bytes.buffer).setUint32(16, width);
    new DataView(bytes.buffer).setUint32(20, height);
    return bytes;
  }

  const upload = (bucket: R2Bucket, body: Uint8Array) =>
    serve(new Request("http://adreel.test/api/assets", { method: "POST", body, headers: { authorization: `Bearer ${stagingKey}`, "content-type": "image/png" } }), bucket);

  it("answers 503 with Retry-After, blaming no file, and leaves nothing behind", async () => {
    const server = standIn(readsFail);
    const response = await upload(readsFail, pngHeader(320, 200));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    // Named as our storage's outage, as the Worker names R2 failing its own reads and writes.
    expect(await response.json()).toEqual({ error: "media storage is unavailable right now; try again shortly" });
    // media-node was told the source is ours, and its answer, our storage's outage, was not taken
    // for a busy instance: the pool passed it on instead of asking the other instances.
    expect(server.requests.map((r) => r.body)).toEqual([expect.objectContaining({ staged: true, source_url: expect.stringContaining(`/media/uploads/${STAGING_TENANT}/`) })]);
    expect((await env.MEDIA.list({ prefix: `uploads/${STAGING_TENANT}/` })).objects).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: `assets/${STAGING_TENANT}/` })).objects).toHaveLength(0);
  });

  const writeFailure = () => Promise.reject(new Error("put: We encountered an internal error. Please try again. (10001)"));
  /** R2 failing writes of tenant assets (once an upload is staged): media-node's PUT of the checked PNG fails. */
  const assetWritesFail = new Proxy(env.MEDIA, {
    get: (bucket, name) => (name === "put" ? (key: string, ...rest: unknown[]) => (key.startsWith("assets/") ? writeFailure() : (bucket.put as (...a: unknown[]) => unknown)(key, ...rest)) : Reflect.get(bucket, name).bind(bucket)),
  });

  it("answers 503 naming media storage when our storage takes the staged upload but not the checked image", async () => {
    const server = standIn(assetWritesFail);
    const response = await upload(assetWritesFail, pngHeader(320, 200));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await response.json()).toEqual({ error: "media storage is unavailable right now; try again shortly" });
    expect(server.requests).toHaveLength(1);
    expect((await env.MEDIA.list({ prefix: `uploads/${STAGING_TENANT}/` })).objects).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: `assets/${STAGING_TENANT}/` })).objects).toHaveLength(0);
  });

  it("stores the upload once the storage reads again, and still refuses a bad file with 422", async () => {
    const server = standIn(env.MEDIA);
    const stored = await upload(env.MEDIA, pngHeader(320, 200));
    expect(stored.status).toBe(201);
    const { asset_id } = (await stored.json()) as { asset_id: string };
    expect(server.requests.map((r) => r.body)).toEqual([expect.objectContaining({ staged: true })]);
    expect(await env.MEDIA.head(mediaKeys.asset(STAGING_TENANT, asset_id))).not.toBeNull();
    const icon = await upload(env.MEDIA, pngHeader(16, 16));
    expect(icon.status).toBe(422);
    expect(await icon.json()).toEqual({ field: "file", error: "file: image is 16x16, under the 64x64 minimum" });
  });

  it("answers 500, not a 422 about the file, when media-node's policy refuses the staging URL we gave it", async () => {
    // A media-node configured without our storage among its allowed origins: a deployment fault of ours.
    standIn(env.MEDIA, []);
    const response = await upload(env.MEDIA, pngHeader(320, 200));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "the image could not be checked: an error of ours, not of the file" });
    expect((await env.MEDIA.list({ prefix: `uploads/${STAGING_TENANT}/` })).objects).toHaveLength(0);
  });

  it("answers 500, not 503 with Retry-After, when media-node refuses the request itself: no retry of the client's mends our secret", async () => {
    // A media-node given another MEDIA_NODE_SECRET than the Worker's.
    const server = new MediaNodeStandIn("the secret media-node was deployed with", { storage: (request) => serve(request, env.MEDIA), allowedOrigins: [`${config.publicBaseUrl}/media/`] });
    containerMediaNode.current = server;
    const assets = async () => (await env.MEDIA.list({ prefix: `assets/${STAGING_TENANT}/` })).objects.length;
    const before = await assets();
    const response = await upload(env.MEDIA, pngHeader(320, 200));
    expect(response.status).toBe(500);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toEqual({ error: "the image could not be checked: an error of ours, not of the file" });
    // Asked of one container instance: every instance would refuse it alike.
    expect(server.reached).toHaveLength(1);
    expect((await env.MEDIA.list({ prefix: `uploads/${STAGING_TENANT}/` })).objects).toHaveLength(0);
    expect(await assets()).toBe(before);
  });

  it("answers POST /api/generate 500 naming the asset, creating nothing, when the deployed media-node has no ingest route", async () => {
    const server = standIn(env.MEDIA);
    server.absent.add("/v1/media/images/ingest");
    const response = await serve(
      new Request("http://adreel.test/api/generate", {
        method: "POST",
        headers: { authorization: `Bearer ${stagingKey}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a running shoe", brand_assets: { product_images: ["https://assets.example/shoe.png"] } }),
      }),
      env.MEDIA,
    );
    expect(response.status).toBe(500);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toMatchObject({ field: "brand_assets.product_images.0", error: "brand assets could not be checked: an error of ours, not of the assets" });
    expect(server.reached).toHaveLength(1);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = ?").bind(STAGING_TENANT).first("n")).toBe(0);
  });

  /**
   * The strict stand-in with media-node's refusals worded otherwise, status and `field` as media-node
   * answers them: the image's refusal now begins with the URL it was read from, the URL's own
   * refusal with no field at all. The Worker must decide by `field`, never by the words.
   */
  class RewordedMediaNode extends MediaNodeStandIn {
    override async handle(request: Request, servedBy?: string): Promise<Response> {
      const answer = await super.handle(request, servedBy);
      if (answer.status !== 422) return answer;
      const refusal = MediaError.parse(await answer.json());
      const error = refusal.field === INGEST_IMAGE_FIELD ? `source_url held an image that cannot be used: ${refusal.error}` : `refused before a byte was read (${refusal.error})`;
      return Response.json({ ...refusal, error } satisfies MediaError, { status: 422 });
    }
  }

  it("decides whose fault a refusal is by media-node's field, not by how its message begins", async () => {
    const reworded = (allowedOrigins: string[]) => {
      containerMediaNode.current = new RewordedMediaNode(config.mediaNodeSecret, { storage: (request) => serve(request, env.MEDIA), allowedOrigins });
    };
    // Our staging URL refused (field source_url), in words that begin with no field: still ours.
    reworded([]);
    const ours = await upload(env.MEDIA, pngHeader(320, 200));
    expect(ours.status).toBe(500);
    expect(await ours.json()).toEqual({ error: "the image could not be checked: an error of ours, not of the file" });
    // The image refused (field image), in words that begin with source_url: still the client's file.
    reworded([`${config.publicBaseUrl}/media/`]);
    const icon = await upload(env.MEDIA, pngHeader(16, 16));
    expect(icon.status).toBe(422);
    expect(await icon.json()).toEqual({ field: "file", error: "file: source_url held an image that cannot be used: image is 16x16, under the 64x64 minimum" });
    expect((await env.MEDIA.list({ prefix: `uploads/${STAGING_TENANT}/` })).objects).toHaveLength(0);
  });

  it("answers POST /api/generate 503 naming media storage, not media-node, when our storage does not take a brand-asset URL's image; creates nothing", async () => {
    // The client's URL answers a real image; media-node's PUT of the checked PNG meets our storage's outage.
    const brand = "https://brand.example/";
    const server = new MediaNodeStandIn(config.mediaNodeSecret, {
      storage: async (request) => (request.url.startsWith(brand) ? new Response(pngHeader(320, 200), { headers: { "content-type": "image/png" } }) : serve(request, assetWritesFail)),
      allowedOrigins: [brand],
    });
    containerMediaNode.current = server;
    const assets = async () => (await env.MEDIA.list({ prefix: `assets/${STAGING_TENANT}/` })).objects.length;
    const before = await assets();
    const response = await serve(
      new Request("http://adreel.test/api/generate", {
        method: "POST",
        headers: { authorization: `Bearer ${stagingKey}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a running shoe", brand_assets: { product_images: [`${brand}shoe.png`] } }),
      }),
      assetWritesFail,
    );
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    // As POST /api/assets and the router name it: our storage's outage, no field of the client's.
    expect(await response.json()).toEqual({ error: "media storage is unavailable right now; try again shortly" });
    expect(server.requests.map((r) => r.body)).toEqual([expect.objectContaining({ staged: false, source_url: `${brand}shoe.png` })]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = ?").bind(STAGING_TENANT).first("n")).toBe(0);
    expect(await assets()).toBe(before);
  });

  it("keeps a client's brand-asset URL that cannot be fetched a 422 naming its field", async () => {
    const server = standIn(env.MEDIA);
    // One of our own URLs, but given by the client (and unsigned): its failure is the client's.
    const response = await serve(
      new Request("http://adreel.test/api/generate", {
        method: "POST",
        headers: { authorization: `Bearer ${stagingKey}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a running shoe", brand_assets: { product_images: [`${config.publicBaseUrl}/media/somewhere.png`] } }),
      }),
      env.MEDIA,
    );
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ field: "brand_assets.product_images.0", error: expect.stringMatching(/URL answered 401/) });
    expect(server.requests.map((r) => r.body)).toEqual([expect.objectContaining({ staged: false })]);
  });
});
