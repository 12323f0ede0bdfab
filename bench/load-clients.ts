import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { CLIENT_REAL_TIME, realTimeAllowed, WORKER_REAL_TIME } from "../scripts/cpu-priority.ts";
import { CLOCK_TICKS, readStat, schedNanoseconds, threadSchedNanoseconds } from "./process-tree.ts";

/** The load generator's clients: timed requests, and steady pollers in a process of their own. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The pollers' process (plain JavaScript, run with `node -e`). A poller
 * sends one GET every 1/hz s, `phaseMs` into each period, never two in flight; late, it skips the
 * ticks it missed and waits for its next one, keeping its phase. Restarting the schedule from a
 * late answer put every poller one stall had held up on the same phase, lining them up into one
 * burst per period from then on, each request waiting for the burst's others.
 */
const POLLER_PROCESS = `
const { PerformanceObserver } = require("node:perf_hooks");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pollers = new Map();
// This process's own garbage collections, [start, end] on performance.now()'s clock: a pause of
// ours inside a request is timed as its latency, though no server caused it.
const pauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push([e.startTime, e.startTime + e.duration]);
}).observe({ entryTypes: ["gc"] });
function paused(from, to) {
  let ms = 0;
  for (let i = pauses.length - 1; i >= 0 && pauses[i][1] > from - 1000; i--) ms += Math.max(0, Math.min(to, pauses[i][1]) - Math.max(from, pauses[i][0]));
  return ms;
}
async function timed(url, headers) {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30000) });
  await response.arrayBuffer();
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(new URL(url).pathname + " answered " + response.status);
  const parts = {};
  // Trimmed, not matched with a whitespace class: in this template string a backslash escape is
  // lost (until this change the class reached the regex as a plain "s", and every part after the
  // first, run's, went unread).
  for (const entry of (response.headers.get("server-timing") || "").split(",")) {
    const match = /^([a-z]+);dur=([0-9.]+)$/.exec(entry.trim());
    if (match) parts[match[1]] = Number(match[2]);
  }
  return { ms, t0, app: parts.app ?? null, run: parts.run ?? null };
}
function record(into, t) {
  into.latencies.push(t.ms);
  into.server.push({ app: t.app, run: t.run, t0: t.t0 });
}
/** Each answer's share of this process's GC pauses, once they are all observed (entries arrive after their pause). */
function withPauses(result) {
  return { ...result, server: result.server.map(({ t0, ...s }, i) => ({ ...s, clientGc: paused(t0, t0 + result.latencies[i]) })) };
}
async function poll(p) {
  const period = 1000 / p.hz;
  let next = performance.now() + p.phaseMs;
  if (p.phaseMs > 0) await sleep(p.phaseMs);
  while (!p.stopped) {
    try {
      record(p, await timed(p.url, p.headers));
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
process.on("disconnect", () => process.exit(0));
process.on("message", async (m) => {
  if (m.type === "sequence") {
    const result = { latencies: [], server: [], errors: [] };
    for (let i = 0; i < m.count; i++) record(result, await timed(m.url, m.headers));
    await sleep(50);
    process.send({ id: m.id, ...withPauses(result) });
  } else if (m.type === "start") {
    const p = { ...m, stopped: false, latencies: [], server: [], errors: [] };
    pollers.set(m.id, p);
    p.done = poll(p);
  } else {
    const p = pollers.get(m.id);
    p.stopped = true;
    p.done.then(async () => {
      pollers.delete(m.id);
      await sleep(50);
      process.send({ id: m.id, ...withPauses({ latencies: p.latencies, server: p.server, errors: p.errors }) });
    });
  }
});
`;

/**
 * The Worker's own account of one answer (its `Server-Timing`, worker/api/server-timing.ts):
 * `app` from its first middleware to its answer, `run` the video's Durable Object call within
 * it; null where the answer did not carry it (older code, a `--ref`).
 */
export interface ServerTiming {
  app: number | null;
  run: number | null;
  /** How much of the answer's latency this client spent in garbage collections of its own (ms). */
  clientGc?: number;
}

export interface PollerSched {
  runNs: number;
  waitNs: number;
  main: { runNs: number; waitNs: number };
}

export interface PollResult {
  /** Each answer's latency as this client saw it, ms. */
  latencies: number[];
  /** The same answers' Server-Timing, in the same order. */
  server: ServerTiming[];
  errors: string[];
}

