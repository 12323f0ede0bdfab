import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Prediction } from "../../contracts/prediction.ts";

/**
 * Test support (not a test file): a pass-through on 127.0.0.1 between the Worker and its model
 * provider (the draft server) that records every prediction create as it happened — when it
 * arrived, what the provider answered (a 429's Retry-After included) and when that answer went
 * back — and every read of one prediction (its status, and whether the body was a well-formed
 * prediction), so a test can hold the Worker to the provider's word and see a fault struck. Everything is forwarded
 * unchanged; nothing is answered here.
 */

export interface RecordedCreate {
  /** The prediction's webhook URL: it names the video, the job and the attempt. */
  webhook: string | null;
  receivedAt: number;
  /** When the provider's answer was sent back to the Worker. */
  answeredAt: number;
  status: number;
  /** A 429's Retry-After, in seconds. */
  retryAfter: number | null;
}

/** One `GET /v1/predictions/{id}` as the provider answered it. */
export interface RecordedRead {
  id: string;
  status: number;
  /** A 2xx whose body is not a valid prediction object. */
  malformed: boolean;
}

export interface ProviderRecorder {
  url: string;
  creates: RecordedCreate[];
  reads: RecordedRead[];
  close(): Promise<void>;
}

const CREATE = /^\/v1\/(predictions|models\/[^/]+\/[^/]+\/predictions)$/;
const READ = /^\/v1\/predictions\/([^/]+)$/;
/** Hop-by-hop headers, and those fetch has already acted on (the body arrives decoded, with its own length). */
const NOT_FORWARDED = new Set(["host", "connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"]);

function bodyOf(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export async function startProviderRecorder(upstream: string): Promise<ProviderRecorder> {
  const creates: RecordedCreate[] = [];
  const reads: RecordedRead[] = [];
  const server = createServer(async (request, response) => {
    const receivedAt = Date.now();
    const path = (request.url ?? "/").split("?")[0]!;
    const isCreate = request.method === "POST" && CREATE.test(path);
    try {
      const body = await bodyOf(request);
      const headers = Object.entries(request.headers).filter(([name]) => !NOT_FORWARDED.has(name)) as [string, string][];
      const answer = await fetch(`${upstream}${request.url}`, { method: request.method, headers, body: body.length ? new Uint8Array(body) : undefined, signal: AbortSignal.timeout(70_000) });
      const answerBody = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => !NOT_FORWARDED.has(name))));
      if (isCreate) {
        let webhook: string | null = null;
        try {
          webhook = (JSON.parse(body.toString("utf8")) as { webhook?: string }).webhook ?? null;
        } catch {
          // Not JSON: the provider refused it; recorded without a webhook.
        }
        const retryAfter = answer.headers.get("retry-after");
        creates.push({ webhook, receivedAt, answeredAt: Date.now(), status: answer.status, retryAfter: retryAfter === null ? null : Number(retryAfter) });
      }
      const read = request.method === "GET" ? READ.exec(path) : null;
      if (read) {
        let malformed = false;
        if (answer.ok) {
          try {
            malformed = !Prediction.safeParse(JSON.parse(answerBody.toString("utf8"))).success;
          } catch {
            malformed = true;
          }
        }
        reads.push({ id: decodeURIComponent(read[1]!), status: answer.status, malformed });
      }
      response.end(answerBody);
    } catch (error) {
      // The provider could not be reached: the Worker sees what it would see without the recorder.
      response.destroy(error as Error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    creates,
    reads,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
