import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { table } from "./results-doc.ts";

/**
 * A CPU profile of the Worker's isolate inside its workerd (scripts/worker-host.ts), taken over its
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
  /** Share of samples in which the isolate was idle (waiting for work). Of samples, not of time: see `busySeconds`. */
  idle: number;
  /**
   * Seconds the isolate ran: the time before each sample that was not idle, counting only
   * deltas within `GAP_INTERVALS` sampling intervals. workerd's profiler takes no sample while
   * the isolate runs nothing (and few "(idle)" ones), so a long delta is mostly time it was not running.
   */
  busySeconds: number;
  top: ProfileEntry[];
  /**
   * Runs of busy samples (nothing idle between them) longer than `LONG_TASK_MS`: while one runs,
   * every request to the isolate waits. Longest first, each with the named functions on the
   * stack most often during it. Wall time, so a run includes the thread's waits for a core.
   */
  longTasks: LongTask[];
  /** What counts as a long run here (ms): `LONG_TASK_MS` unless asked otherwise. */
  longTaskThresholdMs: number;
  /** Busy runs of at least `longTaskThresholdMs`, and their summed time (ms). */
  longTaskCount: number;
  longTaskMs: number;
}

export interface LongTask {
  ms: number;
  functions: string[];
}

export const LONG_TASK_MS = 50;

/** The sampling interval asked of the profiler (µs). */
const SAMPLING_INTERVAL_US = 1000;

/**
 * A delta longer than this many sampling intervals before a sample is a gap, not busy time:
 * workerd samples the isolate only while it runs, so idle time shows as long deltas (seen: a
 * median delta of 5 ms and a 90th percentile of 200 ms at a 1 ms interval, idle polling), and
 * two samples of one request on either side of such a gap were counted as one run of hundreds of ms.
 */
const GAP_INTERVALS = 4;

/** V8's frames with no name of their own: they say nothing about which work a task was. */
const UNNAMED = new Set(["(anonymous)", "(program)", "(garbage collector)", "(root)", "(idle)", "then", "next", "all", "fetch", "values", "raw"]);

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

let profilesWritten = 0;

/** How long workerd gets to answer the profiler's first command before the session is opened again. */
const ANSWER_MS = 10_000;

/**
 * Sample the isolate behind `url` for `seconds`; the `top` functions by inclusive share.
 * workerd sometimes leaves a new session's first commands unanswered (seen on the first
 * connection to a busy isolate); such a session is closed and opened again, a few times.
 */
export async function profileIsolate(url: string, seconds: number, top = 25, tries = 3, longTaskMs = LONG_TASK_MS): Promise<WorkerProfile> {
  for (let attempt = 1; ; attempt++) {
    const profile = await profileSession(url, seconds, top, longTaskMs);
    if (profile) return profile;
    if (attempt >= tries) throw new Error(`workerd's inspector did not answer in ${tries} sessions`);
  }
}

async function profileSession(url: string, seconds: number, top: number, longTaskMs: number): Promise<WorkerProfile | null> {
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
    await send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await send("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = (await send("Profiler.stop")) as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas?: number[] } };
    // The raw profile too, for reading it by line (one file per profile taken: `<path>.1`, `<path>.2`, …).
    if (process.env.WORKER_PROFILE_OUT) writeFileSync(`${process.env.WORKER_PROFILE_OUT}.${++profilesWritten}`, JSON.stringify(profile));
    return summarizeProfile(profile.nodes, profile.samples, seconds, top, profile.timeDeltas, SAMPLING_INTERVAL_US, longTaskMs);
  } finally {
    ws.close();
  }
}

/**
 * Inclusive and self shares per function name (file-less frames keep their V8 names: idle, GC,
 * program), and the long busy runs, timed by `timeDeltas` (µs before each sample, V8's profile format).
 */
export function summarizeProfile(nodes: ProfileNode[], samples: number[], seconds: number, top: number, timeDeltas: number[] = [], intervalUs = SAMPLING_INTERVAL_US, longTaskMs = LONG_TASK_MS): WorkerProfile {
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
  const runs = busyRuns(samples, timeDeltas, (id) => (byId.get(id) ? nameOf(byId.get(id)!) === "(idle)" : true), GAP_INTERVALS * intervalUs);
  const tasks = runs.filter((r) => r.ms >= longTaskMs);
  const stackNames = (id: number) => {
    const names = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) names.add(nameOf(byId.get(at)!));
    return names;
  };
  const longTasks = tasks
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10)
    .map((task) => {
      const counts = new Map<string, number>();
      for (const id of task.samples) for (const name of stackNames(id)) if (!UNNAMED.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
      return { ms: task.ms, functions: [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name]) => name) };
    });
  return {
    longTasks,
    longTaskThresholdMs: longTaskMs,
    longTaskCount: tasks.length,
    longTaskMs: tasks.reduce((sum, t) => sum + t.ms, 0),
    seconds,
    samples: samples.length,
    idle: (self.get("(idle)") ?? 0) / total,
    busySeconds: runs.reduce((sum, r) => sum + r.ms, 0) / 1000,
    top: [...inclusive.entries()]
      .filter(([name]) => name !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, inclusive: n / total, self: (self.get(name) ?? 0) / total })),
  };
}

