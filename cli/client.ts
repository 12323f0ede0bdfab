import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type GenerateRequestInput, isEndStatus, type RenderDryRunResponse, type RenderRequest, type RenderResponse, type StatusResponse, type VideoResponse } from "../contracts/api.ts";
import type { LiveMessage } from "../contracts/live.ts";

/** A small client for adreel's HTTP and WebSocket API, shared by the CLI, the demo and the tests. */

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(
    status: number,
    body: unknown,
  ) {
    super(`adreel answered ${status}: ${typeof body === "object" && body && "error" in body ? String((body as { error: unknown }).error) : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** How long a GET answered 503 is retried before the 503 is the answer. */
const READ_RETRY_MS = 60_000;

export class AdreelClient {
  readonly baseUrl: string;
  readonly apiKey: string;
  constructor(
    baseUrl: string,
    apiKey: string,
  ) {
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const send = () =>
      fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    let response = await send();
    // A read refused as unavailable (503, e.g. the database during an outage) is asked again as told, for up to a minute.
    for (const giveUpAt = Date.now() + READ_RETRY_MS; method === "GET" && response.status === 503 && Date.now() < giveUpAt; response = await send()) {
      await response.body?.cancel();
      await new Promise((r) => setTimeout(r, 1000 * Math.min(10, Math.max(1, Number(response.headers.get("retry-after")) || 1))));
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Leave as text.
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed as T;
  }

  generate(request: GenerateRequestInput, idempotencyKey?: string) {
    return this.request<{ video_id: string; status: "queued"; message: string }>("POST", "/api/generate", request, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
  }
  status(id: string) {
    return this.request<StatusResponse>("GET", `/api/status/${id}`);
  }
  video(id: string) {
    return this.request<VideoResponse>("GET", `/api/video/${id}`);
  }
  list(query: { status?: string; limit?: number; cursor?: string } = {}) {
    const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.request<{ videos: Record<string, unknown>[]; next_cursor: string | null }>("GET", `/api/videos?${search}`);
  }
  /** A complete draft rendered for real (`dry_run: true`: its estimate only); a retry with the same key is paid once. */
  render<B extends Partial<RenderRequest> & Pick<RenderRequest, "quality">>(id: string, body: B, idempotencyKey?: string) {
    return this.request<B extends { dry_run: true } ? RenderDryRunResponse : RenderResponse>("POST", `/api/video/${id}/render`, body, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
  }
  cancel(id: string) {
    return this.request<{ cancelled: boolean }>("POST", `/api/video/${id}/cancel`);
  }

  /**
   * Follow a video live over its WebSocket until it ends. Reconnects (resuming from the last
   * event id) if the socket drops; falls back to polling status if the socket cannot open.
   */
  async watch(id: string, onEvent: (message: LiveMessage) => void, timeoutMs = 30 * 60_000): Promise<StatusResponse> {
    const deadline = Date.now() + timeoutMs;
    // The last event seen (a snapshot counts as everything up to its id); null until connected once.
    let lastId: number | null = null;
    let failures = 0;
    while (Date.now() < deadline) {
      const ended = await new Promise<boolean>((resolveWatch) => {
        // On a reconnect, `since` replays what was missed; the first connection needs only the snapshot.
        const since = lastId === null ? "" : `since=${lastId}&`;
        const wsUrl = `${this.baseUrl.replace(/^http/, "ws")}/api/video/${id}/live?${since}access_token=${encodeURIComponent(this.apiKey)}`;
        let settled = false;
        const finish = (value: boolean) => {
          if (settled) return;
          settled = true;
          clearInterval(keepalive);
          try {
            socket.close();
          } catch {
            // Already closed.
          }
          resolveWatch(value);
        };
        const socket = new WebSocket(wsUrl);
        const keepalive = setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) socket.send("ping");
        }, 20_000);
        socket.onmessage = (message) => {
          if (typeof message.data !== "string" || message.data === "pong") return;
          // Typed, not parsed: the run checks each event against LiveMessage as it emits it, and a
          // strict parse here would drop a newer server's frame (even its `complete`) over one new field.
          const frame = JSON.parse(message.data) as LiveMessage;
          lastId = Math.max(lastId ?? 0, frame.id);
          failures = 0;
          onEvent(frame);
          const status = frame.type === "snapshot" ? frame.snapshot?.status : frame.type;
          if (isEndStatus(status)) finish(true);
        };
        socket.onerror = () => finish(false);
        socket.onclose = () => finish(false);
      });
      if (ended) return this.status(id);
      failures++;
      const status = await this.status(id).catch(() => null);
      if (status && isEndStatus(status.status)) return status;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** failures)));
    }
    throw new Error(`video ${id} did not finish within ${Math.round(timeoutMs / 1000)} s`);
  }

  async download(url: string, path: string): Promise<void> {
    const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!response.ok || !response.body) throw new ApiError(response.status, await response.text());
    await pipeline(Readable.fromWeb(response.body as never), createWriteStream(path));
  }
}
