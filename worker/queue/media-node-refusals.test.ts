import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CompositeResponse } from "../../contracts/media.ts";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { deliver, start } from "../../test/support/worker/queue-batch.ts";
import { type Harness, driveToChunks, jobOf, newRun, predictionOf, queued, rows, snapshot, startJob, succeed } from "../../test/support/worker/run-driver.ts";
import { containerMediaNode } from "../../test/support/workerd/container-runtime.ts";
import { MEDIA_NODE_CONTAINER } from "../media/container-shape.ts";
import { type MediaNode, mediaNode } from "../media/media-node.ts";
import { connectMediaNode } from "../media/media-node-transport.ts";

/**
 * A job step whose media-node call is refused, through the queue consumer as the queue delivers
 * it, against the strict stand-in (media-node's answers, held to them by
 * test/media-node-stand-in.test.ts) over the real client. A refusal of the request the Worker
 * built (its signature, a route the deployed image lacks) is the same on every delivery and every
 * attempt: the first one fails the attempt for good, and the video's error, live as well, says what
 * to check. A busy media-node is back-pressure still: the step waits, spending nothing.
 */

const COMPOSITE = "/v1/media/images/composite";

/** A run whose chunks ask media-node for their start image first (composite conditioning), and its first chunk. */
async function chunkRun(): Promise<{ h: Harness; chunk: string }> {
  const h = await newRun({ request: { conditioning: "composite" } });
  await driveToChunks(h);
  const [chunk] = await queued(h, "chunk");
  return { h, chunk: chunk! };
}

/** The run's consumers reaching `standIn` over MEDIA_NODE_URL, signing with `secret`. */
function reaching(h: Harness, standIn: MediaNodeStandIn, secret = h.config.mediaNodeSecret): Harness {
  return { ...h, deps: { ...h.deps, media: mediaNode("http://media-node.test", secret, async (input, init) => standIn.handle(new Request(input, init))) } };
}

async function failedEvent(h: Harness): Promise<{ status: string; error: string }> {
  const [event] = await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'failed'");
  return JSON.parse(event!.data) as { status: string; error: string };
}

describe("a job step media-node refuses as a request of ours", () => {
  it("401, the Worker's MEDIA_NODE_SECRET not media-node's: the first delivery fails the attempt and the video, naming the secret", async () => {
    const { h, chunk } = await chunkRun();
    const standIn = new MediaNodeStandIn(h.config.mediaNodeSecret);
    const outcome = await deliver(reaching(h, standIn, "a secret media-node was never given"), [{ body: start(h, chunk), attempts: 1 }]);
    // Not sent again: the same request would be refused again.
    expect(outcome).toMatchObject({ acks: [expect.any(String)], retries: [] });
    expect(standIn.reached).toHaveLength(1);
    const job = await jobOf(h, chunk);
    expect(job).toMatchObject({ status: "failed", attempt: 1 });
    const cause = "media-node refused the request's signature: MEDIA_NODE_SECRET must be the same for the Worker and media-node";
    expect(job.errors).toEqual([expect.stringContaining(cause)]);
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toMatch(new RegExp(`^chunk \\d+ \\(beat .*\\) failed after 1 attempt: ${cause}.*answered 401: missing or invalid request signature\\)$`));
    // The live `failed` event carries the same reason.
    expect(await failedEvent(h)).toMatchObject({ status: "failed", error: end.error });
    expect(h.double.forJob(chunk)).toHaveLength(0);
  });

  it("404, a route the deployed media-node image does not have: fails at once, naming the two out of step", async () => {
    const { h, chunk } = await chunkRun();
    const standIn = new MediaNodeStandIn(h.config.mediaNodeSecret);
    standIn.absent.add(COMPOSITE);
    const outcome = await deliver(reaching(h, standIn), [{ body: start(h, chunk), attempts: 1 }]);
    expect(outcome).toMatchObject({ acks: [expect.any(String)], retries: [] });
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toMatch(/failed after 1 attempt: media-node has no such route: the Worker and the media-node image are out of step: deploy both from the same version \(media-node \/v1\/media\/images\/composite answered 404: Route POST:\/v1\/media\/images\/composite not found\)$/);
    expect(await failedEvent(h)).toMatchObject({ error: end.error });
  });
});

