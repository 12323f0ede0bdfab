import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_NODE_BODY_LIMIT_BYTES, MediaError, STORAGE_UNAVAILABLE_HEADER } from "../contracts/media.ts";
import { signRequest, WEBHOOK_TOLERANCE_SECONDS } from "../contracts/signing.ts";
import { buildServer } from "../media-node/server.ts";
import { MediaNodeStandIn } from "./support/media-node-stand-in.ts";
import { startOrigin, TEST_SECRET, type TestOrigin } from "./support/origin.ts";

/**
 * The Worker tests' media-node stand-in (test/support/media-node-stand-in.ts) against the real
 * media-node, request for request: the same refusals with the same status and the same `field`,
 * every error body in contracts/media.ts MediaError's shape and nothing more. The Worker decides
 * by that `field` (worker/references/assets.ts), so a stand-in that named another would let its
 * tests pass where production would answer otherwise. Both run here on 127.0.0.1: the real one
 * over HTTP, the stand-in over the fetch API it serves inside workerd, reading and storing
 * through the same test origin (an allowed folder, as the local stack's storage is).
 */

const ROUTE = "/v1/media/images/ingest";

/** A request both are sent; `words`: the stand-in answers media-node's very message, not only its status and field. */
interface Case {
  name: string;
  path?: string;
  body: () => unknown;
  raw?: string;
  /** Unsigned (false), or signed with another secret, or at a time outside media-node's window. */
  signed?: false | { secret?: string; at?: number };
  words: boolean;
}

