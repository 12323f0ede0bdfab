import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Memory and CPU of a server and everything it spawned, read from /proc: media-node forks
 * one ffmpeg per step, and wrangler runs workerd as a child, so the process alone says little.
 */

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** Clock ticks: own user + system time, and that of children it has reaped (waited for). */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  rssPages: number;
}

/** Parse `/proc/<pid>/stat` (comm may hold spaces and parentheses: it ends at the last ")"). */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // Fields after comm, counted from 3 in proc(5): state=3, ppid=4, utime=14, stime=15, cutime=16, cstime=17, rss=24.
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    rssPages: field(24),
  };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null; // gone
  }
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** `root` and all its live descendants. */
export function processTree(root: number, stats = allStats()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const top = stats.find((s) => s.pid === root);
  if (!top) return [];
  const tree: ProcStat[] = [];
  const stack = [top];
  while (stack.length) {
    const s = stack.pop()!;
    tree.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return tree;
}

const PAGE_BYTES = (() => {
  try {
    return Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) || 4096;
  } catch {
    return 4096;
  }
})();

export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Nanoseconds the threads of `pid` have spent on a CPU and waiting for one on a run queue
 * (`/proc/<pid>/task/<tid>/schedstat`, fields 1 and 2; live threads only). The wait is how
 * long work was ready but the cores were busy with something else: CPU starvation, as distinct
 * from waiting on I/O or on another server.
 */
export function schedNanoseconds(pid: number): { runNs: number; waitNs: number } {
  let runNs = 0;
  let waitNs = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { runNs, waitNs }; // gone
  }
  for (const tid of tids) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
      runNs += run ?? 0;
      waitNs += wait ?? 0;
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return { runNs, waitNs };
}

export function rssBytes(stats: readonly ProcStat[]): number {
  return stats.reduce((sum, s) => sum + s.rssPages * PAGE_BYTES, 0);
}

/**
 * CPU ticks the tree has used so far: every live process's own time plus the time of the
 * children it has reaped. A child that exits moves its ticks into its parent's cutime, so the
 * sum only grows and its deltas over an interval are the tree's CPU use in that interval.
 */
export function cpuTicks(stats: readonly ProcStat[]): number {
  return stats.reduce((sum, s) => sum + s.utime + s.stime + s.cutime + s.cstime, 0);
}

export interface TreeUsage {
  samples: number;
  /** Highest sum of RSS over the selected processes at one sample. */
  peakRssBytes: number;
  meanRssBytes: number;
  /** Most selected processes alive at one sample. */
  peakProcesses: number;
  cpuSeconds: number;
  wallSeconds: number;
  /**
   * Seconds the selected processes' threads were ready to run but waited for a core, and ran,
   * over the window (threads alive at both ends' samples; `schedNanoseconds`). Only for watches
   * with `schedstat`.
   */
  runqueueWaitSeconds: number | null;
  runSeconds: number | null;
  /** The processes of the peak sample by command name (watches with `breakdown`). */
  atPeak: ProcessShare[] | null;
}

export interface TreeWatch {
  name: string;
  root: number;
  /** Which processes of the tree count for RSS (default: all). CPU always counts the whole tree. */
  select?: (stat: ProcStat, tree: ProcStat[]) => boolean;
  /** Which selected processes `peakProcesses` counts (default: all selected). */
  count?: (stat: ProcStat) => boolean;
  /** Also sum the selected processes' run-queue wait (a long-lived server: reaped children's threads are lost). */
  schedstat?: boolean;
  /** Keep which processes made up the peak sample (`TreeUsage.atPeak`). */
  breakdown?: boolean;
}

/** The selected processes of one command name at one sample. */
export interface ProcessShare {
  comm: string;
  processes: number;
  rssBytes: number;
}

interface Sample {
  /** Date.now(), the clock the Worker's event timestamps use. */
  at: number;
  rss: number;
  count: number;
  ticks: number;
  /** Cumulative run-queue wait and run time of the selected processes (ns), when asked for. */
  waitNs?: number;
  runNs?: number;
  /** By command name, largest first, when asked for. */
  shares?: ProcessShare[];
}

/** What the processes of a sample hold, by command name, largest first. */
export function sharesOf(stats: readonly ProcStat[]): ProcessShare[] {
  const byComm = new Map<string, ProcessShare>();
  for (const s of stats) {
    const share = byComm.get(s.comm) ?? { comm: s.comm, processes: 0, rssBytes: 0 };
    share.processes++;
    share.rssBytes += rssBytes([s]);
    byComm.set(s.comm, share);
  }
  return [...byComm.values()].sort((a, b) => b.rssBytes - a.rssBytes);
}

/** Samples each watched tree every `intervalMs` until `stop()`; usage over any window of that time. */
export class TreeSampler {
  private timer: NodeJS.Timeout | null = null;
  private readonly series = new Map<string, Sample[]>();

  constructor(
    private readonly watches: TreeWatch[],
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  private sample(): void {
    const stats = allStats();
    const at = Date.now();
    for (const watch of this.watches) {
      const tree = processTree(watch.root, stats);
      if (tree.length === 0) continue;
      const counted = watch.select ? tree.filter((s) => watch.select!(s, tree)) : tree;
      const samples = this.series.get(watch.name) ?? [];
      // A tree's tick sum never really falls; a dip is a child reaped between two reads.
      const sched = watch.schedstat ? counted.map((s) => schedNanoseconds(s.pid)) : [];
      samples.push({
        at,
        rss: rssBytes(counted),
        count: watch.count ? counted.filter(watch.count).length : counted.length,
        ticks: Math.max(cpuTicks(tree), samples.at(-1)?.ticks ?? 0),
        ...(watch.schedstat ? { waitNs: sched.reduce((sum, t) => sum + t.waitNs, 0), runNs: sched.reduce((sum, t) => sum + t.runNs, 0) } : {}),
        ...(watch.breakdown ? { shares: sharesOf(counted) } : {}),
      });
      this.series.set(watch.name, samples);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /** Usage of each watched tree between two instants (default: the whole sampling). */
  usage(from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): Record<string, TreeUsage> {
    const result: Record<string, TreeUsage> = {};
    for (const [name, samples] of this.series) {
      const inside = samples.filter((s) => s.at >= from && s.at <= to);
      if (inside.length === 0) continue;
      const first = inside[0]!;
      const last = inside.at(-1)!;
      const peak = inside.reduce((most, s) => (s.rss > most.rss ? s : most));
      result[name] = {
        samples: inside.length,
        peakRssBytes: peak.rss,
        atPeak: peak.shares ?? null,
        meanRssBytes: inside.reduce((sum, s) => sum + s.rss, 0) / inside.length,
        peakProcesses: Math.max(...inside.map((s) => s.count)),
        cpuSeconds: (last.ticks - first.ticks) / CLOCK_TICKS,
        wallSeconds: (last.at - first.at) / 1000,
        runqueueWaitSeconds: first.waitNs === undefined || last.waitNs === undefined ? null : (last.waitNs - first.waitNs) / 1e9,
        runSeconds: first.runNs === undefined || last.runNs === undefined ? null : (last.runNs - first.runNs) / 1e9,
      };
    }
    return result;
  }
}
