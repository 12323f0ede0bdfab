import type { Config } from "../config.ts";
import { presignR2Url } from "./presigned-url.ts";
import { type MediaAccess, signMediaUrl } from "./signed-url.ts";

/**
 * The one place that decides which URL a consumer of a media object gets.
 *
 * - `client` (API responses, the live page, downloads): always the Worker's own `/media`
 *   route, signed and expiring; it serves ranges and never exposes storage credentials.
 * - `service` (media-node, and model providers such as Replicate): where R2's S3 credentials
 *   are configured (production; the local stack, whose storage host serves R2's S3 API,
 *   scripts/storage-host.ts), a presigned R2 URL, so their bytes go straight to and from R2 and
 *   never pass through the Worker; without them (a local run against real Replicate, which
 *   cannot reach the local S3 API; Worker tests) the same `/media` route.
 *
 * A presigned URL lives `presignedUrlTtlSeconds` at most (1 h by default): long enough for an
 * encode or a prediction to start and read its inputs, short enough that a leaked URL soon
 * stops working.
 */

export type MediaConsumer = "client" | "service";

export function mediaUrl(config: Config, consumer: MediaConsumer, key: string, access: MediaAccess, ttlSeconds = config.mediaUrlTtlSeconds): Promise<string> {
  if (consumer === "service" && config.r2) return presignR2Url(config.r2, key, access, Math.min(ttlSeconds, config.presignedUrlTtlSeconds));
  return signMediaUrl(config.publicBaseUrl, config.mediaSigningSecret, key, access, ttlSeconds);
}