describe("the media-node stand-in answers refusals as media-node does", () => {
  let origin: TestOrigin;
  let app: FastifyInstance;
  let realUrl: string;
  let standIn: MediaNodeStandIn;

  beforeAll(async () => {
    origin = await startOrigin();
    const png = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: "#c04020" } }).png().toBuffer();
    origin.serveBytes("/staged/brand.png", await png(320, 200), "image/png");
    origin.serveBytes("/staged/icon.png", await png(32, 32), "image/png");
    origin.serveBytes("/staged/notes.bin", Buffer.from("meeting notes, definitely not pixels\n".repeat(10)));
    // Our storage failing a write, as the local stack's R2 answers it while its writes fail.
    origin.serve("/store/failing.png", (req, res) => void req.resume().on("end", () => res.writeHead(500, { "content-type": "application/xml" }).end("<Error><Code>InternalError</Code></Error>")));
    const allowedOrigins = [origin.url("/staged/")];
    app = await buildServer({ secret: TEST_SECRET, allowedOrigins });
    realUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    standIn = new MediaNodeStandIn(TEST_SECRET, { storage: (request) => fetch(request), allowedOrigins });
  });
  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  const ingest = (source: string, extra: Record<string, unknown> = {}) => () => ({ source_url: source, output_url: origin.url("/store/asset.png"), ...extra });
  const cases = (): Case[] => [
    { name: "a body without source_url", body: () => ({ output_url: origin.url("/store/asset.png") }), words: true },
    { name: "an output_url that is no URL", body: ingest(origin.url("/staged/brand.png"), { output_url: "somewhere" }), words: true },
    { name: "a body that is not JSON", body: () => null, raw: "{not json", words: true },
    { name: "max_bytes over the ceiling", body: ingest(origin.url("/staged/brand.png"), { max_bytes: 1024 * 1024 * 1024 }), words: true },
    { name: "plain http outside the allowed places", body: ingest(`http://127.0.0.1:${origin.port}/elsewhere/brand.png`), words: true },
    { name: "a client's source that answers 404", body: ingest(origin.url("/staged/gone.png")), words: true },
    { name: "a staged source our storage answers 404 for", body: ingest(origin.url("/staged/gone.png"), { staged: true }), words: true },
    { name: "an output_url our storage fails (500)", body: ingest(origin.url("/staged/brand.png"), { staged: true, output_url: origin.url("/store/failing.png") }), words: false },
    { name: "bytes that are no image", body: ingest(origin.url("/staged/notes.bin"), { staged: true }), words: false },
    { name: "an image under the minimum", body: ingest(origin.url("/staged/icon.png"), { staged: true }), words: true },
    { name: "an image over max_pixels", body: ingest(origin.url("/staged/brand.png"), { max_pixels: 50_000 }), words: true },
    { name: "a composite layer's weight out of range", path: "/v1/media/images/composite", body: () => ({ layers: [{ url: origin.url("/staged/brand.png"), weight: 2 }], width: 64, height: 64, output_url: origin.url("/store/c.png") }), words: true },
    { name: "a normalize request with nothing in it", path: "/v1/media/chunks/normalize", body: () => ({}), words: true },
    { name: "an unsigned request", body: ingest(origin.url("/staged/brand.png")), signed: false, words: true },
    { name: "a request signed with another secret", body: ingest(origin.url("/staged/brand.png")), signed: { secret: "another secret" }, words: true },
    { name: "a request signed outside the time window", body: ingest(origin.url("/staged/brand.png")), signed: { at: Math.floor(Date.now() / 1000) - WEBHOOK_TOLERANCE_SECONDS - 60 }, words: true },
    { name: "an unknown route", path: "/v1/media/images/nothing-here", body: () => ({}), words: true },
    { name: "an unknown route, unsigned", path: "/v1/media/images/nothing-here", body: () => ({}), signed: false, words: true },
    { name: "a body over media-node's limit", body: () => null, raw: JSON.stringify({ source_url: `https://assets.example/${"a".repeat(MEDIA_NODE_BODY_LIMIT_BYTES)}.png` }), words: true },
  ];

  async function request(base: string, c: Case): Promise<Request> {
    const path = c.path ?? ROUTE;
    const body = c.raw ?? JSON.stringify(c.body());
    const signature = c.signed === false ? {} : await signRequest(c.signed?.secret ?? TEST_SECRET, "POST", path, body, c.signed?.at);
    return new Request(`${base}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...signature } });
  }

  it("with the same status, the same field and nothing outside MediaError", async () => {
    for (const c of cases()) {
      const real = await fetch(await request(realUrl, c));
      const stood = await standIn.handle(await request("http://media-node.test", c));
      const [realBody, standInBody] = [await real.json(), await stood.json()];
      expect(real.status, `${c.name}: ${JSON.stringify(realBody)}`).toBeGreaterThanOrEqual(400);
      expect(stood.status, `${c.name}: the stand-in answered ${JSON.stringify(standInBody)}`).toBe(real.status);
      const [realError, standInError] = [MediaError.strict().parse(realBody), MediaError.strict().parse(standInBody)];
      expect(standInError.field, `${c.name}: ${realError.error} / ${standInError.error}`).toBe(realError.field);
      if (c.words) expect(standInError.error, c.name).toBe(realError.error);
      expect(stood.headers.get("retry-after"), c.name).toBe(real.headers.get("retry-after"));
      expect(stood.headers.get(STORAGE_UNAVAILABLE_HEADER), c.name).toBe(real.headers.get(STORAGE_UNAVAILABLE_HEADER));
    }
    expect(origin.uploads.size, "nothing refused is stored").toBe(0);
  });

  it("names the field of every refusal whose subject is one: the image, the URL, the request's own", async () => {
    const named = [];
    for (const c of cases()) named.push((await (await fetch(await request(realUrl, c))).json()) as MediaError);
    expect(named.map((answer) => answer.field)).toEqual([
      "source_url",
      "output_url",
      "body",
      "max_bytes",
      "source_url",
      "source_url",
      undefined, // our storage's outage: a 503 of ours, about no field of the request
      undefined, // so is its failing to take the output
      "image",
      "image",
      "image",
      "layers.0.weight",
      "input_url",
      undefined, // no field: a signature and a route are about the request as a whole
      undefined,
      undefined,
      undefined,
      undefined,
      "body", // fastify's own refusal, before any route reads the request
    ]);
  });

  it("takes a route away as media-node answers a route it does not have (an image older than the Worker)", async () => {
    const route = "/v1/media/images/nothing-here";
    const real = await fetch(await request(realUrl, { name: "unknown", path: route, body: () => ({}), words: true }));
    const older = new MediaNodeStandIn(TEST_SECRET);
    older.absent.add(ROUTE);
    const stood = await older.handle(await request("http://media-node.test", { name: "absent", body: ingest(origin.url("/staged/brand.png")), words: true }));
    expect(stood.status).toBe(real.status);
    expect(await stood.json()).toEqual({ error: MediaError.parse(await real.json()).error.replace(route, ROUTE) });
    expect(older.requests).toEqual([]);
  });
});