describe("a job step media-node is too busy for", () => {
  afterEach(() => containerMediaNode.current.release());

  it("waits, still ready on its first attempt: every container instance full is a passing condition", async () => {
    const { h, chunk } = await chunkRun();
    const standIn = new MediaNodeStandIn(h.config.mediaNodeSecret);
    containerMediaNode.current = standIn;
    const media: MediaNode = connectMediaNode(env, { ...h.config, mediaNodeUrl: "" });
    // Every slot of every instance held by a composite that has not answered yet.
    standIn.holding = true;
    const slots = MEDIA_NODE_CONTAINER.instances * MEDIA_NODE_CONTAINER.slotsPerInstance;
    const held = Array.from({ length: slots }, () => media.call(COMPOSITE, { layers: [{ url: "https://media.test/in.png", weight: 1 }], width: 64, height: 64, output_url: "https://media.test/out.png" }, CompositeResponse));
    await standIn.whenActive(slots);
    const outcome = await deliver({ ...h, deps: { ...h.deps, media } }, [{ body: start(h, chunk), attempts: 1 }]);
    expect(outcome).toMatchObject({ acks: [expect.any(String)], retries: [] });
    expect(await jobOf(h, chunk)).toMatchObject({ status: "ready", attempt: 1, errors: [] });
    expect((await snapshot(h)).status).not.toBe("failed");
    standIn.release();
    await Promise.all(held);
  });
});

/** A media-node that refuses every call as media-node refuses content: 422, its MediaError naming `field`. */
function refusingContent(h: Harness, field: string, error: string): Harness {
  const answer = () => new Response(JSON.stringify({ error, field }), { status: 422, headers: { "content-type": "application/json" } });
  return { ...h, deps: { ...h.deps, media: mediaNode("http://media-node.test", h.config.mediaNodeSecret, async () => answer()) } };
}

describe("a file media-node refuses as unusable", () => {
  it("made by the model (a chunk's output, in its ingest): the attempt fails and a new one makes a new prediction, the video going on", async () => {
    const h = await newRun();
    await driveToChunks(h);
    const [chunk] = await queued(h, "chunk");
    await startJob(h, chunk!);
    const first = await predictionOf(h, chunk!);
    await succeed(h, chunk!);
    const refusal = "input_url: the clip has no video stream";
    const outcome = await deliver(refusingContent(h, "input_url", refusal), [{ body: { video_id: h.videoId, job_id: chunk!, attempt: 1, step: "ingest" }, attempts: 1 }]);
    // Not sent again as it was: the same file would be refused again.
    expect(outcome).toMatchObject({ acks: [expect.any(String)], retries: [] });
    const job = await jobOf(h, chunk!);
    expect(job.attempt).toBe(2);
    expect(job.errors).toEqual([expect.stringContaining(refusal)]);
    expect((await snapshot(h)).status).toBe("processing");
    // The new attempt renders anew.
    await deliver(h, [{ body: start(h, chunk!, 2), attempts: 1 }]);
    const second = await predictionOf(h, chunk!);
    expect(second.id).not.toBe(first.id);
  });

  it("of ours (the references a chunk's start composites): the first attempt fails for good", async () => {
    const { h, chunk } = await chunkRun();
    const outcome = await deliver(refusingContent(h, "layers.0.url", "layers.0.url: not a readable image"), [{ body: start(h, chunk), attempts: 1 }]);
    expect(outcome).toMatchObject({ acks: [expect.any(String)], retries: [] });
    expect(await jobOf(h, chunk)).toMatchObject({ status: "failed", attempt: 1 });
    expect((await snapshot(h)).status).toBe("failed");
  });
});