/**
 * Consecutive samples that are not idle, with their wall time: each sample's delta counts towards
 * the run it ends, unless it is longer than `gapUs` (time the isolate ran nothing): then the
 * sample starts a new run.
 */
function busyRuns(samples: number[], timeDeltas: number[], idle: (id: number) => boolean, gapUs: number): { ms: number; samples: number[] }[] {
  const runs: { ms: number; samples: number[] }[] = [];
  let current: { ms: number; samples: number[] } | null = null;
  samples.forEach((id, i) => {
    const delta = timeDeltas[i] ?? 0;
    if (idle(id)) {
      current = null;
      return;
    }
    if (!current || delta > gapUs) {
      current = { ms: 0, samples: [] };
      runs.push(current);
    } else current.ms += delta / 1000;
    current.samples.push(id);
  });
  return runs;
}

/**
 * The isolates of the stack's workerd that the load bench profiles at once: the Worker's own
 * (the Worker, its Durable Objects and handlers), and Miniflare's which share its thread — the
 * static assets' router every request passes first, D1, R2 and the queue broker. One of them
 * busy is every request's wait. (Miniflare's entry Worker, `core:entry`, no longer sees the
 * stack's requests: scripts/worker-host.ts serves them on the Worker's direct socket.)
 */
export const STACK_ISOLATES = ["core:user:adreel", "assets:router:adreel", "d1:db", "r2:bucket", "queues:queue"] as const;

export interface IsolateProfile {
  isolate: string;
  profile: WorkerProfile | string;
}

/** The profiles as a paragraph of a results section; `afterSeconds`: when into the load they were taken. */
export function profileParagraph(profiles: IsolateProfile[], afterSeconds: number): string {
  const taken = profiles.filter((p): p is { isolate: string; profile: WorkerProfile } => typeof p.profile !== "string");
  const failed = profiles.filter((p) => typeof p.profile === "string").map((p) => `\`${p.isolate}\`: ${p.profile}`);
  if (taken.length === 0) return `The stack's isolates could not be profiled: ${failed.join("; ") || "none was asked"}.`;
  const first = taken[0]!.profile;
  const overview = table(
    ["isolate", "samples", "ran s", `busy runs ≥ ${first.longTaskThresholdMs} ms: count, s in all`, "longest ms", "its functions"],
    taken.map(({ isolate, profile }) => [`\`${isolate}\``, profile.samples, profile.busySeconds.toFixed(1), `${profile.longTaskCount}, ${(profile.longTaskMs / 1000).toFixed(1)}`, profile.longTasks[0]?.ms.toFixed(0) ?? "–", profile.longTasks[0]?.functions.map((f) => `\`${f}\``).join(", ") ?? ""]),
  );
  const detail = taken
    .filter(({ profile }) => profile.longTasks.length || profile.top.length)
    .map(({ isolate, profile }) => {
      const long = profile.longTasks.length ? `\n\nIts longest busy runs:\n\n${table(["ms", "functions"], profile.longTasks.slice(0, 5).map((t) => [t.ms.toFixed(0), t.functions.map((f) => `\`${f}\``).join(", ")]))}` : "";
      return `\`${isolate}\`, the functions on the stack most often (inclusive, self; idle ${(100 * profile.idle).toFixed(0)} % of its samples):\n\n${table(["function", "inclusive", "self"], profile.top.slice(0, 10).map((e) => [`\`${e.name}\``, `${(100 * e.inclusive).toFixed(1)} %`, `${(100 * e.self).toFixed(1)} %`]))}${long}`;
    })
    .join("\n\n");
  return `The stack's workerd isolates, CPU-profiled at once over its inspector from ${afterSeconds} s into the load for ${first.seconds} s (worker-profile.ts \`STACK_ISOLATES\`; they share workerd's one thread, so any one's busy run is every request's wait). "Ran" is the time before each sample that was not idle (deltas within ${GAP_INTERVALS} sampling intervals: workerd samples an isolate only while it runs); a busy run has no idle sample and no longer gap within (wall time, so a wait for a core inside one counts)${failed.length ? `; not profiled: ${failed.join("; ")}` : ""}:

${overview}

${detail}`;
}
