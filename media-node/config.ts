import type { PieceStore } from "./piece-cache.ts";
import type { ServerLogSettings } from "./request-log.ts";

/** What media-node is started with (main.ts reads it from the environment). */
export interface MediaNodeConfig {
  /** Shared secret the Worker signs media requests with. */
  secret: string;
  /** Root for per-request temp directories (removed after each request). */
  tmpDir?: string;
  /** Heavy requests admitted at once (admission.ts); default capacity.ts's ENCODE_SLOTS (`MEDIA_NODE_ENCODE_SLOTS`). */
  encodeSlots?: number;
  /** Structured request logs (request-log.ts); none when absent. */
  log?: Omit<ServerLogSettings, "service">;
  /**
   * Origins brand-asset ingest may fetch from although they are plain http or private
   * (`MEDIA_NODE_ALLOWED_ORIGINS`): only what the deployment serves itself, e.g. the local
   * stack's Worker. Empty in production, where every asset URL must be https and public.
   */
  allowedOrigins?: readonly string[];
  /** Where the routes store the video's pieces and read them back (piece-cache.ts); straight to and from storage when absent. */
  pieces?: PieceStore;
}

/** Routes under this prefix are media operations and must be signed with `secret`. */
export const MEDIA_PREFIX = "/v1/media/";
