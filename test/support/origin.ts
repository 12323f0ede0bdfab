import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { signRequest } from "../../contracts/signing.ts";
import { buildServer } from "../../media-node/server.ts";

/**
 * Test support (not a test file): a local web origin on 127.0.0.1 that serves whatever a
 * test registers and records PUT uploads, standing in for both brand-asset hosts and the
 * Worker's signed storage URLs.
 */

export type OriginHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestOrigin {
  port: number;
  url(path: string): string;
  serve(path: string, handler: OriginHandler): void;
  serveBytes(path: string, body: Buffer, contentType?: string): void;
  uploads: Map<string, { body: Buffer; contentType: string | undefined }>;
  /** Host headers seen per path, to prove which name a pinned connection announced. */
  hosts: Map<string, string | undefined>;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<TestOrigin> {
  const handlers = new Map<string, OriginHandler>();
  const uploads: TestOrigin["uploads"] = new Map();
  const hosts: TestOrigin["hosts"] = new Map();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0]!;
    hosts.set(path, request.headers.host);
    // A PUT is recorded and answered at once, unless the test serves its path itself.
    if (request.method === "PUT" && !handlers.has(path)) {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        uploads.set(path, { body: Buffer.concat(chunks), contentType: request.headers["content-type"] });
        response.writeHead(200).end();
      });
      return;
    }
    const handler = handlers.get(path);
    if (!handler) return void response.writeHead(404).end("not found");
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    serve: (path, handler) => void handlers.set(path, handler),
    serveBytes: (path, body, contentType = "application/octet-stream") =>
      void handlers.set(path, (_req, res) => res.writeHead(200, { "content-type": contentType, "content-length": body.length }).end(body)),
    uploads,
    hosts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const TEST_SECRET = "test-secret-images";

/** POST a signed JSON request to the app (the signature covers the exact JSON string sent). */
export async function postSigned(app: FastifyInstance, path: string, payload: unknown, options: { sign?: boolean } = {}) {
  const body = JSON.stringify(payload);
  const signature = options.sign === false ? {} : await signRequest(TEST_SECRET, "POST", path, body);
  return app.inject({ method: "POST", url: path, payload: body, headers: { "content-type": "application/json", ...signature } });
}

/**
 * media-node (every capability mounted) and a test origin for one `describe`, started before
 * its tests and closed after them; `setup` registers what the origin serves.
 */
export function useMediaNode(setup: (origin: TestOrigin) => Promise<void> | void = () => undefined): { app: FastifyInstance; origin: TestOrigin } {
  const handle = {} as { app: FastifyInstance; origin: TestOrigin };
  beforeAll(async () => {
    handle.app = await buildServer({ secret: TEST_SECRET });
    handle.origin = await startOrigin();
    await setup(handle.origin);
  });
  afterAll(async () => {
    await handle.app.close();
    await handle.origin.close();
  });
  return handle;
}
