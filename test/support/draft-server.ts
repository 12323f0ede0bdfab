import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { type Prediction, TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { newWebhookSecret } from "../../contracts/signing.ts";
import type { DraftOptions } from "../../draft/options.ts";
import { buildDraftServer } from "../../draft/server.ts";

/** A real draft model server on 127.0.0.1:<ephemeral>, and a webhook receiver, for tests. */

export const TEST_TOKEN = "r8_draft_test_token";

export interface ApiAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface DraftTestServer {
  base: string;
  webhookSecret: string;
  api<T = Prediction>(path: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<ApiAnswer<T>>;
  /** Poll GET /v1/predictions/{id} until terminal (bounded). */
  settle(id: string, timeoutMs?: number): Promise<Prediction>;
  close(): Promise<void>;
}

export async function startDraftServer(options: Partial<DraftOptions> & { outputDir?: string; emulate?: "replicate" } = {}): Promise<DraftTestServer> {
  const webhookSecret = newWebhookSecret();
  const app = await buildDraftServer({ token: TEST_TOKEN, webhookSecret, publicUrl: "", ...options });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const api: DraftTestServer["api"] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    const token = init.token === undefined ? TEST_TOKEN : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path.startsWith("http") ? path : `${base}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(70_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: body as never };
  };

  const settle = async (id: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api(`/v1/predictions/${id}`);
      if (TERMINAL_STATUSES.includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`prediction ${id} still ${body.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  return { base, webhookSecret, api, settle, close: () => app.close() };
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  /** Deliveries answered 2xx. */
  received: ReceivedWebhook[];
  /** Every request, with the status it was answered. */
  attempts: (ReceivedWebhook & { status: number })[];
  /** Resolves once `count` deliveries arrived (bounded). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** `answer(n)` picks the HTTP status for the n-th delivery (0-based); 200 by default. */
export async function startWebhookReceiver(answer: (n: number) => number = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const attempts: WebhookReceiver["attempts"] = [];
  let seen = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const status = answer(seen++);
      const message = { headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      attempts.push({ ...message, status });
      if (status >= 200 && status < 300) received.push(message);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/replicate?token=abc`;
  return {
    url,
    received,
    attempts,
    async waitFor(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${received.length} of ${count} webhooks arrived`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A small PNG as a data: URI (fetch and the input schemas accept those, like Replicate). */
export async function pngDataUri(width: number, height: number, rgb: [number, number, number]): Promise<string> {
  const { default: sharp } = await import("sharp");
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}
