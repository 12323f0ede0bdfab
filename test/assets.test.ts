import { mkdtempSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssetUploadResponse, isEndStatus, type StatusResponse, VideoResponse } from "../contracts/api.ts";
import { AdreelClient, ApiError } from "../cli/client.ts";
import { createDevKey, MEDIA_BUCKET, type Stack, startStack } from "../scripts/stack.ts";
import { mediaKeys } from "../worker/media/keys.ts";

/**
 * Brand assets through the real stack (the Worker, media-node and the draft model server):
 * uploads validated by media-node, URL assets admitted at submit time from a web server on
 * 127.0.0.1 (one of the stack's allowed origins: the only http or loopback origins it fetches),
 * refusals naming the field, and a 15 s ad whose references are those very images.
 */

let stack: Stack;
let client: AdreelClient;
let key: string;
let dir: string;
let origin: Server;
let originUrl: string;
const served = new Map<string, { body: Buffer; type: string }>();

/** A 640x360 image: a flat colour with a block of another, distinct enough to check palettes. */
function picture(background: string, block: string): Sharp {
  return sharp({ create: { width: 640, height: 360, channels: 3, background } }).composite([
    { input: { create: { width: 240, height: 200, channels: 3, background: block } }, left: 200, top: 80 },
  ]);
}

beforeAll(async () => {
  served.set("/product.png", { body: await picture("#1F6F78", "#F2C14E").png().toBuffer(), type: "image/png" });
  served.set("/character.jpg", { body: await picture("#3B2F2F", "#E8B49A").jpeg({ quality: 90 }).toBuffer(), type: "image/jpeg" });
  served.set("/tiny.png", { body: await sharp({ create: { width: 16, height: 16, channels: 3, background: "#ff0000" } }).png().toBuffer(), type: "image/png" });
  served.set("/page.png", { body: Buffer.from("<html>not an image</html>"), type: "image/png" });
  origin = createServer((request, response) => {
    const file = served.get((request.url ?? "").split("?")[0]!);
    if (!file) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": file.type, "content-length": file.body.length }).end(file.body);
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  dir = mkdtempSync(join(tmpdir(), "adreel-assets-"));
  stack = await startStack({ stateDir: join(dir, "state"), assetOrigins: [originUrl] });
  key = await createDevKey(stack, "assets");
  client = new AdreelClient(stack.workerUrl, key);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => origin?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function upload(body: BodyInit, contentType?: string): Promise<Response> {
  return fetch(`${stack.workerUrl}/api/assets`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, ...(contentType ? { "content-type": contentType } : {}) },
    body,
  });
}

async function refusal(request: Parameters<AdreelClient["generate"]>[0]): Promise<{ status: number; body: { error: string; field: string } }> {
  try {
    await client.generate(request);
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, body: error.body as { error: string; field: string } };
    throw error;
  }
  throw new Error("the request was accepted");
}

async function follow(id: string, timeoutMs = 120_000): Promise<StatusResponse> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await client.status(id);
    if (isEndStatus(status.status)) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`video ${id} did not finish:\n${stack.logs().worker.slice(-3000)}`);
}

async function pixels(image: Buffer): Promise<Buffer> {
  return sharp(image).removeAlpha().raw().toBuffer();
}

let logoRef: string;

