import { ENCODE_SLOTS } from "./capacity.ts";
import { MEDIA_PREFIX } from "./config.ts";

/**
 * Admission of heavy requests (a whole-clip ffmpeg: normalize, stitch, music, mux): at most
 * `limit` run at once, by default capacity.ts's ENCODE_SLOTS (one per core). Another one is
 * refused at once with 503 and Retry-After instead of being started beside them: on 2 cores more
 * ffmpeg processes only share the same CPU, each holding its own frames in memory (the load
 * benchmark once saw 14 at once and 1.4 GiB). The Worker's queue consumer sends a refused step
 * again after Retry-After without spending its job's attempts (worker/queue/consumer.ts), so
 * work waits in the queue, not in media-node's memory.
 *
 * Left out: the last frame of a clip (one frame decoded: the next chunk of a beat waits for it)
 * and the image routes (sharp, small): both short and on the critical path of a chain. They are
 * not refused: their ffmpeg and ffprobe runs, like every child process, take one of
 * capacity.ts's process slots, ahead of background encodes.
 *
 * The finishing routes (the stitch, the mux, and the soundtrack mix, which the final file and
 * the captions the chunks' normalize passes draw both wait on: the user's final file waits on
 * them, nothing waits on a normalize pass as long) are admitted one beyond the limit, so a finish is not refused
 * behind background encodes — refused, the whole step ran again after Retry-After (its overlays
 * drawn again each time: 157 refused stitches for 20 ads in one load run). Admitted is not
 * running: its encodes take an encode slot like any other (capacity.ts), first in line before
 * queued normalize passes, so a finish goes ahead of background work without a third encode
 * beside two.
 */

export const FINISHING_ROUTES = new Set(["videos/stitch", "audio/mux", "audio/prepare"].map((route) => `${MEDIA_PREFIX}${route}`));

/**
 * A request admitted like a finish: a finishing route, or the normalize passes that end a
 * video's chunk phase (`ends_chunk_phase`: no chunk of the video still generates, so the video
 * waits on them as it waits on its stitch). Read from the parsed body before it is validated:
 * anything but `true` is an ordinary request.
 */
export function admittedAsFinish(route: string, body: unknown): boolean {
  if (FINISHING_ROUTES.has(route)) return true;
  return route === `${MEDIA_PREFIX}chunks/normalize` && typeof body === "object" && body !== null && (body as { ends_chunk_phase?: unknown }).ends_chunk_phase === true;
}

export const HEAVY_ROUTES = new Set(
  ["chunks/normalize", "videos/stitch", "audio/prepare", "audio/mux"].map((route) => `${MEDIA_PREFIX}${route}`),
);

/** Seconds a refused caller is asked to wait: about one short encode. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

export class EncodeSlots {
  private used = 0;
  readonly limit: number;

  constructor(limit: number = ENCODE_SLOTS) {
    this.limit = limit;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`encode slots must be a whole number of at least 1, got ${limit}`);
  }

  get inUse(): number {
    return this.used;
  }

  /** Slots a request of this kind may fill: the finishing routes one more. */
  limitFor(finishing: boolean): number {
    return this.limit + (finishing ? 1 : 0);
  }

  /** Take a slot if one is free for this kind of request. */
  tryTake(finishing = false): boolean {
    if (this.used >= this.limitFor(finishing)) return false;
    this.used++;
    return true;
  }

  give(): void {
    this.used = Math.max(0, this.used - 1);
  }
}
