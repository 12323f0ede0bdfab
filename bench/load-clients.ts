import { readFileSync } from "node:fs";

/** The load generator's clients: timed requests, a steady poller, and what it reads of the stack's processes. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function timedGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  return performance.now() - t0;
}

/** A steady poller: one request every 1/hz s, never more than one in flight (a late answer delays the next). */
export async function pollSteadily(request: () => Promise<number>, hz: number, done: () => boolean, latencies: number[], errors: string[]): Promise<void> {
  const period = 1000 / hz;
  let next = performance.now();
  while (!done()) {
    try {
      latencies.push(await request());
    } catch (error) {
      errors.push((error as Error).message);
    }
    next += period;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    else next = performance.now();
  }
}

/** A process's arguments, NUL-separated ("" once it has exited). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/**
 * `wrangler dev`'s request proxy among a Worker process tree's workerd processes: the one on the
 * stack's port (`entry=host:port`) when there are two (the proxy and the Worker's). The stack's
 * own Worker host (scripts/worker-host.ts) runs one workerd, which listens on that port itself
 * and is no proxy; a `--ref` run of older code still starts wrangler dev's two.
 */
export function isRequestProxy(pid: number, workerdPids: number[], workerUrl: string): boolean {
  return workerdPids.length > 1 && commandLine(pid).includes(`entry=${new URL(workerUrl).host}\0`);
}
