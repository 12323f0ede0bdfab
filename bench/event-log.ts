import { isEndStatus } from "../contracts/api.ts";
import type { JobView, LiveMessage, LiveSnapshot } from "../contracts/live.ts";

/**
 * A finished video's whole event log, replayed from its Durable Object over the live
 * WebSocket (`?since=`), and the timings it holds: every event carries the server's `at`
 * (ms), so phase durations come from the run itself, not from when a client happened to look.
 */

/**
 * An event of the log. Looser than the frames it comes from (`LiveMessage`), so the timeline
 * functions can be fed hand-made events: they only read `type`, `at`, `phase` and `job`.
 */
export interface TimedEvent {
  id: number;
  type: string;
  at: number;
  [key: string]: unknown;
}

export interface EventLog {
  /** `created_at` of the run: the start of `queued`. */
  createdAt: number;
  status: string;
  events: TimedEvent[];
}

/** Replay the log in pages (the object sends at most 1000 events per connection). */
export async function fetchEventLog(baseUrl: string, apiKey: string, videoId: string, timeoutMs = 30_000): Promise<EventLog> {
  const deadline = Date.now() + timeoutMs;
  const events: TimedEvent[] = [];
  // 0: from the first event on.
  let since = 0;
  let createdAt = 0;
  let status = "unknown";
  for (let page = 0; page < 100 && Date.now() < deadline; page++) {
    const { snapshot, replayed } = await replayPage(baseUrl, apiKey, videoId, since, deadline - Date.now());
    createdAt = snapshot.created_at;
    status = snapshot.status;
    events.push(...replayed);
    if (replayed.length > 0) since = replayed.at(-1)!.id;
    if (replayed.length === 0 || since >= snapshot.last_event) return { createdAt, status, events };
  }
  throw new Error(`replaying the event log of ${videoId} did not finish within ${timeoutMs} ms (${events.length} events so far)`);
}

/** The run as its live socket's first frame shows it: every job, its output, the chunk plan. */
export async function liveSnapshot(baseUrl: string, apiKey: string, videoId: string, timeoutMs = 30_000): Promise<LiveSnapshot> {
  // `since` far past the log: the socket sends the snapshot and nothing to replay.
  return (await replayPage(baseUrl, apiKey, videoId, Number.MAX_SAFE_INTEGER, timeoutMs)).snapshot;
}

function replayPage(baseUrl: string, apiKey: string, videoId: string, since: number, timeoutMs: number): Promise<{ snapshot: LiveSnapshot; replayed: TimedEvent[] }> {
  return new Promise((resolvePage, reject) => {
    const url = `${baseUrl.replace(/^http/, "ws")}/api/video/${videoId}/live?since=${since}&access_token=${encodeURIComponent(apiKey)}`;
    const socket = new WebSocket(url);
    const replayed: TimedEvent[] = [];
    let snapshot: LiveSnapshot | null = null;
    let quiet: NodeJS.Timeout | null = null;
    const finish = (error?: Error) => {
      clearTimeout(overall);
      if (quiet) clearTimeout(quiet);
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      if (error) reject(error);
      else if (!snapshot) reject(new Error(`no snapshot from ${videoId}'s live socket`));
      else resolvePage({ snapshot, replayed });
    };
    const overall = setTimeout(() => finish(new Error(`live socket of ${videoId} timed out`)), Math.max(1000, timeoutMs));
    // The replay is sent right after the snapshot; a quiet second means a capped page ended.
    const armQuiet = () => {
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => finish(), 1000);
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== "string" || message.data === "pong") return;
      const event = JSON.parse(message.data) as LiveMessage;
      if (event.type === "snapshot") {
        const s = event.snapshot;
        if (!s) return finish(new Error(`video ${videoId} has no run`));
        snapshot = s;
        if (s.last_event <= since) return finish();
        armQuiet();
        return;
      }
      if (event.id > since && (replayed.length === 0 || event.id > replayed.at(-1)!.id)) replayed.push(event);
      if (snapshot && event.id >= snapshot.last_event) return finish();
      armQuiet();
    };
    socket.onerror = () => finish(new Error(`live socket of ${videoId} failed`));
    socket.onclose = () => finish();
  });
}

