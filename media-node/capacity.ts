import { availableParallelism } from "node:os";

/**
 * How much media work one media-node runs at once: the one number its memory is bounded by.
 *
 * What holds memory is the child processes, not the requests. Measured with ffmpeg 5.1 on a
 * 1024x576 clip (peak RSS, /usr/bin/time): an x264 encode 100–140 MiB (a chunk's normalize pass,
 * a transition window), any other run 55–70 MiB (a probe, a last frame, a decode for the seam
 * measures, a stream-copy concat or mux, an audio pass) — mostly ffmpeg's shared libraries,
 * which every process maps again.
 *
 * - `ENCODE_SLOTS` (`MEDIA_NODE_ENCODE_SLOTS`, default one per core): video encodes alive at
 *   once, whatever their priority. A finish's encode (a stitch, a window) waits for one ahead of
 *   queued normalize passes (ffmpeg.ts) instead of running beside them as an extra encode.
 * - `PROCESS_SLOTS`: children alive at once, one more than the encodes, so a short run on a
 *   chain's critical path (a last frame, a probe) never waits behind the encodes; that extra slot
 *   never holds a third encode.
 * - The same `ENCODE_SLOTS` is how many heavy requests the server admits before it answers
 *   503 with Retry-After (admission.ts; a finish one more, which then waits in process for an
 *   encode slot rather than being refused behind background work): the backlog waits in the
 *   Worker's queue, not in media-node's memory.
 *
 * So at most ENCODE_SLOTS encodes and one other run: on 2 cores ≈ 2 × 140 + 70 MiB of children.
 *
 * The server process itself runs with MALLOC_ARENA_MAX=2 (set by what starts it: the Dockerfile,
 * scripts/stack.ts): glibc gives every thread that allocates an arena of its own (libuv's pool
 * runs sharp's work), and what each arena's fragments hold stays resident. Two arenas: a sharp
 * load of 12 requests at once, ten rounds, peaked at 264–293 MiB against 315–368 MiB with
 * glibc's default (three runs each on this machine, Node 22, sharp 0.35).
 *
 * And with `NODE_OPTIONS=--max-semi-space-size=4` (MEDIA_NODE_PROCESS_ENV, also set by what
 * starts it): V8's young generation grows to 16 MiB semi-spaces by default, kept whether full or not,
 * while the server's garbage is short-lived request buffers and parsed JSON. Six draft ads at
 * once (bench/encode-memory.ts --n 6, one run at a time, 2026-12-06): the server's peak RSS
 * 166 MiB with it alone and 162, 164 with it and MALLOC_MMAP_THRESHOLD_=131072, against 186, 197,
 * 203 MiB without it (and 179, 180, 198 with the mmap threshold alone, so not kept), its own CPU
 * 3.5-3.7 s against 3.8 s.
 */
/**
 * The environment media-node's process starts with, for the two settings above: what starts it
 * sets these (scripts/stack.ts; the Dockerfile's ENV, which scripts/deploy/dockerfile.test.ts
 * checks against this).
 */
export const MEDIA_NODE_PROCESS_ENV = { MALLOC_ARENA_MAX: "2", NODE_OPTIONS: "--max-semi-space-size=4" } as const;
export const ENCODE_SLOTS = slotCount("MEDIA_NODE_ENCODE_SLOTS", process.env.MEDIA_NODE_ENCODE_SLOTS, availableParallelism());

export const PROCESS_SLOTS = ENCODE_SLOTS + 1;

export function slotCount(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, got ${text}`);
  return value;
}

/** A run that encodes video (every video encode of media-node is x264: video/encoding.ts) weighs about twice any other. */
export function encodesVideo(args: readonly string[]): boolean {
  return args.includes("libx264");
}
