import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { InputError, UpstreamError, redact } from "../io.ts";
import { refuseAddress } from "./address-policy.ts";

/**
 * Fetching an image from a URL a client gave us (brand assets). The URL is untrusted: it may
 * point at media-node's own network (SSRF), redirect there after a harmless first hop,
 * resolve differently on a second lookup (DNS rebinding), send gigabytes, trickle bytes
 * forever, or serve something that is not an image.
 *
 * Defences, in order:
 * - scheme: https only (http only when the caller allows it; file:, data:, ftp: … never);
 * - every hop (the first request and each redirect, at most 3, followed by hand) resolves its
 *   host with `lookup(host, { all: true })` and refuses if ANY resolved address is not public
 *   unicast (address-policy.ts) — refusing on any bad record stops an attacker from mixing
 *   one public and one private record and hoping the connection picks the private one;
 * - the connection is pinned: the socket is opened to the exact IP that was checked (TLS
 *   still verifies the certificate against the hostname via SNI/servername), so there is no
 *   second DNS lookup for a rebinding attack to win. The residual TOCTOU window is zero at
 *   our layer; what remains is routing (an allowed public IP that the network routes
 *   somewhere internal), which is the firewall's job;
 * - one deadline for the whole fetch, all hops and the body included;
 * - a byte cap enforced on the declared Content-Length and again while streaming, so an
 *   oversized body is abandoned as soon as it crosses the cap, never buffered whole;
 * - the first bytes must carry a PNG, JPEG or WebP signature; anything else is dropped early.
 *   (Decoding and dimension checks happen afterwards, in ingest.ts.)
 */

export type ImageFormat = "png" | "jpeg" | "webp";

export type ResolveAll = (hostname: string, options: { all: true }) => Promise<LookupAddress[]>;

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Skip the public-address check (local development, tests). The scheme check still applies. */
  allowPrivateNetwork?: boolean;
  /** Accept plain http: (local development, tests). */
  allowHttp?: boolean;
  /**
   * Exact addresses exempt from the public-address check, e.g. an internal asset mirror.
   * Narrower than `allowPrivateNetwork`: every other address is still checked.
   */
  allowAddresses?: readonly string[];
  /** DNS resolution; defaults to node:dns `lookup`. Injectable so tests can fake public names. */
  lookup?: ResolveAll;
}

export interface FetchedImage {
  body: Buffer;
  /** Format claimed by the file signature (magic bytes); ingest.ts confirms it by decoding. */
  format: ImageFormat;
  /** URL of the last hop, without its query string. */
  finalUrl: string;
  redirects: number;
}

export const MAX_REDIRECTS = 3;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Format by file signature. Never by extension or Content-Type: both are the sender's claim. */
export function sniffImageFormat(head: Uint8Array): ImageFormat | null {
  const starts = (bytes: number[], at = 0) => bytes.every((b, i) => head[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (starts([0xff, 0xd8, 0xff])) return "jpeg";
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "webp"; // RIFF....WEBP
  return null;
}

const SIGNATURE_BYTES = 12;

function hopName(hop: number): string {
  return hop === 0 ? "source_url" : `source_url redirect ${hop}`;
}

function checkScheme(url: URL, hop: number, allowHttp: boolean): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && allowHttp) return;
  throw new InputError(`${hopName(hop)} must use https (got ${url.protocol})`);
}

