import { AwsV4Signer } from "aws4fetch";

/**
 * Presigned R2 URLs: S3 Signature Version 4 in the query string (AWS S3 API reference,
 * "Authenticating Requests: Using Query Parameters"), signed with aws4fetch over WebCrypto.
 * R2 serves the S3 API at `https://<account id>.r2.cloudflarestorage.com`, path-style
 * (`/<bucket>/<key>`), with the region `auto`, and accepts expiries from 1 s to 7 days
 * (Cloudflare R2 docs "Presigned URLs", read 2026-12-04). A URL names one key and one method
 * (GET or PUT) and signs only the host header, so media-node and Replicate use it with a plain
 * HTTP request and no credentials of their own.
 */

export interface R2Credentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Another S3-compatible endpoint (tests use a local one); default R2's for `accountId`. */
  endpoint?: string;
}

/** 7 days: the longest expiry S3 and R2 accept. */
export const MAX_PRESIGNED_TTL_SECONDS = 7 * 24 * 3600;

export function r2Endpoint(credentials: R2Credentials): string {
  return (credentials.endpoint ?? `https://${credentials.accountId}.r2.cloudflarestorage.com`).replace(/\/$/, "");
}

/** `YYYYMMDDTHHMMSSZ`, the SigV4 timestamp. */
function amzDate(now: number): string {
  return new Date(now).toISOString().replace(/[:-]|\.\d{3}/g, "");
}

export interface PresignOptions {
  /** `auto` for R2; AWS regions for S3 itself. */
  region?: string;
  now?: number;
}

/** A URL allowing exactly `method` on `key` in the bucket for `ttlSeconds`. */
export async function presignR2Url(credentials: R2Credentials, key: string, access: "get" | "put", ttlSeconds: number, options: PresignOptions = {}): Promise<string> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGNED_TTL_SECONDS) {
    throw new RangeError(`presigned URL lifetime must be 1..${MAX_PRESIGNED_TTL_SECONDS} s, not ${ttlSeconds}`);
  }
  const url = new URL(`${r2Endpoint(credentials)}/${uriEncodePath(credentials.bucket)}/${uriEncodePath(key)}`);
  url.searchParams.set("X-Amz-Expires", String(ttlSeconds));
  return presignUrl(url, access === "get" ? "GET" : "PUT", credentials, options);
}

/**
 * A key as a path, each segment encoded as SigV4's canonical request encodes it (AWS "Create a
 * canonical request": every byte but A-Z, a-z, 0-9, `-._~` as %XX; S3 encodes once). Sent this
 * way, the path a server reads is the canonical path whether it re-encodes the decoded key, as S3
 * does, or signs the path as received; `encodeURIComponent` alone leaves `!'()*` bare.
 */
function uriEncodePath(key: string): string {
  return key
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join("/");
}

/**
 * SigV4's signing keys (HMAC chains of the secret, the day, the region and the service), kept
 * between URLs: aws4fetch caches one per signer, and a signer signs one URL, so every URL paid
 * four more HMACs (each a key import and a sign) for the same key. A step presigns several URLs
 * (its inputs, the references, its output), and they were among the longest uninterrupted
 * stretches of the Worker's thread under load. Keyed as aws4fetch keys it (secret, day, region,
 * service); a new day's key joins the old ones, and the map is emptied when it grows past a few.
 */
const signingKeys = new Map<string, ArrayBuffer>();
const SIGNING_KEYS_KEPT = 16;

/** SigV4 query signing of `url` as it stands (its path percent-encoded once, as `uriEncodePath` does). */
export async function presignUrl(url: URL, method: "GET" | "PUT", credentials: Pick<R2Credentials, "accessKeyId" | "secretAccessKey">, options: PresignOptions = {}): Promise<string> {
  const signer = new AwsV4Signer({
    url: url.toString(),
    method,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    service: "s3",
    region: options.region ?? "auto",
    signQuery: true,
    datetime: amzDate(options.now ?? Date.now()),
    cache: signingKeys,
    // For the service s3, aws4fetch decodes the path and encodes it once again: the canonical
    // path is the one sent. (`singleEncode` would skip that encoding and sign the decoded key:
    // a key with a space or a non-ASCII letter got a signature R2 refuses.)
  });
  if (signingKeys.size > SIGNING_KEYS_KEPT) signingKeys.clear();
  return (await signer.sign()).url.toString();
}
