import { AwsV4Signer } from "aws4fetch";
import { encodeKey } from "./signed-url.ts";

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
  const url = new URL(`${r2Endpoint(credentials)}/${encodeKey(credentials.bucket)}/${encodeKey(key)}`);
  url.searchParams.set("X-Amz-Expires", String(ttlSeconds));
  return presignUrl(url, access === "get" ? "GET" : "PUT", credentials, options);
}

/** SigV4 query signing of `url` as it stands (its path already percent-encoded once). */
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
    // S3 signs the path exactly as sent: encoded once, never twice.
    singleEncode: true,
  });
  return (await signer.sign()).url.toString();
}