describe("brand assets end to end", () => {
  it("uploads an image as multipart or raw bytes, validated and stored as PNG", async () => {
    const webp = await picture("#FFFFFF", "#C0187A").webp({ quality: 90 }).toBuffer();
    const form = new FormData();
    form.set("file", new Blob([new Uint8Array(webp)], { type: "image/webp" }), "logo.webp");
    const multipart = await upload(form);
    expect(multipart.status).toBe(201);
    const logo = AssetUploadResponse.parse(await multipart.json());
    expect(logo).toMatchObject({ ref: `asset:${logo.asset_id}`, width: 640, height: 360, format: "webp" });
    logoRef = logo.ref;

    const raw = await upload(new Uint8Array(served.get("/product.png")!.body), "image/png");
    expect(raw.status).toBe(201);
    expect(AssetUploadResponse.parse(await raw.json())).toMatchObject({ width: 640, height: 360, format: "png" });

    // Bytes that only claim to be an image: media-node's reason comes back, naming the field.
    const fake = await upload("<html>not an image</html>", "image/png");
    expect(fake.status).toBe(422);
    expect(await fake.json()).toEqual({ error: "file: not a PNG, JPEG or WebP image", field: "file" });
  });

  it("refuses a bad brand-asset URL at submit time, naming the field and the reason; no video is created", async () => {
    const before = (await client.list()).videos.length;
    const tiny = await refusal({ prompt: "A teal water bottle for beach volleyball", duration_s: 15, brand_assets: { product_images: [`${originUrl}/product.png`, `${originUrl}/tiny.png`] } });
    expect(tiny.status).toBe(422);
    expect(tiny.body).toMatchObject({ field: "brand_assets.product_images.1", error: "brand_assets.product_images.1: image is 16x16, under the 64x64 minimum" });
    const missing = await refusal({ prompt: "A teal water bottle", duration_s: 15, brand_assets: { logo: `${originUrl}/gone.png` } });
    expect(missing.body).toMatchObject({ field: "brand_assets.logo", error: "brand_assets.logo: URL answered 404" });
    const page = await refusal({ prompt: "A teal water bottle", duration_s: 15, brand_assets: { character_images: [`${originUrl}/page.png`] } });
    expect(page.body.field).toBe("brand_assets.character_images.0");
    expect(page.body.error).toMatch(/not a PNG, JPEG or WebP image/);
    expect((await client.list()).videos.length).toBe(before);
  });

  it("refuses a brand asset at the stack's storage port outside R2's S3 API: its unsigned public route serves any tenant's object", async () => {
    const logo = AssetUploadResponse.parse(await (await upload(new Uint8Array(served.get("/product.png")!.body), "image/png")).json());
    // Miniflare serves every local bucket's objects, unsigned, under /cdn-cgi/local/r2/public/ on the same port as the S3 API.
    const unsigned = `${stack.storageUrl}/cdn-cgi/local/r2/public/${MEDIA_BUCKET}/${mediaKeys.asset("assets", logo.asset_id)}`;
    expect((await fetch(unsigned)).status).toBe(200);
    const refused = await refusal({ prompt: "A teal water bottle", duration_s: 15, brand_assets: { logo: unsigned } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ field: "brand_assets.logo", error: "brand_assets.logo: URL must use https (got http:)" });
  });

  it("keeps production's fetch policy: loopback in any spelling, plain http, file: and media-node itself are 422s naming the asset", async () => {
    const before = (await client.list()).videos.length;
    const media = new URL(stack.mediaUrl);
    const worker = new URL(stack.workerUrl);
    // Every target is on this machine and belongs to the test or the stack: a relaxed policy would reach nothing else.
    const refused: [string, RegExp][] = [
      [`http://127.0.0.1:${media.port}/health`, /must use https \(got http:\)/],
      [`https://127.0.0.1:${media.port}/health`, /resolves to a loopback address \(127\.0\.0\.1\)/],
      [`https://localhost:${media.port}/health`, /resolves to a loopback address/],
      [`https://127.1:${worker.port}/health`, /resolves to a loopback address \(127\.0\.0\.1\)/],
      [`https://2130706433:${worker.port}/health`, /resolves to a loopback address \(127\.0\.0\.1\)/],
      [`https://[::1]:${media.port}/a.png`, /resolves to a loopback address \(::1\)/],
      [`https://0.0.0.0:${media.port}/a.png`, /resolves to an unspecified address \(0\.0\.0\.0\)/],
      [`http://localhost:${new URL(originUrl).port}/product.png`, /must use https \(got http:\)/],
      // The Worker's own origin is allowed in its /media/ folder only (a real provider's stack sends uploads as its /media URLs).
      [`${stack.workerUrl}/health`, /must use https \(got http:\)/],
      ["file:///etc/passwd", /must be an https: URL or asset:<id>/],
    ];
    for (const [url, reason] of refused) {
      const answer = await refusal({ prompt: "A teal water bottle", duration_s: 15, brand_assets: { product_images: [`${originUrl}/product.png`], logo: url } });
      expect(answer.status, url).toBe(422);
      expect(answer.body.field, url).toBe("brand_assets.logo");
      expect(answer.body.error, url).toMatch(/^brand_assets\.logo: /);
      expect(answer.body.error, url).toMatch(reason);
    }
    expect((await client.list()).videos.length).toBe(before);
  });

  it("makes a 15 s ad whose references are the brand assets, with a consistency score", async () => {
    const productUrl = `${originUrl}/product.png`;
    const characterUrl = `${originUrl}/character.jpg`;
    const { video_id } = await client.generate({
      prompt: "A teal water bottle for beach volleyball players at sunset",
      duration_s: 15,
      brand_assets: { product_images: [productUrl], character_images: [characterUrl], logo: logoRef },
    });
    const end = await follow(video_id);
    expect(end.error).toBeNull();
    expect(end.status).toBe("complete");

    const video = VideoResponse.parse(await client.video(video_id));
    // SPEC §5.2: product[0], character[0], logo — and which asset became which reference.
    expect(video.reference_images.map((r) => [r.type, r.source])).toEqual([
      ["product", productUrl],
      ["character", characterUrl],
      ["logo", logoRef],
    ]);
    for (const reference of video.reference_images) {
      expect(reference.asset).toMatch(/^asset:[0-9a-f-]{36}$/);
      expect(reference.analyser).toBe("local");
      expect(reference.analysis!.colors.length).toBeGreaterThan(0);
    }
    expect(video.reference_images[2]!.asset).toBe(logoRef);
    // The reference is the served image itself, re-encoded: the same pixels.
    const reference = Buffer.from(await (await fetch(video.reference_images[0]!.url)).arrayBuffer());
    expect((await pixels(reference)).equals(await pixels(served.get("/product.png")!.body))).toBe(true);
    // Its analysed palette holds the two colours the image is made of.
    expect(video.reference_images[0]!.analysis!.colors).toEqual(expect.arrayContaining(["#1F6F78", "#F2C14E"]));
    expect(video.consistency_context).toContain("COLOR PALETTE: #1F6F78");

    const consistency = video.consistency!;
    expect(consistency.chunks).toHaveLength(video.chunk_urls.length);
    expect(consistency.chunks.every((c) => c.reference_drift !== null)).toBe(true);
    expect(consistency.reference_drift!.max).toBeGreaterThanOrEqual(consistency.reference_drift!.mean);
    expect(consistency.flagged_chunks).toEqual(consistency.chunks.filter((c) => c.reference_drift! > consistency.threshold).map((c) => c.chunk_num));
    console.log(`consistency of ${video_id}: ${JSON.stringify({ ...consistency, chunks: consistency.chunks.map((c) => [c.chunk_num, c.beat_index, c.reference_drift]) })}`);
  }, 150_000);

  it("answers 503, creating nothing, while media-node is down", async () => {
    const before = (await client.list()).videos.length;
    await stack.stopMediaNode();
    const down = await refusal({ prompt: "A teal water bottle", duration_s: 15, brand_assets: { product_images: [`${originUrl}/product.png`] } });
    expect(down.status).toBe(503);
    expect(down.body.field).toBe("brand_assets.product_images.0");
    expect((await client.list()).videos.length).toBe(before);
  });
});