export interface PhaseSpan {
  phase: string;
  startAt: number;
  seconds: number;
}

/**
 * Phases in the order the run entered them, each lasting until the next began; the last one
 * ends at the terminal event. `queued` starts at `createdAt` and runs until the first phase
 * event (it covers planning while the planner reports no phase of its own).
 */
export function phaseTimeline(log: Pick<EventLog, "createdAt" | "events">): { phases: PhaseSpan[]; totalSeconds: number; ended: string | null } {
  const starts: { phase: string; at: number }[] = [{ phase: "queued", at: log.createdAt }];
  let end: { type: string; at: number } | null = null;
  for (const event of log.events) {
    if (event.type === "phase" && typeof event.phase === "string") {
      if (starts.at(-1)!.phase !== event.phase) starts.push({ phase: event.phase, at: event.at });
    } else if (isEndStatus(event.type) && !end) {
      end = { type: event.type, at: event.at };
    }
  }
  const endAt = end?.at ?? log.events.at(-1)?.at ?? log.createdAt;
  const phases: PhaseSpan[] = [];
  starts.forEach((start, i) => {
    const until = i + 1 < starts.length ? starts[i + 1]!.at : endAt;
    const existing = phases.find((p) => p.phase === start.phase);
    if (existing) existing.seconds += (until - start.at) / 1000;
    else phases.push({ phase: start.phase, startAt: start.at, seconds: (until - start.at) / 1000 });
  });
  return { phases, totalSeconds: (endAt - log.createdAt) / 1000, ended: end?.type ?? null };
}

export interface JobInterval {
  id: string;
  kind: string;
  beat: number | null;
  /** First time the job was seen predicting (its prediction created). */
  startAt: number;
  /** The last attempt's prediction was created. */
  lastStartAt: number;
  /** The prediction succeeded and its output is being stored / normalized. */
  ingestAt: number;
  /** What dependents need was published (a chunk's last frame); NaN for jobs stored in one step. */
  publishAt: number;
  doneAt: number;
  attempts: number;
}

/** For each job of `kind` that finished: from its prediction's creation to done (ingest included). */
export function jobIntervals(events: readonly TimedEvent[], kind: string): JobInterval[] {
  const byId = new Map<string, JobInterval>();
  for (const event of events) {
    if (event.type !== "job") continue;
    const job = event.job as Pick<JobView, "id" | "kind" | "beat" | "status" | "attempt"> | undefined;
    if (!job || job.kind !== kind) continue;
    let interval = byId.get(job.id);
    if (!interval && job.status === "predicting") {
      interval = { id: job.id, kind: job.kind, beat: job.beat, startAt: event.at, lastStartAt: event.at, ingestAt: Number.NaN, publishAt: Number.NaN, doneAt: Number.NaN, attempts: job.attempt };
      byId.set(job.id, interval);
    }
    if (!interval) continue;
    interval.attempts = Math.max(interval.attempts, job.attempt);
    if (job.status === "predicting") interval.lastStartAt = event.at;
    if (job.status === "ingesting") interval.ingestAt = event.at;
    if (job.status === "normalizing") interval.publishAt = event.at;
    if (job.status === "done") interval.doneAt = event.at;
  }
  return [...byId.values()].filter((i) => Number.isFinite(i.doneAt));
}

/** Most intervals open at one instant (a job ending as another starts counts once). */
export function peakOverlap(intervals: readonly Pick<JobInterval, "startAt" | "doneAt">[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.startAt, delta: 1 },
    { at: i.doneAt, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const edge of edges) {
    open += edge.delta;
    peak = Math.max(peak, open);
  }
  return peak;
}
