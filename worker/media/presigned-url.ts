import { bytesToHex, hmac, sha256Hex } from "../../contracts/signing.ts";

/**
 * Presigned R2 URLs: S3 Signature Version 4 in the query string (AWS S3 API reference,
 * "Authenticating Requests: Using Query Parameters"), signed over WebCrypto.
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
  return key.split("/").map(uriEncode).join("/");
}

/** SigV4 query signing of `url` as it stands (its path percent-encoded once, as `uriEncodePath` does). */
export async function presignUrl(url: URL, method: "GET" | "PUT", credentials: Pick<R2Credentials, "accessKeyId" | "secretAccessKey">, options: PresignOptions = {}): Promise<string> {
  const datetime = amzDate(options.now ?? Date.now());
  const date = datetime.slice(0, 8);
  const region = options.region ?? "auto";
  const scope = `${date}/${region}/s3/aws4_request`;
  const signed = new URL(url);
  const query = signed.searchParams;
  query.set("X-Amz-Algorithm", ALGORITHM);
  query.set("X-Amz-Credential", `${credentials.accessKeyId}/${scope}`);
  query.set("X-Amz-Date", datetime);
  query.set("X-Amz-SignedHeaders", "host");
  query.delete("X-Amz-Signature");
  // AWS "Create a canonical request": the path as sent, each segment encoded once (S3 encodes
  // once; decoded and encoded again, as the service does with what it receives); the query's
  // names and values encoded, sorted by name; the host the only header signed; the payload
  // unsigned, as a presigned URL's always is.
  const canonicalPath = signed.pathname
    .split("/")
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join("/");
  const canonicalQuery = [...query]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const canonicalRequest = `${method}\n${canonicalPath}\n${canonicalQuery}\nhost:${signed.host}\n\nhost\nUNSIGNED-PAYLOAD`;
  const stringToSign = `${ALGORITHM}\n${datetime}\n${scope}\n${await sha256Hex(canonicalRequest)}`;
  const key = await signingKey(credentials.secretAccessKey, date, region);
  query.set("X-Amz-Signature", bytesToHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, UTF8.encode(stringToSign)))));
  return signed.toString();
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const UTF8 = new TextEncoder();

/** Every byte but A-Z, a-z, 0-9, `-._~` as %XX (AWS "Create a canonical request": URI-encode). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * SigV4's signing key (AWS "Calculate the signature": HMAC chains of the secret, the day, the
 * region and the service), kept between URLs as a WebCrypto key: a step presigns several URLs
 * (its inputs, the references, its output), all with the same key, and presigning was among the
 * longest uninterrupted stretches of the Worker's thread under load, where aws4fetch, which
 * signed them until then, built it again per URL (a signer signs one URL). A new day's key joins
 * the old ones; the map is emptied past a few.
 */
const signingKeys = new Map<string, Promise<CryptoKey>>();
const SIGNING_KEYS_KEPT = 16;

function signingKey(secret: string, date: string, region: string): Promise<CryptoKey> {
  const name = `${secret}\u0000${date}\u0000${region}`;
  let key = signingKeys.get(name);
  if (!key) {
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.clear();
    key = (async () => {
      let chain = UTF8.encode(`AWS4${secret}`) as Uint8Array<ArrayBuffer>;
      for (const part of [date, region, "s3", "aws4_request"]) chain = await hmac(chain, part);
      return crypto.subtle.importKey("raw", chain, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    // A failed derivation is not kept: the next URL tries again.
    key.catch(() => signingKeys.delete(name));
    signingKeys.set(name, key);
  }
  return key;
}
