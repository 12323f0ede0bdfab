import type { AppContext } from "../app.ts";
import { contentTypeOf } from "./keys.ts";
import { verifyMediaUrl } from "./signed-url.ts";

/** GET/PUT /media/<key> with a signed, expiring query. Range requests make videos seekable in browsers. */

const MAX_UPLOAD = 1024 * 1024 * 1024;

function keyOf(c: AppContext): string | null {
  const path = new URL(c.req.url).pathname.slice("/media/".length);
  let key: string;
  try {
    key = path.split("/").map(decodeURIComponent).join("/");
  } catch {
    return null;
  }
  return key && !key.split("/").some((part) => part === "" || part === "." || part === "..") ? key : null;
}

function parseRange(header: string | undefined, size: number): { offset: number; length: number } | null | "invalid" {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return "invalid";
  if (match[1] === "") {
    const suffix = Math.min(Number(match[2]), size);
    return { offset: size - suffix, length: suffix };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { offset: start, length: end - start + 1 };
}

export async function getMedia(c: AppContext): Promise<Response> {
  const key = keyOf(c);
  if (!key) return c.json({ error: "bad media path" }, 400);
  const verdict = await verifyMediaUrl(c.get("config").mediaSigningSecret, key, "get", new URL(c.req.url).searchParams);
  if (!verdict.ok) return c.json({ error: verdict.reason }, verdict.status);
  const head = await c.env.MEDIA.head(key);
  if (!head) return c.json({ error: "media not found" }, 404);
  const range = parseRange(c.req.header("range"), head.size);
  if (range === "invalid") return new Response(null, { status: 416, headers: { "content-range": `bytes */${head.size}` } });
  const object = await c.env.MEDIA.get(key, range ? { range } : undefined);
  if (!object) return c.json({ error: "media not found" }, 404);
  const headers = new Headers({
    "content-type": head.httpMetadata?.contentType ?? contentTypeOf(key),
    "accept-ranges": "bytes",
    "cache-control": "private, max-age=3600",
    etag: head.httpEtag,
  });
  if (range) {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    headers.set("content-length", String(range.length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(head.size));
  return new Response(object.body, { status: 200, headers });
}

export async function putMedia(c: AppContext): Promise<Response> {
  const key = keyOf(c);
  if (!key) return c.json({ error: "bad media path" }, 400);
  const verdict = await verifyMediaUrl(c.get("config").mediaSigningSecret, key, "put", new URL(c.req.url).searchParams);
  if (!verdict.ok) return c.json({ error: verdict.reason }, verdict.status);
  const length = Number(c.req.header("content-length") ?? "NaN");
  if (!Number.isInteger(length) || length <= 0) return c.json({ error: "content-length is required" }, 411);
  if (length > MAX_UPLOAD) return c.json({ error: "upload too large" }, 413);
  const body = c.req.raw.body;
  if (!body) return c.json({ error: "empty body" }, 400);
  const stream = new FixedLengthStream(length);
  const [object] = await Promise.all([c.env.MEDIA.put(key, stream.readable, { httpMetadata: { contentType: contentTypeOf(key) } }), body.pipeTo(stream.writable)]);
  return c.json({ key, size: object?.size ?? length }, 201);
}
