import type { JobInterval } from "./event-log.ts";
import { requestEndLines } from "./media-requests.ts";

/**
 * Where a chunk phase's time went along the chain that ended it: the chunk done last (the
 * tail) and the chunks of its beat before it. Its parts add up to the phase exactly: the phase's
 * start → the chain's first prediction created, then per chunk the provider (created →
 * succeeded), the last frame (succeeded → published) and, between chunks, the hand-off
 * (published → the next one created), then the tail's normalize (published → done) and what
 * followed until the phase ended.
 */
export interface CriticalPath {
  beat: number;
  /** The chain's job ids, the tail last. */
  ids: string[];
  chunks: number;
  firstCreateSeconds: number;
  providerSeconds: number;
  lastFrameSeconds: number;
  handoffSeconds: number;
  tailNormalizeSeconds: number;
  afterTailSeconds: number;
}

/**
 * When the chunk's last frame was published: the chunk the phase ends with is normalized in its
 * ingest (worker/steps/chunk.ts), its frame written by that pass, so it publishes nothing first —
 * its last frame then counts nothing and its pass runs from the ingest.
 */
export function publishedAt(interval: JobInterval): number {
  return Number.isFinite(interval.publishAt) ? interval.publishAt : interval.ingestAt;
}

/** `chainOf(beat)`: the beat's chunk job ids in chain order. NaN parts when a chunk of the chain lacks an interval. */
export function criticalPath(intervals: readonly JobInterval[], chainOf: (beat: number) => string[], phase: { startAt: number; endAt: number }): CriticalPath {
  const tail = intervals.reduce((last, i) => (i.doneAt > last.doneAt ? i : last));
  const byId = new Map(intervals.map((i) => [i.id, i]));
  const beatChain = chainOf(tail.beat ?? -1);
  const ids = beatChain.slice(0, beatChain.indexOf(tail.id) + 1);
  const chain = ids.map((id) => byId.get(id));
  const nan = Number.NaN;
  if (chain.length === 0 || chain.some((c) => c === undefined)) {
    return { beat: tail.beat ?? -1, ids, chunks: chain.length, firstCreateSeconds: nan, providerSeconds: nan, lastFrameSeconds: nan, handoffSeconds: nan, tailNormalizeSeconds: nan, afterTailSeconds: nan };
  }
  const links = chain as JobInterval[];
  const sum = (pick: (i: JobInterval, k: number) => number) => links.reduce((total, i, k) => total + pick(i, k), 0) / 1000;
  return {
    beat: tail.beat ?? -1,
    ids,
    chunks: links.length,
    firstCreateSeconds: (links[0]!.lastStartAt - phase.startAt) / 1000,
    providerSeconds: sum((i) => i.ingestAt - i.lastStartAt),
    lastFrameSeconds: sum((i) => publishedAt(i) - i.ingestAt),
    handoffSeconds: sum((i, k) => (k + 1 < links.length ? links[k + 1]!.lastStartAt - publishedAt(i) : 0)),
    tailNormalizeSeconds: (tail.doneAt - publishedAt(tail)) / 1000,
    afterTailSeconds: (phase.endAt - tail.doneAt) / 1000,
  };
}

/** media-node's own time (`request.end` duration, s) for each successful request of `path` (e.g. `chunks/last-frame`) of one video, by job id. */
export function mediaRequestSeconds(lines: readonly string[], videoId: string, path: string): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const entry of requestEndLines(lines)) {
    if (entry.video_id !== videoId || entry.path !== `/v1/media/${path}` || !entry.job_id) continue;
    if (entry.status === undefined || entry.status < 200 || entry.status >= 300) continue;
    seconds.set(entry.job_id, (entry.duration_ms ?? 0) / 1000);
  }
  return seconds;
}
