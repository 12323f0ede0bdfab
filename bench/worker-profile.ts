import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * A CPU profile of the Worker's isolate inside `wrangler dev`'s workerd, taken over its
 * inspector (the Chrome DevTools protocol workerd serves for each isolate): which functions
 * the one workerd thread spends its time in while the load runs. The Worker, its Durable
 * Objects and its handlers share that isolate; D1, R2 and the queue broker are isolates of
 * their own on the same thread.
 */

export interface ProfileEntry {
  name: string;
  /** Share of the samples with this function on the stack (inclusive) or on top (self). */
  inclusive: number;
  self: number;
}

export interface WorkerProfile {
  seconds: number;
  samples: number;
  /** Share of samples in which the isolate was idle (waiting for work). */
  idle: number;
  top: ProfileEntry[];
}

/** Ports workerd process `pid` listens on (its sockets' inodes matched in /proc/net/tcp). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // local_address, st (0A = LISTEN), inode: columns 1, 3 and 9 of proc(5)'s tcp table.
    if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(":")[1]!, 16));
  }
  return ports;
}

/** The inspector WebSocket URL of isolate `isolate` (e.g. `core:user:adreel`) among `ports`, or null. */
export async function inspectorUrl(ports: number[], isolate: string): Promise<string | null> {
  for (const port of ports) {
    try {
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2000) })).json()) as { id: string; webSocketDebuggerUrl: string }[];
      const target = Array.isArray(targets) ? targets.find((t) => t.id === isolate) : undefined;
      if (target) return target.webSocketDebuggerUrl;
    } catch {
      // not an inspector
    }
  }
  return null;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** How long workerd gets to answer the profiler's first command before the session is opened again. */
const ANSWER_MS = 10_000;

/**
 * Sample the isolate behind `url` for `seconds`; the `top` functions by inclusive share.
 * workerd sometimes leaves a new session's first commands unanswered (seen on the first
 * connection to a busy isolate); such a session is closed and opened again, a few times.
 */
export async function profileIsolate(url: string, seconds: number, top = 25, tries = 3): Promise<WorkerProfile> {
  for (let attempt = 1; ; attempt++) {
    const profile = await profileSession(url, seconds, top);
    if (profile) return profile;
    if (attempt >= tries) throw new Error(`workerd's inspector did not answer in ${tries} sessions`);
  }
}

async function profileSession(url: string, seconds: number, top: number): Promise<WorkerProfile | null> {
  const ws = new WebSocket(url);
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (message) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown };
    if (data.id !== undefined) pending.get(data.id)?.(data.result);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  try {
    // workerd answers the profiler's commands once the runtime domain is on.
    void send("Runtime.enable");
    const answered = await Promise.race([send("Profiler.enable").then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), ANSWER_MS))]);
    if (!answered) return null;
    await send("Profiler.setSamplingInterval", { interval: 1000 });
    await send("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = (await send("Profiler.stop")) as { profile: { nodes: ProfileNode[]; samples: number[] } };
    return summarizeProfile(profile.nodes, profile.samples, seconds, top);
  } finally {
    ws.close();
  }
}

/** Inclusive and self shares per function name (file-less frames keep their V8 names: idle, GC, program). */
export function summarizeProfile(nodes: ProfileNode[], samples: number[], seconds: number, top: number): WorkerProfile {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (n: ProfileNode) => n.callFrame.functionName || "(anonymous)";
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  for (const sample of samples) {
    const leaf = byId.get(sample);
    if (!leaf) continue;
    self.set(nameOf(leaf), (self.get(nameOf(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = nameOf(byId.get(id)!);
      if (name === "(root)" || seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    }
  }
  const total = Math.max(1, samples.length);
  return {
    seconds,
    samples: samples.length,
    idle: (self.get("(idle)") ?? 0) / total,
    top: [...inclusive.entries()]
      .filter(([name]) => name !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, inclusive: n / total, self: (self.get(name) ?? 0) / total })),
  };
}
