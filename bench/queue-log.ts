/**
 * Queue consumer batches and the runs' job transitions, read from the Worker's log (Miniflare's) ("QUEUE adreel-jobs 7/10 (2311ms)":
 * acked/total messages and how long the consumer took). Locally, Miniflare's queue broker
 * hands the consumer one batch at a time and waits for it (wrangler.toml's
 * `max_concurrency` is not applied locally), so the sum of batch times against the
 * wall time says how busy that single lane was.
 */

export interface QueueBatch {
  queue: string;
  acked: number;
  size: number;
  ms: number;
}

const LINE = /QUEUE (\S+) (\d+)\/(\d+) \((\d+)ms\)/g;

export function parseQueueBatches(text: string): QueueBatch[] {
  return [...text.matchAll(LINE)].map((m) => ({ queue: m[1]!, acked: Number(m[2]), size: Number(m[3]), ms: Number(m[4]) }));
}

/** A job's status change, as the run logs it (`job.transition`, LOG_FORMAT=json on the local stack). */
export interface JobTransitionLine {
  video_id: string;
  job_id: string;
  kind: string;
  transition: string;
  from: string;
  to: string;
}

export function parseJobTransitions(text: string): JobTransitionLine[] {
  const found: JobTransitionLine[] = [];
  for (const line of text.split("\n")) {
    const at = line.indexOf('{"');
    if (at < 0 || !line.includes('"job.transition"')) continue;
    try {
      const entry = JSON.parse(line.slice(at)) as Partial<JobTransitionLine> & { event?: string };
      if (entry.event === "job.transition" && entry.video_id && entry.job_id && entry.transition) found.push(entry as JobTransitionLine);
    } catch {
      // A line that merely mentions the event.
    }
  }
  return found;
}

/**
 * Follows a growing log that is only available as its tail (the stack keeps the last
 * 200 000 characters): each `poll` parses what was appended since the previous one, found by
 * anchoring on the end of the previous tail. `lost` says whether the log ever outran a poll.
 */
export class LogFollower {
  private anchor = "";
  lost = false;
  readonly batches: QueueBatch[] = [];
  readonly transitions: JobTransitionLine[] = [];

  private readonly read: () => string;
  private readonly anchorChars: number;
  /** `anchorChars` must stay well below the tail's length, or the anchor never fits in the next tail. */
  constructor(
    read: () => string,
    anchorChars: number = 1000,
  ) {
    this.read = read;
    this.anchorChars = anchorChars;
  }

  poll(): void {
    const text = this.read();
    let fresh = text;
    if (this.anchor) {
      const at = text.lastIndexOf(this.anchor);
      if (at >= 0) fresh = text.slice(at + this.anchor.length);
      else this.lost = true;
    }
    // Only whole lines: a partial last line is parsed on the next poll.
    const end = fresh.lastIndexOf("\n");
    if (end < 0) return;
    this.batches.push(...parseQueueBatches(fresh.slice(0, end + 1)));
    this.transitions.push(...parseJobTransitions(fresh.slice(0, end + 1)));
    const consumed = text.length - (fresh.length - (end + 1));
    this.anchor = text.slice(Math.max(0, consumed - this.anchorChars), consumed);
  }
}