/** A DNS lookup cannot be cancelled, but we can stop waiting for it. */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Resolve the host and refuse if any address is not public. Returns the address to pin. */
async function checkedAddress(url: URL, hop: number, options: SafeFetchOptions, signal: AbortSignal): Promise<LookupAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: LookupAddress[];
  const literal = isIP(host);
  if (literal) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await beforeDeadline(options.lookup ? options.lookup(host, { all: true }) : dnsLookup(host, { all: true }), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new InputError(`${hopName(hop)} host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (addresses.length === 0) throw new InputError(`${hopName(hop)} host ${host} does not resolve`);
  }
  if (!options.allowPrivateNetwork) {
    for (const { address } of addresses) {
      if (options.allowAddresses?.includes(address)) continue;
      const refusal = refuseAddress(address);
      if (refusal) {
        const article = /^(?:[aeio]|un(?!i))/.test(refusal) ? "an" : "a"; // "an unspecified", "a unique-local"
        throw new InputError(`${hopName(hop)} resolves to ${article} ${refusal} address (${address})`);
      }
    }
  }
  return addresses[0]!;
}

/** One request, connected to `pinned` rather than to whatever `url.hostname` resolves to now. */
function requestPinned(url: URL, pinned: LookupAddress, signal: AbortSignal): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const isTls = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const request = (isTls ? httpsRequest : httpRequest)(
      {
        protocol: url.protocol,
        host: pinned.address,
        family: pinned.family,
        port: url.port ? Number(url.port) : isTls ? 443 : 80,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: { host: url.host, accept: "image/png, image/jpeg, image/webp", "user-agent": "adreel-media-node" },
        // Certificate checked against the name the client asked for; SNI must not be an IP.
        ...(isTls && !isIP(host) ? { servername: host } : {}),
        agent: false, // no pooled sockets: each hop gets its own checked, pinned connection
        signal,
      },
      resolve,
    );
    request.on("error", reject);
    request.end();
  });
}

function describeFailure(error: unknown, url: URL, timeoutMs: number, signal: AbortSignal): Error {
  if (error instanceof InputError || error instanceof UpstreamError) return error;
  // Whatever the socket reported (AbortError, "aborted", ECONNRESET), the cause was the deadline.
  if (signal.aborted) return new InputError(`source_url did not deliver within ${timeoutMs / 1000} s`);
  return new UpstreamError(`fetching ${redact(url.href)} failed: ${(error as Error).message}`);
}

async function readCapped(response: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; format: ImageFormat }> {
  const declared = response.headers["content-length"];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    response.destroy();
    throw new InputError(`image is ${declared} bytes, over the ${maxBytes} byte limit`);
  }
  const chunks: Buffer[] = [];
  let seen = 0;
  let format: ImageFormat | null = null;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > maxBytes) throw new InputError(`image is over the ${maxBytes} byte limit (stopped reading at ${seen} bytes)`);
      chunks.push(chunk);
      if (format === null && seen >= SIGNATURE_BYTES) {
        format = sniffImageFormat(Buffer.concat(chunks).subarray(0, SIGNATURE_BYTES));
        if (format === null) throw new InputError("not a PNG, JPEG or WebP image");
      }
    }
  } finally {
    // Leaving the loop early (cap, wrong signature, deadline) must close the socket now.
    if (!response.complete) response.destroy();
  }
  const body = Buffer.concat(chunks);
  format ??= sniffImageFormat(body);
  if (format === null) throw new InputError("not a PNG, JPEG or WebP image");
  return { body, format };
}

export async function safeFetchImage(url: string, options: SafeFetchOptions): Promise<FetchedImage> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new InputError("source_url is not a valid URL");
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    checkScheme(current, hop, options.allowHttp ?? false);
    if (current.username || current.password) throw new InputError(`${hopName(hop)} must not carry credentials`);
    let response: IncomingMessage;
    try {
      const pinned = await checkedAddress(current, hop, options, signal);
      signal.throwIfAborted();
      response = await requestPinned(current, pinned, signal);
    } catch (error) {
      throw describeFailure(error, current, options.timeoutMs, signal);
    }
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw new InputError(`${hopName(hop)} answered ${status} without a Location`);
      if (hop === MAX_REDIRECTS) throw new InputError(`source_url redirected more than ${MAX_REDIRECTS} times`);
      try {
        current = new URL(location, current);
      } catch {
        throw new InputError(`${hopName(hop)} redirected to an invalid URL`);
      }
      continue;
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      throw new InputError(`${hopName(hop)} answered ${status}`);
    }
    try {
      const { body, format } = await readCapped(response, options.maxBytes);
      return { body, format, finalUrl: redact(current.href), redirects: hop };
    } catch (error) {
      throw describeFailure(error, current, options.timeoutMs, signal);
    }
  }
  throw new InputError(`source_url redirected more than ${MAX_REDIRECTS} times`);
}
