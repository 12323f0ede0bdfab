import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { CompositeResponse, MEDIA_NODE_BODY_LIMIT_BYTES } from "../../contracts/media.ts";
import { containerMediaNode, containerRuntimes } from "../../test/support/workerd/container-runtime.ts";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { loadConfig } from "../config.ts";
import { MEDIA_NODE_CONTAINER } from "./container-shape.ts";
import { instanceName } from "./container-pool.ts";
import { type MediaNode, MediaNodeError, mediaNode } from "./media-node.ts";
import { connectMediaNode } from "./media-node-transport.ts";

/**
 * Both ways the Worker reaches media-node, through the one MediaNode interface:
 * - `url`: MEDIA_NODE_URL, plain signed HTTP (local development and tests);
 * - `container`: the MEDIA_NODE_CONTAINER binding (production). Here it is the real
 *   MediaNodeContainer class (its admission gate, and @cloudflare/containers' start, readiness
 *   checks and proxying) on real Durable Objects, with a stand-in for workerd's container
 *   runtime because this machine has no Docker (test/support/workerd/container-runtime.ts).
 * Behind both sits the same media-node stand-in (signature check, contract, held composites).
 */

const config = loadConfig(env);
const composite = (width: number) => ({ layers: [{ url: "https://media.test/in.png", weight: 1 }], width, height: 64, output_url: "https://media.test/out.png" });

let server: MediaNodeStandIn;
beforeEach(() => {
  server = new MediaNodeStandIn(config.mediaNodeSecret);
  containerMediaNode.current = server;
});

const transports: Record<string, (secret?: string, random?: () => number) => MediaNode> = {
  url: (secret = config.mediaNodeSecret) =>
    connectMediaNode(env, { ...config, mediaNodeUrl: "http://media-node.test", mediaNodeSecret: secret }, { fetch: async (input, init) => server.handle(new Request(input, init)) }),
  container: (secret = config.mediaNodeSecret, random) => connectMediaNode(env, { ...config, mediaNodeUrl: "", mediaNodeSecret: secret }, { random }),
};

async function failure(call: Promise<unknown>): Promise<MediaNodeError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaNodeError);
  return error as MediaNodeError;
}

describe.each(Object.keys(transports))("media-node over %s", (kind) => {
  const connect = transports[kind]!;

  it("sends a signed request and returns media-node's answer, parsed by the contract", async () => {
    expect(await connect().call("/v1/media/images/composite", composite(96), CompositeResponse)).toEqual({ width: 96, height: 64, bytes: 96 * 64 });
    expect(server.served).toHaveLength(1);
  });

  it("turns a refused body into a permanent 422 error naming the field", async () => {
    const error = await failure(connect().call("/v1/media/images/composite", { ...composite(96), width: -1 }, CompositeResponse));
    expect(error.status).toBe(422);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/width/);
    // The field as media-node's answer names it, and its own words without this call's prefix.
    expect(error.field).toBe("width");
    expect(error.reason).toMatch(/^width: /);
    const deep = await failure(connect().call("/v1/media/images/composite", { ...composite(96), layers: [{ url: "https://media.test/in.png", weight: 2 }] }, CompositeResponse));
    expect(deep.field).toBe("layers.0.weight");
  });

  it("names the video, job, attempt and step it calls for, in the headers media-node logs them from", async () => {
    const job = { video_id: "3f0c2d9e-1111-4a2b-8c3d-000000000001", job_id: "chunk-1-0", kind: "chunk" as const, attempt: 2, step: "start" };
    await connect().about(job).call("/v1/media/images/composite", composite(96), CompositeResponse);
    await connect().call("/v1/media/images/composite", composite(97), CompositeResponse);
    expect(server.contexts).toEqual([job, {}]);
  });

  /** A refusal every instance would give: asked of one instance only, not retried, and its error says what to check. */
  function refusedAsOurs(error: MediaNodeError, status: number, check: RegExp): void {
    expect([error.status, error.fault, error.retryable, error.busyForSeconds]).toEqual([status, "ours", false, undefined]);
    expect(error.message).toMatch(check);
    expect(server.reached).toHaveLength(1);
    expect(server.served).toEqual([]);
  }

  it("is refused with 401 when the shared secret differs: ours, naming MEDIA_NODE_SECRET", async () => {
    const error = await failure(connect("another-secret").call("/v1/media/images/composite", composite(96), CompositeResponse));
    refusedAsOurs(error, 401, /^media-node refused the request's signature: MEDIA_NODE_SECRET must be the same for the Worker and media-node.*\(media-node \/v1\/media\/images\/composite answered 401: missing or invalid request signature\)$/);
    expect(error.reason).toBe("missing or invalid request signature");
  });

  it("is refused with 404 by a media-node without the route: ours, the Worker and the image out of step", async () => {
    server.absent.add("/v1/media/images/composite");
    const error = await failure(connect().call("/v1/media/images/composite", composite(96), CompositeResponse));
    refusedAsOurs(error, 404, /^media-node has no such route: the Worker and the media-node image are out of step.*answered 404: Route POST:\/v1\/media\/images\/composite not found\)$/);
  });

  it("is refused with 413 for a body over media-node's limit: ours, though media-node names the field `body`", async () => {
    const error = await failure(connect().call("/v1/media/images/composite", { ...composite(96), output_url: `https://media.test/${"a".repeat(MEDIA_NODE_BODY_LIMIT_BYTES)}.png` }, CompositeResponse));
    refusedAsOurs(error, 413, /^media-node refused the request's body as over its 4 MiB limit/);
    expect(error.field).toBe("body");
  });
});

