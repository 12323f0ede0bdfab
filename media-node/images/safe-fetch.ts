import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { INGEST_IMAGE_FIELD } from "../../contracts/media.ts";
import { InputError, redact } from "../io.ts";
import { type AddressRefusal, refuseAddress } from "./address-policy.ts";
import { inAllowedPlace } from "./allowed-places.ts";

/**
 * Fetching an image from a URL a client gave us (brand assets). The URL is untrusted: it may
 * point at media-node's own network (SSRF), redirect there after a harmless first hop,
 * resolve differently on a second lookup (DNS rebinding), send gigabytes, trickle bytes
 * forever, or serve something that is not an image.
 *
 * Defences, in order:
 * - scheme: https only (file:, data:, ftp:, plain http … never), except for the origins the
 *   deployment serves itself (`allowedOrigins`, below);
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

/** The request field every hop's refusal names (MediaError `field`); what the hops delivered is INGEST_IMAGE_FIELD. */
const SOURCE_FIELD = "source_url";

/**
 * The source could not be read at all (it did not resolve, refused or dropped the connection,
 * answered other than 2xx, or missed the deadline), as opposed to being refused by the policy
 * or for what it sent. For a client's URL it is the client's to fix (a 422, as any InputError);
 * for a copy the Worker staged in our own storage it is our storage failing (routes.ts).
 */
export class SourceUnreachable extends InputError {
  constructor(message: string) {
    super(message, SOURCE_FIELD);
    this.name = "SourceUnreachable";
  }
}

export type ImageFormat = "png" | "jpeg" | "webp";

export type ResolveAll = (hostname: string, options: { all: true }) => Promise<LookupAddress[]>;

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /**
   * Places the deployment serves itself: an origin (`scheme://host[:port]`, compared as
   * `URL.origin` spells them) or an origin and a folder (`scheme://host[:port]/path/`: the
   * URL's normalized path must start with it). E.g. the local stack's R2 S3 API, whose
   * presigned URLs carry uploads on plain http from 127.0.0.1 (only its S3 folder: the same
   * port serves every object unsigned under another), and the Worker's signed `/media` URLs.
   * A hop to one of these is fetched without the scheme and address checks; any other hop — a
   * redirect away from them included — gets the full policy. There is no broader switch: a
   * relaxed policy that let every private address through is exactly what an attacker needs.
   */
  allowedOrigins?: readonly string[];
  /** DNS resolution; defaults to node:dns `lookup`. Injectable so tests can fake public names. */
  lookup?: ResolveAll;
}

/**
 * The allowlist from its configured form: origins, or origins with a folder, separated by commas
 * or spaces. Anything else (a path not ending in `/`, which would also allow its siblings — `/media`
 * `/media-public` —, a query, credentials, another scheme) is refused, so a typo cannot widen it.
 */
export function parseAllowedOrigins(text: string | undefined): string[] {
  const entries = (text ?? "").split(/[\s,]+/).filter(Boolean);
  return entries.map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`allowed origin ${JSON.stringify(entry)} is not a URL`);
    }
    const bare = url.pathname.endsWith("/") && !url.search && !url.hash && !url.username && !url.password;
    if (!["http:", "https:"].includes(url.protocol) || !bare) throw new Error(`allowed origin ${JSON.stringify(entry)} must be scheme://host[:port] or scheme://host[:port]/folder/ (http or https), nothing more`);
    return url.pathname === "/" ? url.origin : `${url.origin}${url.pathname}`;
  });
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
  return hop === 0 ? SOURCE_FIELD : `${SOURCE_FIELD} redirect ${hop}`;
}

