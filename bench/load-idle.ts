import { type PollerProcess, type PollResult, sleep } from "./load-clients.ts";
import { type LatencySummary, percentile, summarize } from "./stats.ts";

/**
 * The idle baseline of status latency, on the stack about to take the load, by the same pollers'
 * process. Two measures, each over a window of tens of seconds, as the load's p99 is:
 *
 * - `sequential`: requests one after another (the baseline issue 16's target reads), in
 *   `SEQUENTIAL_ROUNDS` rounds of `SEQUENTIAL_REQUESTS`, `ROUND_GAP_MS` apart, pooled. One round
 *   of 1000 (up to d150450) lasts under a second, so its p99 (its 10th slowest answer) is that
 *   second's: six rounds 8 s apart on one idle stack gave 1.7-3.9 ms, pooled 2.65 ms.
 * - `polled`: the load's own pattern without the load: `pollers` clients at `hz`, phases
 *   spread, for `POLLED_MS`. Each request then finds the thread done with the one before it
 *   (a sequential request waits behind its predecessor's leftovers: 2.0 ms against 2.65 in
 *   the same run), so against it the load's ratio is higher; both are reported.
 */
export const SEQUENTIAL_ROUNDS = 5;
export const SEQUENTIAL_REQUESTS = 1000;
const ROUND_GAP_MS = 4000;
const POLLED_MS = 20_000;

export interface IdleBaseline {
  sequential: PollResult;
  /** Each round's own p99 (ms): how far one short window's would have strayed. */
  roundP99s: number[];
  polled: PollResult;
}

export async function idleBaseline(client: PollerProcess, url: string, headers: Record<string, string>, pollers: number, hz: number): Promise<IdleBaseline> {
  const rounds: PollResult[] = [];
  for (let round = 0; round < SEQUENTIAL_ROUNDS; round++) {
    if (round > 0) await sleep(ROUND_GAP_MS);
    rounds.push(await client.sequence(url, headers, SEQUENTIAL_REQUESTS));
  }
  const stops = Array.from({ length: pollers }, (_, i) => client.poll(url, headers, hz, (i * 1000) / hz / pollers));
  await sleep(POLLED_MS);
  const polled = joined(await Promise.all(stops.map((stop) => stop())));
  return { sequential: joined(rounds), roundP99s: rounds.map((r) => percentile(r.latencies, 99)), polled };
}

function joined(results: PollResult[]): PollResult {
  return { latencies: results.flatMap((r) => r.latencies), server: results.flatMap((r) => r.server), errors: results.flatMap((r) => r.errors) };
}

/** Each baseline's latencies summarized, as the report and the acceptance read them. */
export function idleSummaries(idle: IdleBaseline): { sequential: LatencySummary; polled: LatencySummary } {
  return { sequential: summarize(idle.sequential.latencies), polled: summarize(idle.polled.latencies) };
}

/** The report's rows: both baselines (summarized by idleSummaries), and the load's status latency (`status`) against each. */
export function idleRows(idle: IdleBaseline, { sequential, polled }: ReturnType<typeof idleSummaries>, status: LatencySummary | null, pollers: number, hz: number): string[][] {
  const ratios = (base: LatencySummary) => (status ? `${(status.p50 / base.p50).toFixed(1)}×, ${(status.p99 / base.p99).toFixed(1)}×` : "n/a");
  return [
    [`status latency idle, same stack (${sequential.count} sequential: ${SEQUENTIAL_ROUNDS} rounds of ${SEQUENTIAL_REQUESTS}, ${ROUND_GAP_MS / 1000} s apart, pooled; bench/load-idle.ts): p50 / p99 (each round's own p99)`, `${sequential.p50.toFixed(1)} / ${sequential.p99.toFixed(1)} ms (${idle.roundP99s.map((p) => p.toFixed(1)).join(", ")})`],
    ["status under load / idle: p50, p99", ratios(sequential)],
    [`status latency idle, polled as under load (${pollers} pollers at ${hz} req/s, phases spread, ${POLLED_MS / 1000} s: ${polled.count} requests, ${idle.polled.errors.length} errors): p50 / p99`, `${polled.p50.toFixed(1)} / ${polled.p99.toFixed(1)} ms`],
    ["status under load / idle polled as under load: p50, p99", ratios(polled)],
  ];
}
