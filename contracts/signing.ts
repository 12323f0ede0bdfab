/**
 * Signatures shared by the Worker and media-node. WebCrypto only, so the same code runs in
 * workerd and in Node 22.
 *
 * - Webhooks: Standard Webhooks, exactly as Replicate signs them: `webhook-id`,
 *   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`
 *   where key = base64-decoded part of a `whsec_` secret.
 * - media-node requests: HMAC-SHA256 over `timestamp.METHOD.path.sha256(body)` with a shared secret.
 */

const encoder = new TextEncoder();

function base64ToBytes(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Lowercase hex, a table lookup per byte: every media-node request and presigned URL is signed with it. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

export async function hmac(key: Uint8Array<ArrayBuffer>, message: string): Promise<Uint8Array<ArrayBuffer>> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

/** Compare without leaking where the first difference is. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

export async function sha256Hex(body: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const data = typeof body === "string" ? encoder.encode(body) : body;
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

function webhookKey(secret: string): Uint8Array<ArrayBuffer> {
  const raw = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  return base64ToBytes(raw);
}

/** A fresh `whsec_` secret (32 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<WebhookHeaders> {
  const signature = bytesToBase64(await hmac(webhookKey(secret), `${id}.${timestampSeconds}.${body}`));
  return { "webhook-id": id, "webhook-timestamp": String(timestampSeconds), "webhook-signature": `v1,${signature}` };
}

export type WebhookVerdict = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

/** Tolerance for webhook timestamps, both ways (Standard Webhooks recommends 5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export async function verifyWebhook(
  secret: string,
  headers: { get(name: string): string | null },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<WebhookVerdict> {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signatures = headers.get("webhook-signature");
  if (!id || !timestamp || !signatures) return { ok: false, reason: "missing webhook-id, webhook-timestamp or webhook-signature" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed webhook-timestamp" };
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: "webhook-timestamp outside the 5 minute tolerance" };
  let expected: string;
  try {
    expected = bytesToBase64(await hmac(webhookKey(secret), `${id}.${timestamp}.${body}`));
  } catch {
    return { ok: false, reason: "webhook secret is not valid base64" };
  }
  // Several space-separated signatures may be sent during secret rotation; any valid v1 passes.
  for (const candidate of signatures.split(" ")) {
    const [version, value] = candidate.split(",", 2);
    if (version === "v1" && value && constantTimeEqual(value, expected)) return { ok: true, id, timestamp: ts };
  }
  return { ok: false, reason: "no matching v1 signature" };
}

export const MEDIA_SIGNATURE_HEADER = "x-adreel-signature";
export const MEDIA_TIMESTAMP_HEADER = "x-adreel-timestamp";

async function requestSignature(secret: string, timestamp: string, method: string, path: string, body: string): Promise<string> {
  return bytesToHex(await hmac(encoder.encode(secret) as Uint8Array<ArrayBuffer>, `${timestamp}.${method.toUpperCase()}.${path}.${await sha256Hex(body)}`));
}

/** Headers that authenticate one request to media-node. `path` includes the query string. */
export async function signRequest(secret: string, method: string, path: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<Record<string, string>> {
  const timestamp = String(nowSeconds);
  return { [MEDIA_TIMESTAMP_HEADER]: timestamp, [MEDIA_SIGNATURE_HEADER]: await requestSignature(secret, timestamp, method, path, body) };
}

export async function verifyRequest(
  secret: string,
  method: string,
  path: string,
  body: string,
  headers: { get(name: string): string | null },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const timestamp = headers.get(MEDIA_TIMESTAMP_HEADER);
  const signature = headers.get(MEDIA_SIGNATURE_HEADER);
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > WEBHOOK_TOLERANCE_SECONDS) return false;
  return constantTimeEqual(signature, await requestSignature(secret, timestamp, method, path, body));
}
