import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { mediaUrl } from "../media/media-urls.ts";

/** Uploads through the signed /media route: stored whole, byte for byte, or not at all. */

/** Large enough to arrive in many pieces. */
const LARGE = 800 * 1024;

const config = loadConfig(env);

async function signed(key: string, access: "get" | "put"): Promise<string> {
  const url = new URL(await mediaUrl(config, "service", key, access));
  return `http://adreel.test${url.pathname}${url.search}`;
}

/** Bytes in which a piece stored twice, dropped or out of order shows. */
function bytesOf(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 2654435761) >>> 24;
  return bytes;
}

/** A request body that arrives in pieces of `piece` bytes, as a socket would hand them over. */
function streamed(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

describe("PUT /media", () => {
  for (const [name, length, piece] of [
    ["in one piece", 1000, 1000],
    ["in many pieces of odd sizes", LARGE + 12_345, 100_003],
  ] as const) {
    it(`stores an upload ${name} byte for byte`, async () => {
      const key = `videos/media-test/${length}.mp4`;
      const bytes = bytesOf(length);
      const put = await exports.default.fetch(
        new Request(await signed(key, "put"), { method: "PUT", body: streamed(bytes, piece), headers: { "content-length": String(length) }, duplex: "half" } as RequestInit),
      );
      expect(put.status).toBe(201);
      expect(await put.json()).toEqual({ key, size: length });
      const got = await exports.default.fetch(new Request(await signed(key, "get")));
      expect(got.status).toBe(200);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    });
  }

  it("stores nothing of an upload longer than its Content-Length", async () => {
    const key = "videos/media-test/long.mp4";
    const bytes = bytesOf(LARGE);
    const put = await exports.default.fetch(new Request(await signed(key, "put"), { method: "PUT", body: streamed(bytes, 65_536), headers: { "content-length": String(bytes.length - 1) }, duplex: "half" } as RequestInit));
    expect(put.status).toBe(400);
    expect(await put.json()).toMatchObject({ field: "body" });
    expect(await env.MEDIA.head(key)).toBeNull();
  });

  it("stores nothing of an upload shorter than its Content-Length", async () => {
    const key = "videos/media-test/short.mp4";
    const bytes = bytesOf(LARGE);
    const put = await exports.default.fetch(new Request(await signed(key, "put"), { method: "PUT", body: streamed(bytes, 65_536), headers: { "content-length": String(bytes.length + 1) }, duplex: "half" } as RequestInit));
    expect(put.status).toBe(400);
    expect(await put.json()).toMatchObject({ field: "body" });
    expect(await env.MEDIA.head(key)).toBeNull();
  });
});
