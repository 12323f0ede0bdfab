import type { PollResult } from "./load-clients.ts";
import { type LatencySummary, summarize } from "./stats.ts";

/**
 * A client's latencies split by the Worker's own account of each answer (its Server-Timing):
 * `app` is the Worker's time from its first middleware to the answer, `run` the Durable Object
 * call within it, `outside` the rest of what the client waited (the request and answer in
 * flight, and waiting for workerd's thread before the Worker ran and after it answered). The
 * slow answers (above `slowMs`) are told apart by which half they spent most in.
 */
export interface ServerSplit {
  app: LatencySummary | null;
  run: LatencySummary | null;
  outside: LatencySummary | null;
  slowMs: number;
  slow: number;
  /** Slow answers whose `app` was at least half their latency: the Worker was at them. */
  slowInWorker: number;
  /** Of those, the answers whose Durable Object call (`run`) was itself at least half the latency (null: no `run` parts). */
  slowInRun: number | null;
  /** Slow answers the client itself spent at least half of in garbage collections of its own (null: not recorded). */
  slowInClientGc: number | null;
}

export function serverSplit(polls: PollResult, slowMs: number): ServerSplit {
  const timed = polls.latencies.map((ms, i) => ({ ms, ...polls.server[i] })).filter((t): t is { ms: number; app: number; run: number | null; clientGc?: number } => typeof t.app === "number");
  const of = (values: number[]) => (values.length ? summarize(values) : null);
  const slow = timed.filter((t) => t.ms > slowMs);
  return {
    app: of(timed.map((t) => t.app)),
    run: of(timed.flatMap((t) => (t.run === null ? [] : [t.run]))),
    outside: of(timed.map((t) => Math.max(0, t.ms - t.app))),
    slowMs,
    slow: slow.length,
    slowInWorker: slow.filter((t) => t.app >= t.ms / 2).length,
    slowInRun: slow.some((t) => t.run !== null) ? slow.filter((t) => t.run !== null && t.run >= t.ms / 2).length : null,
    slowInClientGc: slow.every((t) => t.clientGc !== undefined) ? slow.filter((t) => t.clientGc! >= t.ms / 2).length : null,
  };
}

export function splitRows(what: string, split: ServerSplit): string[][] {
  const ms = (s: LatencySummary | null) => (s ? `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(1)} ms (${s.count})` : "n/a (no Server-Timing)");
  const rows = [
    [`${what}: the Worker's own time (Server-Timing \`app\`): p50 / p99 / max`, ms(split.app)],
    [`${what}: the rest (client latency − \`app\`: in flight, waiting for workerd's thread): p50 / p99 / max`, ms(split.outside)],
  ];
  if (split.run) rows.push([`${what}: the Durable Object call within \`app\` (\`run\`): p50 / p99 / max`, ms(split.run)]);
  rows.push([`${what}: answers slower than 3× the idle p99 (${split.slowMs.toFixed(1)} ms) / of them, \`app\` at least half the latency${split.slowInRun === null ? "" : " / of those, the Durable Object call (`run`) at least half"}`, split.app ? [split.slow, split.slowInWorker, ...(split.slowInRun === null ? [] : [split.slowInRun])].join(" / ") : "n/a"]);
  if (split.slowInClientGc !== null) rows.push([`${what}: of the answers slower than 3× the idle p99, those the polling client spent at least half of in its own garbage collections (perf_hooks \`gc\` entries)`, String(split.slowInClientGc)]);
  return rows;
}