describe("media-node answers outside its error contract", () => {
  const answering = (response: () => Response) => mediaNode("http://media-node.test", config.mediaNodeSecret, async () => response());

  it("keeps a proxy's HTML 502 a retryable error, naming no field", async () => {
    const page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    const error = await failure(answering(() => new Response(page, { status: 502, headers: { "content-type": "text/html" } })).call("/v1/media/images/composite", composite(96), CompositeResponse));
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.field).toBeUndefined();
    expect(error.reason).toBe(page);
  });

  it("reads a JSON body that is not the error contract as text, naming no field", async () => {
    const body = JSON.stringify({ message: "Internal Server Error", field: 7 });
    const error = await failure(answering(() => new Response(body, { status: 500, headers: { "content-type": "application/json" } })).call("/v1/media/images/composite", composite(96), CompositeResponse));
    expect([error.status, error.retryable, error.field, error.reason]).toEqual([500, true, undefined, body]);
  });

  it("decides by status whose an answer is: a passing condition to retry, the content refused, or our own request refused", async () => {
    const faults: Record<number, string> = {};
    for (const status of [400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504, 520]) {
      const error = await failure(answering(() => Response.json({ error: "refused" }, { status })).call("/v1/media/images/composite", composite(96), CompositeResponse));
      expect(error.retryable, String(status)).toBe(error.fault === "passing");
      faults[status] = error.fault;
    }
    expect(faults).toEqual({
      400: "content", 422: "content",
      401: "ours", 403: "ours", 404: "ours", 405: "ours", 409: "ours", 413: "ours", 415: "ours",
      408: "passing", 429: "passing", 500: "passing", 502: "passing", 503: "passing", 504: "passing", 520: "passing",
    });
  });

  it("takes a 200 that is not JSON for a retryable failure, not a crash", async () => {
    const error = await failure(answering(() => new Response("<html>ok</html>", { status: 200 })).call("/v1/media/images/composite", composite(96), CompositeResponse));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/answered an unexpected body/);
  });

  it("takes a 200 whose JSON misses the route's contract for a refusal of ours, naming the field and the two out of step", async () => {
    // What an image of another version answers: JSON, without a field this Worker reads.
    const error = await failure(answering(() => Response.json({ width: 96, bytes: 9216 })).call("/v1/media/images/composite", composite(96), CompositeResponse));
    expect(error.fault).toBe("ours");
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^media-node answered outside the route's contract \(height: .*\): the Worker and the media-node image are out of step: deploy both from the same version \(media-node \/v1\/media\/images\/composite answered 200\)$/);
  });
});

describe("the media-node container pool", () => {
  const slots = MEDIA_NODE_CONTAINER.slotsPerInstance;
  const instances = MEDIA_NODE_CONTAINER.instances;

  it("starts an instance's container with the shared secret and internet access, once", async () => {
    const media = transports.container!(undefined, () => 0.95);
    await media.call("/v1/media/images/composite", composite(80), CompositeResponse);
    await media.call("/v1/media/images/composite", composite(80), CompositeResponse);
    const runtime = containerRuntimes.get(instanceName(instances - 1))!;
    expect(runtime.running).toBe(true);
    expect(runtime.starts).toEqual([{ enableInternet: true, env: { MEDIA_NODE_SECRET: config.mediaNodeSecret } }]);
    expect(server.served).toEqual([instanceName(instances - 1), instanceName(instances - 1)]);
  });

  it("admits one request per vCPU in an instance and sends the next ones to the following instances", async () => {
    server.holding = true;
    const media = transports.container!(undefined, () => 0);
    const calls = Array.from({ length: 3 * slots }, (_, i) => media.call("/v1/media/images/composite", composite(64 + i), CompositeResponse));
    await server.whenActive(3 * slots);
    const perInstance = new Map<string, number>();
    for (const name of server.served) perInstance.set(name, (perInstance.get(name) ?? 0) + 1);
    expect([...perInstance.keys()].sort()).toEqual([0, 1, 2].map(instanceName));
    for (const served of perInstance.values()) expect(served).toBe(slots);
    server.release();
    expect((await Promise.all(calls)).map((answer) => answer.width)).toEqual(Array.from({ length: 3 * slots }, (_, i) => 64 + i));
  });

  it("answers a retryable 503 when every instance is full, and accepts work again once a slot is free", async () => {
    server.holding = true;
    const media = transports.container!(undefined, () => 0.5);
    const held = Array.from({ length: instances * slots }, (_, i) => media.call("/v1/media/images/composite", composite(64 + i), CompositeResponse));
    await server.whenActive(instances * slots);
    const error = await failure(media.call("/v1/media/images/composite", composite(200), CompositeResponse));
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(new RegExp(`all ${instances} media-node instances are busy`));
    // Nothing was accepted that could not start: media-node never worked on more than the slots.
    expect(server.peak).toBe(instances * slots);
    server.release();
    await Promise.all(held);
    expect(await media.call("/v1/media/images/composite", composite(201), CompositeResponse)).toMatchObject({ width: 201 });
  });
});
