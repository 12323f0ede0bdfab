import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IngestImageResponse, STORAGE_UNAVAILABLE_HEADER } from "../../contracts/media.ts";
import { signRequest } from "../../contracts/signing.ts";
import { buildServer } from "../server.ts";
import { postSigned, startOrigin, TEST_SECRET, type TestOrigin } from "../../test/support/origin.ts";

const ROUTE = "/v1/media/images/ingest";

function base(width: number, height: number) {
  // Two colours so orientation is observable: red on the left, blue on the right.
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(x < width / 2 ? [220, 20, 20] : [20, 20, 220], (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

describe("POST /v1/media/images/ingest", () => {
  /** media-node as the local stack runs it: the test origin is one of its allowed origins. */
  let app: FastifyInstance;
  /** media-node as production runs it: no allowed origins. */
  let strictApp: FastifyInstance;
  let origin: TestOrigin;

  beforeAll(async () => {
    origin = await startOrigin();
    app = await buildServer({ secret: TEST_SECRET, allowedOrigins: [origin.url("")] });
    strictApp = await buildServer({ secret: TEST_SECRET });
    origin.serveBytes("/brand.png", await base(320, 200).png().toBuffer(), "image/png");
    // Misleading names and content types on purpose: only the bytes decide.
    origin.serveBytes("/photo.bin", await base(300, 200).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer(), "text/plain");
    origin.serveBytes("/logo.webp", await base(256, 256).webp().toBuffer(), "application/octet-stream");
    origin.serveBytes("/notes.png", Buffer.from("meeting notes, definitely not pixels\n".repeat(10)), "image/png");
    origin.serveBytes("/anim.gif", await base(128, 128).gif().toBuffer(), "image/gif");
    origin.serveBytes("/icon.png", await base(32, 32).png().toBuffer(), "image/png");
    const full = await base(400, 400).png({ compressionLevel: 0 }).toBuffer();
    origin.serveBytes("/truncated.png", full.subarray(0, Math.floor(full.length * 0.6)), "image/png");
    const huge = Buffer.alloc(40 * 1024 * 1024, 0);
    full.copy(huge, 0, 0, 16);
    origin.serve("/huge.png", (_req, res) => {
      res.writeHead(200, { "content-type": "image/png" }); // no Content-Length: must be capped while streaming
      res.end(huge);
    });
  });
  afterEach(() => {
    origin.uploads.clear();
  });
  afterAll(async () => {
    await app.close();
    await strictApp.close();
    await origin.close();
  });

  const ingest = (source: string, extra: Record<string, unknown> = {}, server = app) =>
    postSigned(server, ROUTE, { source_url: source, output_url: origin.url("/store/asset.png?X-Sig=secret"), ...extra });

  /** A 422 naming `field`: the source URL (`source_url`), the image it held (`image`), or the request's own (`max_bytes`). */
  async function expectRefused(source: string, reason: string | RegExp, field: string, extra: Record<string, unknown> = {}, server = app) {
    const response = await ingest(source, extra, server);
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json()).toEqual({ error: typeof reason === "string" ? reason : expect.stringMatching(reason), field });
    expect(origin.uploads.size, "nothing may be stored for a refused asset").toBe(0);
  }

  it("is production's policy without allowed origins: http, file: and loopback sources are refused", async () => {
    await expectRefused(origin.url("/brand.png"), "source_url must use https (got http:)", "source_url", {}, strictApp);
    await expectRefused("file:///etc/passwd", "source_url must use https (got file:)", "source_url", {}, strictApp);
    await expectRefused(`https://127.0.0.1:${origin.port}/brand.png`, "source_url resolves to a loopback address (127.0.0.1)", "source_url", {}, strictApp);
    await expectRefused(`https://[::1]:${origin.port}/brand.png`, "source_url resolves to a loopback address (::1)", "source_url", {}, strictApp);
  });

  it("allows exactly its allowed origins: the same host on https, or another spelling, is refused", async () => {
    await expectRefused(`https://127.0.0.1:${origin.port}/brand.png`, "source_url resolves to a loopback address (127.0.0.1)", "source_url");
    await expectRefused(`http://localhost:${origin.port}/brand.png`, "source_url must use https (got http:)", "source_url");
    await expectRefused(`https://127.1:${origin.port}/brand.png`, "source_url resolves to a loopback address (127.0.0.1)", "source_url");
  });

  it("stores a PNG source re-encoded as PNG", async () => {
    const response = await ingest(origin.url("/brand.png"));
    expect(response.statusCode, response.body).toBe(200);
    const stored = origin.uploads.get("/store/asset.png")!;
    expect(stored.contentType).toBe("image/png");
    expect(IngestImageResponse.parse(response.json())).toEqual({ width: 320, height: 200, format: "png", bytes: stored.body.length });
    const meta = await sharp(stored.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 320, 200]);
  });

  it("detects a JPEG by content whatever its name and type, applies EXIF orientation and strips metadata", async () => {
    const response = await ingest(origin.url("/photo.bin"));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ width: 200, height: 300, format: "jpeg" });
    const stored = origin.uploads.get("/store/asset.png")!.body;
    const meta = await sharp(stored).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 200, 300]);
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    // Orientation 6 is "rotate 90° clockwise to display": the left (red) half ends up on top.
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(at(100, 20)[0]).toBeGreaterThan(180);
    expect(at(100, 280)[2]).toBeGreaterThan(180);
  });

  it("accepts WebP", async () => {
    const response = await ingest(origin.url("/logo.webp"));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ width: 256, height: 256, format: "webp" });
    expect((await sharp(origin.uploads.get("/store/asset.png")!.body).metadata()).format).toBe("png");
  });

  it("refuses a text file named .png", async () => {
    await expectRefused(origin.url("/notes.png"), "not a PNG, JPEG or WebP image", "image");
  });

  it("refuses other image formats", async () => {
    await expectRefused(origin.url("/anim.gif"), "not a PNG, JPEG or WebP image", "image");
  });

  it("refuses images under 64x64 and over max_pixels", async () => {
    await expectRefused(origin.url("/icon.png"), "image is 32x32, under the 64x64 minimum", "image");
    await expectRefused(origin.url("/brand.png"), "image is 320x200 (64000 pixels), over the 50000 pixel limit", "image", { max_pixels: 50_000 });
  });

  it("refuses a truncated image instead of storing a grey-padded one", async () => {
    await expectRefused(origin.url("/truncated.png"), /^PNG image could not be decoded/, "image");
  });

  it("refuses a 40 MB body at the byte limit", async () => {
    await expectRefused(origin.url("/huge.png"), /^image is over the 15728640 byte limit/, "image");
  });

  it("refuses limits above media-node's ceilings", async () => {
    await expectRefused(origin.url("/brand.png"), /^max_bytes: .* ceiling$/, "max_bytes", { max_bytes: 1024 * 1024 * 1024 });
    await expectRefused(origin.url("/brand.png"), /^max_pixels: .* ceiling$/, "max_pixels", { max_pixels: 500_000_000 });
  });

  it("refuses an unsigned request with 401", async () => {
    const body = JSON.stringify({ source_url: origin.url("/brand.png"), output_url: origin.url("/store/x.png") });
    const response = await app.inject({ method: "POST", url: ROUTE, payload: body, headers: { "content-type": "application/json" } });
    expect(response.statusCode).toBe(401);
    expect(origin.uploads.size).toBe(0);
  });
});

