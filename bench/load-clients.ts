import { Worker } from "node:worker_threads";

/** The load generator's clients: timed requests, and steady pollers in a thread of their own. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function timedGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  return performance.now() - t0;
}

/**
 * The pollers' thread (plain JavaScript: a worker thread gets no TypeScript loader). A poller
 * sends one GET every 1/hz s, `phaseMs` into each period, never two in flight; late, it skips the
 * ticks it missed and waits for its next one, keeping its phase. Restarting the schedule from a
 * late answer put every poller one stall had held up on the same phase, lining them up into one
 * burst per period from then on, each request waiting for the burst's others.
 */
const POLLER_THREAD = `
const { parentPort } = require("node:worker_threads");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pollers = new Map();
async function timed(url, headers) {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30000) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(new URL(url).pathname + " answered " + response.status);
  return performance.now() - t0;
}
async function poll(p) {
  const period = 1000 / p.hz;
  let next = performance.now() + p.phaseMs;
  if (p.phaseMs > 0) await sleep(p.phaseMs);
  while (!p.stopped) {
    try {
      p.latencies.push(await timed(p.url, p.headers));
    } catch (error) {
      p.errors.push(error.message);
    }
    next += period;
    let wait = next - performance.now();
    if (wait < 0) {
      next += Math.ceil(-wait / period) * period;
      wait = next - performance.now();
    }
    if (wait > 0 && !p.stopped) await sleep(wait);
  }
}
parentPort.on("message", (m) => {
  if (m.type === "start") {
    const p = { ...m, stopped: false, latencies: [], errors: [] };
    pollers.set(m.id, p);
    p.done = poll(p);
  } else {
    const p = pollers.get(m.id);
    p.stopped = true;
    p.done.then(() => {
      pollers.delete(m.id);
      parentPort.postMessage({ id: m.id, latencies: p.latencies, errors: p.errors });
    });
  }
});
`;

export interface PollResult {
  latencies: number[];
  errors: string[];
}

/**
 * Steady pollers timed in a thread of their own: the load generator's main thread also reads
 * /proc for its samplers and follows the servers' logs, and a request timed there counted every
 * stall of that work (its event-loop delay reached p99 73 / max 304 ms in a load run).
 */
export class PollerThread {
  private readonly worker = new Worker(POLLER_THREAD, { eval: true });
  private readonly waiting = new Map<string, (result: PollResult) => void>();
  private next = 0;

  constructor() {
    this.worker.on("message", (m: PollResult & { id: string }) => this.waiting.get(m.id)?.({ latencies: m.latencies, errors: m.errors }));
  }

  /** Start polling `url` at `hz` (phase `phaseMs` into each period); the returned function stops it and gives its latencies and errors. */
  poll(url: string, headers: Record<string, string>, hz: number, phaseMs = 0): () => Promise<PollResult> {
    const id = String(this.next++);
    this.worker.postMessage({ type: "start", id, url, headers, hz, phaseMs });
    return () =>
      new Promise((resolve) => {
        this.waiting.set(id, (result) => {
          this.waiting.delete(id);
          resolve(result);
        });
        this.worker.postMessage({ type: "stop", id });
      });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