/**
 * Steady pollers timed in a process of their own: the load generator's main thread also reads
 * /proc for its samplers and follows the servers' logs, and a request timed there counted every
 * stall of that work (its event-loop delay reached p99 73 / max 304 ms in a load run). The
 * process runs one real-time priority above the stack where the kernel allows it
 * (scripts/cpu-priority.ts `CLIENT_REAL_TIME`): a client of adreel runs on a machine of its own,
 * and a poller here waiting for a core behind the stack's encodes, or behind workerd and the
 * storage host at their own real-time priority, timed its own scheduling, not the server. The
 * idle baseline is timed by the same process (`sequence`), so both latencies are the same client's.
 */
export class PollerProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (result: PollResult) => void>();
  private next = 0;
  /** Whether the pollers run at real-time priority (CAP_SYS_NICE and chrt), for the report. */
  readonly realTime = realTimeAllowed();

  constructor() {
    const command = [...(this.realTime ? CLIENT_REAL_TIME : []), process.execPath, "-e", POLLER_PROCESS];
    this.child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (m: PollResult & { id: string }) => this.waiting.get(m.id)?.({ latencies: m.latencies, server: m.server, errors: m.errors }));
  }

  private ask(message: Record<string, unknown>): Promise<PollResult> {
    const id = String(this.next++);
    return new Promise((resolve) => {
      this.waiting.set(id, (result) => {
        this.waiting.delete(id);
        resolve(result);
      });
      this.child.send({ ...message, id });
    });
  }

  /** The pollers' process's CPU so far (user + system), seconds. */
  cpuSeconds(): number {
    const stat = this.child.pid === undefined ? null : readStat(this.child.pid);
    return stat ? (stat.utime + stat.stime) / CLOCK_TICKS : 0;
  }

  /**
   * The pollers' process's threads: on a core and ready but waiting for one (ns so far, /proc
   * schedstat), and of them its main thread's, which sends and times every request (the rest
   * are V8's helpers: its compiler and garbage collector threads).
   */
  sched(): PollerSched {
    const pid = this.child.pid;
    return pid === undefined ? { runNs: 0, waitNs: 0, main: { runNs: 0, waitNs: 0 } } : { ...schedNanoseconds(pid), main: threadSchedNanoseconds(pid, pid) };
  }

  /** `count` GETs of `url`, one after another: the idle baseline. */
  sequence(url: string, headers: Record<string, string>, count: number): Promise<PollResult> {
    return this.ask({ type: "sequence", url, headers, count });
  }

  /** Start polling `url` at `hz` (phase `phaseMs` into each period); the returned function stops it and gives its latencies and errors. */
  poll(url: string, headers: Record<string, string>, hz: number, phaseMs = 0): () => Promise<PollResult> {
    const id = String(this.next++);
    this.child.send({ type: "start", id, url, headers, hz, phaseMs });
    return () =>
      new Promise((resolve) => {
        this.waiting.set(id, (result) => {
          this.waiting.delete(id);
          resolve(result);
        });
        this.child.send({ type: "stop", id });
      });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.disconnect();
    await once(this.child, "exit");
  }
}

/** A bare HTTP server (plain JavaScript, run with `node -e`): every GET answered at once with a small JSON body. */
const BARE_SERVER = `
const server = require("node:http").createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "application/json" });
  res.end('{"ok":true}');
});
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("disconnect", () => process.exit(0));
`;

/**
 * The control for the pollers' latencies: a server that does nothing, in a process of its own at
 * the Worker's priority, polled beside the stack under the same load. What its answers wait
 * (the machine's scheduling, loopback, the pollers' own process) is no part of the Worker's
 * thread; what status waits beyond it is.
 */
export class BareServer {
  private readonly child: ChildProcess;
  readonly url: Promise<string>;

  constructor() {
    const command = [...(realTimeAllowed() ? WORKER_REAL_TIME : []), process.execPath, "-e", BARE_SERVER];
    this.child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.url = new Promise((resolve, reject) => {
      this.child.once("message", (m: { port: number }) => resolve(`http://127.0.0.1:${m.port}/`));
      this.child.once("exit", (code) => reject(new Error(`the bare server exited (${code}) before it listened`)));
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.disconnect();
    await once(this.child, "exit");
  }
}