/**
 * An upload the Worker staged in our own storage (`staged: true`) whose storage fails is our
 * outage, not the client's bad file: 503 with Retry-After, which the Worker retries or reports as
 * its own. The same failure at a client's URL stays a 422 naming source_url. Real media-node over
 * HTTP; the storage is a real server on 127.0.0.1 that fails the ways storage does.
 */
describe("POST /v1/media/images/ingest of a staged source when our storage fails", () => {
  let app: FastifyInstance;
  let strictApp: FastifyInstance;
  let mediaNodeUrl: string;
  let strictUrl: string;
  let storage: TestOrigin;
  /** A port nothing listens on any more: connection refused. */
  let deadPort: number;

  beforeAll(async () => {
    storage = await startOrigin();
    storage.serve("/staged/500.bin", (_req, res) => void res.writeHead(500, { "content-type": "application/xml" }).end("<Error><Code>InternalError</Code></Error>"));
    // An expired or refused presigned URL: S3's 403 (R2 answers 400 ExpiredRequest or 401).
    storage.serve("/staged/expired.bin", (_req, res) => void res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code></Error>"));
    storage.serve("/staged/hangup.bin", (req) => void req.socket.destroy());
    storage.serveBytes("/staged/good.bin", await base(320, 200).png().toBuffer());
    storage.serveBytes("/staged/notes.bin", Buffer.from("meeting notes, definitely not pixels\n".repeat(10)));
    const closed = await startOrigin();
    deadPort = closed.port;
    await closed.close();
    // The refused port is allowed too, so the policy lets its fetch be tried.
    app = await buildServer({ secret: TEST_SECRET, allowedOrigins: [storage.url("/staged/"), `http://127.0.0.1:${deadPort}/staged/`] });
    strictApp = await buildServer({ secret: TEST_SECRET });
    mediaNodeUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    strictUrl = await strictApp.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await strictApp.close();
    await storage.close();
  });

  async function ingest(source: string, staged: boolean, base = mediaNodeUrl, output = "/store/asset.png"): Promise<Response> {
    const body = JSON.stringify({ source_url: source, staged, output_url: storage.url(output) });
    return fetch(`${base}${ROUTE}`, { method: "POST", body, headers: { "content-type": "application/json", ...(await signRequest(TEST_SECRET, "POST", ROUTE, body)) } });
  }

  const failures = () => [
    { name: "a 500", url: storage.url("/staged/500.bin"), reason: "source_url answered 500" },
    { name: "a refused presign (403)", url: storage.url("/staged/expired.bin"), reason: "source_url answered 403" },
    { name: "a closed connection", url: storage.url("/staged/hangup.bin"), reason: "source_url could not be fetched (ECONNRESET)" },
    { name: "a refused connection", url: `http://127.0.0.1:${deadPort}/staged/gone.bin`, reason: "source_url could not be fetched (ECONNREFUSED)" },
  ];

  it("answers 503 with Retry-After for a staged source, whatever way the storage fails", async () => {
    for (const failure of failures()) {
      const response = await ingest(failure.url, true);
      expect(response.status, `${failure.name}: ${await response.clone().text()}`).toBe(503);
      expect(response.headers.get("retry-after"), failure.name).toBe("2");
      // Not a busy answer: the Worker's container pool must not try the other instances with it.
      expect(response.headers.get(STORAGE_UNAVAILABLE_HEADER), failure.name).toBe("1");
      // A failure of ours names no field of the request: nothing in it is at fault.
      expect(await response.json()).toEqual({ error: `our storage did not hand back the staged source: ${failure.reason}` });
    }
    expect(storage.uploads.size).toBe(0);
  });

  it("answers 503 with Retry-After when our storage does not take the ingested image, staged source or not; a refused presign stays a 502", async () => {
    // What the local stack's R2 answers while its writes fail (test/faults: a write lock on its SQLite file).
    storage.serve("/store/500.png", (req, res) => void req.resume().on("end", () => res.writeHead(500, { "content-type": "application/xml" }).end("<Error><Code>InternalError</Code><Message>put: Unspecified error (0)</Message></Error>")));
    storage.serve("/store/expired.png", (req, res) => void req.resume().on("end", () => res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code></Error>")));
    for (const staged of [true, false]) {
      const failing = await ingest(storage.url("/staged/good.bin"), staged, mediaNodeUrl, "/store/500.png");
      expect(failing.status, `staged ${staged}: ${await failing.clone().text()}`).toBe(503);
      expect(failing.headers.get("retry-after")).toBe("2");
      expect(failing.headers.get(STORAGE_UNAVAILABLE_HEADER)).toBe("1");
      expect(await failing.json()).toEqual({ error: expect.stringMatching(/^our storage did not take the ingested image: storing output at .* answered 500: /) });
      const refused = await ingest(storage.url("/staged/good.bin"), staged, mediaNodeUrl, "/store/expired.png");
      expect(refused.status).toBe(502);
      expect(refused.headers.get(STORAGE_UNAVAILABLE_HEADER)).toBeNull();
    }
    // Nor when it cannot be reached at all.
    const body = JSON.stringify({ source_url: storage.url("/staged/good.bin"), staged: true, output_url: `http://127.0.0.1:${deadPort}/store/asset.png` });
    const unreachable = await fetch(`${mediaNodeUrl}${ROUTE}`, { method: "POST", body, headers: { "content-type": "application/json", ...(await signRequest(TEST_SECRET, "POST", ROUTE, body)) } });
    expect(unreachable.status).toBe(503);
    expect(unreachable.headers.get(STORAGE_UNAVAILABLE_HEADER)).toBe("1");
    expect(storage.uploads.size).toBe(0);
  });

  it("keeps a client's URL that fails the same ways a 422 naming source_url", async () => {
    for (const failure of failures()) {
      const response = await ingest(failure.url, false);
      expect(response.status, failure.name).toBe(422);
      expect(response.headers.get("retry-after")).toBeNull();
      expect(response.headers.get(STORAGE_UNAVAILABLE_HEADER)).toBeNull();
      expect(await response.json()).toEqual({ error: failure.reason, field: "source_url" });
    }
  });

  it("still judges the staged bytes as the client's: an image is stored, anything else is a 422", async () => {
    const stored = await ingest(storage.url("/staged/good.bin"), true);
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ width: 320, height: 200, format: "png" });
    expect(storage.uploads.has("/store/asset.png")).toBe(true);
    storage.uploads.clear();
    const refused = await ingest(storage.url("/staged/notes.bin"), true);
    expect(refused.status).toBe(422);
    // Named as the image, not as source_url: the Worker's URL, the client's bytes.
    expect(await refused.json()).toEqual({ error: "not a PNG, JPEG or WebP image", field: "image" });
  });

  it("applies its fetch policy to a staged source all the same", async () => {
    // Production's policy (no allowed origins): plain http on a loopback address is refused, staged or not.
    const response = await ingest(storage.url("/staged/good.bin"), true, strictUrl);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ error: "source_url must use https (got http:)", field: "source_url" });
    expect(storage.uploads.size).toBe(0);
  });

  it("names the field of a body that does not fit the contract, or is not JSON at all", async () => {
    const post = async (body: string) =>
      fetch(`${mediaNodeUrl}${ROUTE}`, { method: "POST", body, headers: { "content-type": "application/json", ...(await signRequest(TEST_SECRET, "POST", ROUTE, body)) } });
    const missing = await post(JSON.stringify({ output_url: storage.url("/store/asset.png") }));
    expect(missing.status).toBe(422);
    expect(await missing.json()).toEqual({ error: expect.stringMatching(/^source_url: /), field: "source_url" });
    const negative = await post(JSON.stringify({ source_url: storage.url("/staged/good.bin"), output_url: storage.url("/store/asset.png"), max_bytes: -1 }));
    expect(await negative.json()).toEqual({ error: expect.stringMatching(/^max_bytes: /), field: "max_bytes" });
    const garbled = await post("{not json");
    expect(garbled.status).toBe(422);
    expect(await garbled.json()).toEqual({ error: "request body is not valid JSON", field: "body" });
    expect(storage.uploads.size).toBe(0);
  });

  it("names no field where the refusal is about none: a bad signature, an unknown route", async () => {
    const body = JSON.stringify({ source_url: storage.url("/staged/good.bin"), output_url: storage.url("/store/asset.png") });
    const unsigned = await fetch(`${mediaNodeUrl}${ROUTE}`, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ error: "missing or invalid request signature" });
    const route = "/v1/media/images/nothing-here";
    const unknown = await fetch(`${mediaNodeUrl}${route}`, { method: "POST", body, headers: { "content-type": "application/json", ...(await signRequest(TEST_SECRET, "POST", route, body)) } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: `Route POST:${route} not found` });
  });
});
