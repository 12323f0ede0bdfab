import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRET, type TestOrigin, postSigned, startOrigin } from "../test/support/origin.ts";
import { buildServer } from "./server.ts";

/**
 * Admission (admission.ts) through the real server: with its encode slots taken, media-node
 * refuses another encode at once with 503 and Retry-After (a finish one slot later), and admits again
 * once a slot frees. A slot is held by a mux whose downloads the origin keeps open until the test lets go.
 */

describe("encode admission", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;
  /** Downloads the origin keeps open: each held mux's video and music. */
  const held: ServerResponse[] = [];
  let waitingFor = 0;
  let seen: () => void = () => undefined;
  const downloads = (count: number) =>
    new Promise<void>((resolve) => {
      waitingFor = count;
      seen = resolve;
      if (held.length >= count) resolve();
    });

  beforeAll(async () => {
    app = await buildServer({ secret: TEST_SECRET, encodeSlots: 1 });
    origin = await startOrigin();
    origin.serve("/held.mp4", (_request, response) => {
      held.push(response);
      if (held.length >= waitingFor) seen();
    });
    origin.serve("/missing.mp4", (_request, response) => void response.writeHead(404).end("not found"));
  });

  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  const mux = (source: string) => ({ video_url: origin.url(`${source}?sig=v`), audio_url: origin.url(`${source}?sig=a`), output_url: origin.url("/out/final.mp4?sig=o") });
  const normalize = (extra: Record<string, unknown> = {}) =>
    postSigned(app, "/v1/media/chunks/normalize", { input_url: origin.url("/missing.mp4?sig=n"), output_url: origin.url("/out/chunk.mp4?sig=o"), width: 320, height: 180, fps: 24, frames: 24, ...extra });

  it("answers 503 with Retry-After while every slot is in use, a finish one slot later than background encodes, then admits again", async () => {
    const first = postSigned(app, "/v1/media/audio/mux", mux("/held.mp4"));
    await downloads(2);
    // A background encode finds the one slot taken.
    const refusedEncode = await normalize();
    expect(refusedEncode.statusCode).toBe(503);
    expect(refusedEncode.headers["retry-after"]).toBe("1");
    expect(refusedEncode.json().error).toBe("media-node is busy: all 1 encode slots are in use");
    // A finish takes the slot reserved for finishes: admitted, held too.
    const second = postSigned(app, "/v1/media/audio/mux", mux("/held.mp4"));
    await downloads(4);
    const refused = await postSigned(app, "/v1/media/audio/mux", mux("/missing.mp4"));
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error).toBe("media-node is busy: all 2 encode slots a finish may take are in use");
    // Routes on a chain's critical path are not encodes: never refused.
    const lastFrame = await postSigned(app, "/v1/media/chunks/last-frame", { input_url: origin.url("/missing.mp4?sig=x"), width: 320, height: 180, fps: 24, frames: 24, last_frame_url: origin.url("/out/last.png?sig=l") });
    expect(lastFrame.statusCode).not.toBe(503);

    for (const response of held) response.writeHead(404).end("gone");
    expect((await first).statusCode).not.toBe(503);
    expect((await second).statusCode).not.toBe(503);
    const admitted = await postSigned(app, "/v1/media/audio/mux", mux("/missing.mp4"));
    expect(admitted.statusCode).not.toBe(503);
    expect(admitted.json().error).toMatch(/404/);
    const encode = await normalize();
    expect(encode.statusCode).not.toBe(503);
  });
  it("admits a normalize pass that ends the chunk phase, and the soundtrack mix, like a finish, while an ordinary normalize is refused", async () => {
    held.length = 0;
    const first = postSigned(app, "/v1/media/audio/mux", mux("/held.mp4"));
    await downloads(2);
    expect((await normalize()).statusCode).toBe(503);
    expect((await normalize({ ends_chunk_phase: false })).statusCode).toBe(503);
    // Nothing but `true` raises it: a malformed flag is an ordinary request (and a 422 once admitted).
    expect((await normalize({ ends_chunk_phase: "yes" })).statusCode).toBe(503);
    // Admitted: it reached its download, which the origin answers 404.
    const tail = await normalize({ ends_chunk_phase: true });
    expect(tail.statusCode).toBe(502);
    expect(tail.json().error).toMatch(/404/);
    // So is the soundtrack mix: the final file and the captions wait on it.
    const mix = await postSigned(app, "/v1/media/audio/prepare", { music_url: origin.url("/missing.mp4?sig=m"), frames: 240, fps: 24, output_url: origin.url("/out/music.m4a?sig=o") });
    expect(mix.statusCode).not.toBe(503);
    expect(mix.json().error).toMatch(/404/);
    for (const response of held) response.writeHead(404).end("gone");
    expect((await first).statusCode).not.toBe(503);
    const malformed = await normalize({ ends_chunk_phase: "yes" });
    expect(malformed.statusCode).toBe(422);
    expect(malformed.json().error).toMatch(/ends_chunk_phase/);
  });
});
