/**
 * media-node's own account of the work it was asked for, from its request log (one
 * `request.end` line per answered request, carrying the asking job's ids): per route, how many
 * requests, how many were refused busy (503), how long the answered ones took, and how many
 * repeated a successful one — the same job, attempt and step answered 2xx again, i.e. work
 * done twice.
 */

export interface RouteTally {
  path: string;
  requests: number;
  busy: number;
  ok: number;
  /** Answered 2xx although the same job's attempt and step had been answered 2xx before. */
  repeated: number;
  /** Summed duration of the 2xx answers, seconds. */
  okSeconds: number;
}

export interface EndLine {
  event?: string;
  /** Epoch ms (pino's default). */
  time?: number;
  path?: string;
  status?: number;
  duration_ms?: number;
  job_id?: string;
  video_id?: string;
  attempt?: number;
  step?: string;
}

/** The `request.end` lines of a server's log (JSON after any prefix); other lines and non-JSON ones are skipped. */
export function* requestEndLines(lines: readonly string[]): Generator<EndLine> {
  for (const line of lines) {
    const start = line.indexOf("{");
    if (start < 0) continue;
    let entry: EndLine;
    try {
      entry = JSON.parse(line.slice(start)) as EndLine;
    } catch {
      continue;
    }
    if (entry.event === "request.end") yield entry;
  }
}

/** Tally `request.end` lines of media routes written at `since` (epoch ms) or later; other lines (and non-JSON ones) are skipped. */
export function tallyMediaRequests(lines: readonly string[], since = 0): RouteTally[] {
  const byPath = new Map<string, RouteTally>();
  const seen = new Set<string>();
  for (const entry of requestEndLines(lines)) {
    if (!entry.path?.startsWith("/v1/media/") || (entry.time ?? 0) < since) continue;
    const path = entry.path.slice("/v1/media/".length);
    const tally = byPath.get(path) ?? { path, requests: 0, busy: 0, ok: 0, repeated: 0, okSeconds: 0 };
    tally.requests++;
    if (entry.status === 503) tally.busy++;
    if (entry.status !== undefined && entry.status >= 200 && entry.status < 300) {
      tally.ok++;
      tally.okSeconds += (entry.duration_ms ?? 0) / 1000;
      if (entry.job_id) {
        const key = `${entry.video_id}/${entry.job_id}/${entry.attempt}/${entry.step}/${path}`;
        if (seen.has(key)) tally.repeated++;
        seen.add(key);
      }
    }
    byPath.set(path, tally);
  }
  return [...byPath.values()].sort((a, b) => b.okSeconds - a.okSeconds);
}
