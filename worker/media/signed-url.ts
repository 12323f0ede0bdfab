import { constantTimeEqual } from "../../contracts/signing.ts";

/**
 * Signed, expiring URLs for R2 objects, served by the Worker's `/media/*` route. The same
 * mechanism hands downloads to clients and gives media-node and providers scoped read or
 * write access, so no R2 credentials ever leave the Worker.
 */

export type MediaAccess = "get" | "put";

const encoder = new TextEncoder();

async function signature(secret: string, key: string, access: MediaAccess, expires: number): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(`${access}\n${key}\n${expires}`)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export async function signMediaUrl(baseUrl: string, secret: string, key: string, access: MediaAccess, ttlSeconds: number, now = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const sig = await signature(secret, key, access, expires);
  return `${baseUrl}/media/${encodeKey(key)}?access=${access}&expires=${expires}&sig=${sig}`;
}

export type MediaUrlVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export async function verifyMediaUrl(secret: string, key: string, access: MediaAccess, query: URLSearchParams, now = Date.now()): Promise<MediaUrlVerdict> {
  const expires = Number(query.get("expires"));
  const sig = query.get("sig");
  if (!sig || !Number.isInteger(expires) || query.get("access") !== access) return { ok: false, status: 401, reason: "missing or malformed media signature" };
  if (expires < Math.floor(now / 1000)) return { ok: false, status: 403, reason: "media URL has expired" };
  if (!constantTimeEqual(sig, await signature(secret, key, access, expires))) return { ok: false, status: 403, reason: "invalid media signature" };
  return { ok: true };
}
