/** The load generator's clients: timed requests and a steady poller. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function timedGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  return performance.now() - t0;
}

/**
 * A steady poller: one request every 1/hz s, `phaseMs` into each period, never more than one in
 * flight (a late answer delays the next to the poller's next tick). Pollers of independent
 * clients are given spread phases: started together, they would send their requests in one
 * burst per period, and each would wait for the burst's others.
 */
export async function pollSteadily(request: () => Promise<number>, hz: number, done: () => boolean, latencies: number[], errors: string[], phaseMs = 0): Promise<void> {
  const period = 1000 / hz;
  let next = performance.now() + phaseMs;
  if (phaseMs > 0) await sleep(phaseMs);
  while (!done()) {
    try {
      latencies.push(await request());
    } catch (error) {
      errors.push((error as Error).message);
    }
    next += period;
    let wait = next - performance.now();
    // Late: the ticks it missed are skipped and it waits for its next one, keeping its phase.
    // Restarting the schedule from the late answer put every poller one stall had held up on
    // the same phase, lining them up into one burst per period from then on.
    if (wait < 0) {
      next += Math.ceil(-wait / period) * period;
      wait = next - performance.now();
    }
    if (wait > 0) await sleep(wait);
  }
}
