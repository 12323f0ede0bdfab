import type { ServerLogSettings } from "./request-log.ts";

/** What media-node is started with (main.ts reads it from the environment). */
export interface MediaNodeConfig {
  /** Shared secret the Worker signs media requests with. */
  secret: string;
  /** Root for per-request temp directories (removed after each request). */
  tmpDir?: string;
  /** Structured request logs (request-log.ts); none when absent. */
  log?: Omit<ServerLogSettings, "service">;
}

/** Routes under this prefix are media operations and must be signed with `secret`. */
export const MEDIA_PREFIX = "/v1/media/";
