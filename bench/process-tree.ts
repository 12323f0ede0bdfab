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

/** The argument vector of `pid` (`/proc/<pid>/cmdline`); empty when it is gone or a kernel thread. */
export function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((arg, i, all) => arg !== "" || i < all.length - 1);
  } catch {
    return [];
  }
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
    const thread = threadSchedNanoseconds(pid, Number(tid));
    runNs += thread.runNs;
    waitNs += thread.waitNs;
  }
  return { runNs, waitNs };
}

/** One thread's (the main thread's: `tid` = `pid`) time on a core and ready but waiting for one, ns so far; zeros once it has exited. */
export function threadSchedNanoseconds(pid: number, tid: number): { runNs: number; waitNs: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
    return { runNs: run ?? 0, waitNs: wait ?? 0 };
  } catch {
    return { runNs: 0, waitNs: 0 };
  }
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
  /** The processes of the peak sample by name (watches with `breakdown`). */
  atPeak: ProcessShare[] | null;
  /** The highest samples, highest first, each with its processes by name (watches with `breakdown`; `TOP_SAMPLES` of them, at least a second apart). */
  topSamples: { at: number; rssBytes: number; shares: ProcessShare[] }[] | null;
  /** Per name, the most its processes held together at one sample and the most one of them held (watches with `breakdown`), largest first. */
  peakByName: NamePeak[] | null;
}

/** How many of the highest samples `TreeUsage.topSamples` keeps. */
export const TOP_SAMPLES = 5;

export interface NamePeak {
  name: string;
  /** Most RSS of this name's processes summed at one sample. */
  rssBytes: number;
  /** Most RSS of one process of this name at one sample. */
  processRssBytes: number;
  /** Samples in which a process of this name was alive. */
  samples: number;
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
  /**
   * Keep which processes made up each sample (`TreeUsage.atPeak`, `topSamples`, `peakByName`),
   * named by command name (`true`) or by this function (e.g. what work a child does, from its
   * command line: `readCmdline`).
   */
  breakdown?: boolean | ((stat: ProcStat) => string);
}

/** The selected processes of one name at one sample. */
export interface ProcessShare {
  name: string;
  processes: number;
  rssBytes: number;
  /** The largest of them. */
  maxProcessRssBytes: number;
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

/** What the processes of a sample hold, by name (default: command name), largest first. */
export function sharesOf(stats: readonly ProcStat[], nameOf: (stat: ProcStat) => string = (s) => s.comm): ProcessShare[] {
  const byName = new Map<string, ProcessShare>();
  for (const s of stats) {
    const name = nameOf(s);
    const share = byName.get(name) ?? { name, processes: 0, rssBytes: 0, maxProcessRssBytes: 0 };
    const bytes = rssBytes([s]);
    share.processes++;
    share.rssBytes += bytes;
    share.maxProcessRssBytes = Math.max(share.maxProcessRssBytes, bytes);
    byName.set(name, share);
  }
  return [...byName.values()].sort((a, b) => b.rssBytes - a.rssBytes);
}

/** The `count` highest samples, highest first, none within `apartMs` of a higher one kept (one burst is one entry). */
export function highestSamples<S extends { at: number; rss: number }>(samples: readonly S[], count: number, apartMs: number): S[] {
  const kept: S[] = [];
  for (const s of [...samples].sort((a, b) => b.rss - a.rss)) {
    if (kept.length >= count) break;
    if (kept.every((k) => Math.abs(k.at - s.at) >= apartMs)) kept.push(s);
  }
  return kept;
}

/** Per name, the most held at one sample, summed and by one process, over all samples, largest first. */
export function peaksByName(samples: readonly (readonly ProcessShare[])[]): NamePeak[] {
  const peaks = new Map<string, NamePeak>();
  for (const shares of samples) {
    for (const share of shares) {
      const peak = peaks.get(share.name) ?? { name: share.name, rssBytes: 0, processRssBytes: 0, samples: 0 };
      peak.rssBytes = Math.max(peak.rssBytes, share.rssBytes);
      peak.processRssBytes = Math.max(peak.processRssBytes, share.maxProcessRssBytes);
      peak.samples++;
      peaks.set(share.name, peak);
    }
  }
  return [...peaks.values()].sort((a, b) => b.rssBytes - a.rssBytes);
}

/** Samples each watched tree every `intervalMs` until `stop()`; usage over any window of that time. */
export class TreeSampler {
  private timer: NodeJS.Timeout | null = null;
  private readonly series = new Map<string, Sample[]>();
  private readonly watches: TreeWatch[];
  private readonly intervalMs: number;

  constructor(
    watches: TreeWatch[],
    intervalMs: number = 200,
  ) {
    this.watches = watches;
    this.intervalMs = intervalMs;
  }

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
        ...(watch.breakdown ? { shares: sharesOf(counted, typeof watch.breakdown === "function" ? watch.breakdown : undefined) } : {}),
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
        topSamples: peak.shares ? highestSamples(inside, TOP_SAMPLES, 1000).map((s) => ({ at: s.at, rssBytes: s.rss, shares: s.shares ?? [] })) : null,
        peakByName: peak.shares ? peaksByName(inside.map((s) => s.shares ?? [])) : null,
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
