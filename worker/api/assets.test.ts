import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { GenerateRequest } from "../../contracts/api.ts";
import { createKey } from "../auth/keys.ts";
import { mediaKeys } from "../media/keys.ts";
import { type AssetRecord, assetRecordKey } from "../references/assets.ts";
import type { Snapshot } from "../run/types.ts";

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

  it("answers 503 naming the asset when media-node is unreachable, and creates no video", async () => {
    const before = await videoCount();
    const response = await generate({ prompt: "a running shoe", brand_assets: { product_images: ["https://assets.example/shoe.png"], character_images: ["http://127.0.0.1:1/runner.png"] } });
    expect(response.status).toBe(503);
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