function checkScheme(url: URL, hop: number): void {
  if (url.protocol === "https:") return;
  throw new InputError(`${hopName(hop)} must use https (got ${url.protocol})`, SOURCE_FIELD);
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

/**
 * The first address of a name's records that media-node must not connect to. Every record is
 * judged, not just the one a connection would use: an attacker who mixes one public and one
 * private record must not get to hope for the private one.
 */
export function firstRefusal(addresses: readonly Pick<LookupAddress, "address">[]): { address: string; refusal: AddressRefusal } | null {
  for (const { address } of addresses) {
    const refusal = refuseAddress(address);
    if (refusal) return { address, refusal };
  }
  return null;
}

/** Resolve the host and refuse if any address is not public (unless `trusted`). Returns the address to pin. */
async function checkedAddress(url: URL, hop: number, options: SafeFetchOptions, trusted: boolean, signal: AbortSignal): Promise<LookupAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: LookupAddress[];
  const literal = isIP(host);
  if (literal) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await beforeDeadline(options.lookup ? options.lookup(host, { all: true }) : dnsLookup(host, { all: true }), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new SourceUnreachable(`${hopName(hop)} host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (addresses.length === 0) throw new SourceUnreachable(`${hopName(hop)} host ${host} does not resolve`);
  }
  const refused = trusted ? null : firstRefusal(addresses);
  if (refused) {
    const article = /^(?:[aeio]|un(?!i))/.test(refused.refusal) ? "an" : "a"; // "an unspecified", "a unique-local"
    throw new InputError(`${hopName(hop)} resolves to ${article} ${refused.refusal} address (${refused.address})`, SOURCE_FIELD);
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

/**
 * Every failure to get the image is about the URL given (its host refused the connection, its
 * certificate is wrong, it hung up): SourceUnreachable with the reason, a 422 for a client's
 * URL, never a 5xx that would blame media-node and invite a retry that cannot help.
 */
function describeFailure(error: unknown, hop: number, timeoutMs: number, signal: AbortSignal): Error {
  if (error instanceof InputError) return error;
  // Whatever the socket reported (AbortError, "aborted", ECONNRESET), the cause was the deadline.
  if (signal.aborted) return new SourceUnreachable(`source_url did not deliver within ${timeoutMs / 1000} s`);
  const { code, message } = error as NodeJS.ErrnoException;
  return new SourceUnreachable(`${hopName(hop)} could not be fetched (${code ?? message})`);
}

async function readCapped(response: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; format: ImageFormat }> {
  const declared = response.headers["content-length"];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    response.destroy();
    throw new InputError(`image is ${declared} bytes, over the ${maxBytes} byte limit`, INGEST_IMAGE_FIELD);
  }
  const chunks: Buffer[] = [];
  let seen = 0;
  let format: ImageFormat | null = null;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > maxBytes) throw new InputError(`image is over the ${maxBytes} byte limit (stopped reading at ${seen} bytes)`, INGEST_IMAGE_FIELD);
      chunks.push(chunk);
      if (format === null && seen >= SIGNATURE_BYTES) {
        format = sniffImageFormat(Buffer.concat(chunks).subarray(0, SIGNATURE_BYTES));
        if (format === null) throw new InputError("not a PNG, JPEG or WebP image", INGEST_IMAGE_FIELD);
      }
    }
  } finally {
    // Leaving the loop early (cap, wrong signature, deadline) must close the socket now.
    if (!response.complete) response.destroy();
  }
  const body = Buffer.concat(chunks);
  format ??= sniffImageFormat(body);
  if (format === null) throw new InputError("not a PNG, JPEG or WebP image", INGEST_IMAGE_FIELD);
  return { body, format };
}

export async function safeFetchImage(url: string, options: SafeFetchOptions): Promise<FetchedImage> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new InputError("source_url is not a valid URL", SOURCE_FIELD);
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const trusted = inAllowedPlace(current, options.allowedOrigins ?? []);
    if (!trusted) checkScheme(current, hop);
    if (current.username || current.password) throw new InputError(`${hopName(hop)} must not carry credentials`, SOURCE_FIELD);
    let response: IncomingMessage;
    try {
      const pinned = await checkedAddress(current, hop, options, trusted, signal);
      signal.throwIfAborted();
      response = await requestPinned(current, pinned, signal);
    } catch (error) {
      throw describeFailure(error, hop, options.timeoutMs, signal);
    }
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw new InputError(`${hopName(hop)} answered ${status} without a Location`, SOURCE_FIELD);
      if (hop === MAX_REDIRECTS) throw new InputError(`source_url redirected more than ${MAX_REDIRECTS} times`, SOURCE_FIELD);
      try {
        current = new URL(location, current);
      } catch {
        throw new InputError(`${hopName(hop)} redirected to an invalid URL`, SOURCE_FIELD);
      }
      continue;
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      throw new SourceUnreachable(`${hopName(hop)} answered ${status}`);
    }
    try {
      const { body, format } = await readCapped(response, options.maxBytes);
      return { body, format, finalUrl: redact(current.href), redirects: hop };
    } catch (error) {
      throw describeFailure(error, hop, options.timeoutMs, signal);
    }
  }
  throw new InputError(`source_url redirected more than ${MAX_REDIRECTS} times`, SOURCE_FIELD);
}
