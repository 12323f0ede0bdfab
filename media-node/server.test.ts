import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_NODE_BODY_LIMIT_BYTES, MediaError } from "../contracts/media.ts";
import { TEST_SECRET } from "../test/support/origin.ts";
import { buildServer } from "./server.ts";

/**
 * A body over media-node's limit is refused while it is still arriving: media-node reads a body
 * before it checks the signature (the signature covers its bytes), so whoever can reach it could
 * otherwise make it hold a body of any size; and the connection ends with the answer, the rest of
 * the body unread. Real server over HTTP.
 */

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = await buildServer({ secret: TEST_SECRET });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  // Whatever a failing test left open must not hold the file.
  app.server.closeAllConnections();
  await app.close();
});

/** POST to media-node with a body sent in pieces and never ended; the answer (status and body) once it comes. */
function sendEndless(path: string, bytes: number, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; bodyEnded: boolean; connection?: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own (no agent to keep it): media-node is to close it.
    const req = request({ agent: false, host: "127.0.0.1", port, method: "POST", path, headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      // Resolved once media-node has closed the connection: it does not read the rest of the body.
      res.socket.on("close", () => resolve({ status: res.statusCode!, body: JSON.parse(text), bodyEnded: req.writableEnded, connection: res.headers.connection }));
    });
    req.on("error", (error) => ((error as NodeJS.ErrnoException).code === "EPIPE" || (error as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(error)));
    const piece = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < bytes; sent += piece.length) req.write(piece);
    // Not ended: a server that waits for the whole body never answers.
  });
}

describe("media-node's body limit", () => {
  it("answers 413 naming `body` for an unsigned body over the limit before the body ends", async () => {
    const answer = await sendEndless("/v1/media/images/ingest", MEDIA_NODE_BODY_LIMIT_BYTES + 128 * 1024);
    expect(answer.bodyEnded).toBe(false);
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe("close");
    expect(MediaError.parse(answer.body)).toEqual({ error: "Request body is too large", field: "body" });
  });

  it("answers 413 at once for a declared length over the limit", async () => {
    const answer = await sendEndless("/v1/media/images/ingest", 1024, { "content-length": String(MEDIA_NODE_BODY_LIMIT_BYTES + 1) });
    expect(answer.bodyEnded).toBe(false);
    expect(answer.status).toBe(413);
    expect(MediaError.parse(answer.body)).toMatchObject({ field: "body" });
  });
});
