import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLOCK_TICKS, highestSamples, parseStat, peaksByName, type ProcessShare, processTree, readCmdline, readStat, schedNanoseconds, sharesOf, threadSchedNanoseconds, TreeSampler } from "./process-tree.ts";

describe("parseStat", () => {
  it("reads fields after a command name holding spaces and parentheses", () => {
    const fields = ["S", "77", ...Array.from({ length: 9 }, () => "0"), "120", "30", "500", "40", ...Array.from({ length: 6 }, () => "0"), "2560", "0"];
    const stat = parseStat(`4242 (tsx (watch) x) ${fields.join(" ")}`);
    expect(stat).toEqual({ pid: 4242, comm: "tsx (watch) x", ppid: 77, utime: 120, stime: 30, cutime: 500, cstime: 40, rssPages: 2560 });
  });

  it("refuses a line that is not a stat line", () => {
    expect(() => parseStat("garbage")).toThrow(/not a \/proc stat line/);
  });
});

describe("sharesOf", () => {
  it("sums a sample's memory by command name, largest first", () => {
    const at = (pid: number, comm: string, rssPages: number) => ({ pid, comm, ppid: 1, utime: 0, stime: 0, cutime: 0, cstime: 0, rssPages });
    const shares = sharesOf([at(2, "ffmpeg", 100), at(3, "node", 150), at(4, "ffmpeg", 120)]);
    expect(shares.map((s) => [s.name, s.processes])).toEqual([["ffmpeg", 2], ["node", 1]]);
    expect(shares[0]!.rssBytes / shares[1]!.rssBytes).toBeCloseTo(220 / 150);
    expect(shares[0]!.maxProcessRssBytes / shares[1]!.rssBytes).toBeCloseTo(120 / 150);
  });

  it("names processes by a given function", () => {
    const at = (pid: number, comm: string, rssPages: number) => ({ pid, comm, ppid: 1, utime: 0, stime: 0, cutime: 0, cstime: 0, rssPages });
    const shares = sharesOf([at(2, "ffmpeg", 100), at(3, "node", 150), at(4, "ffmpeg", 120)], (s) => (s.pid === 4 ? "encode" : "other"));
    expect(shares.map((s) => [s.name, s.processes])).toEqual([["other", 2], ["encode", 1]]);
  });
});

describe("highestSamples and peaksByName", () => {
  const share = (name: string, rssBytes: number, processes = 1): ProcessShare => ({ name, processes, rssBytes, maxProcessRssBytes: rssBytes / processes });
  it("keeps the highest samples, one per burst", () => {
    const samples = [{ at: 0, rss: 5 }, { at: 200, rss: 9 }, { at: 400, rss: 8 }, { at: 3000, rss: 7 }, { at: 5000, rss: 1 }];
    expect(highestSamples(samples, 3, 1000).map((s) => s.rss)).toEqual([9, 7, 1]);
    expect(highestSamples(samples, 2, 0).map((s) => s.rss)).toEqual([9, 8]);
  });

  it("takes each name's most at one sample, summed and by one process", () => {
    const peaks = peaksByName([[share("normalize", 300, 2), share("server", 200)], [share("normalize", 160), share("server", 250)], [share("server", 100)]]);
    expect(peaks).toEqual([
      { name: "normalize", rssBytes: 300, processRssBytes: 160, samples: 2 },
      { name: "server", rssBytes: 250, processRssBytes: 250, samples: 3 },
    ].sort((a, b) => b.rssBytes - a.rssBytes));
  });
});

describe("a real process tree", () => {
  it("finds a spawned child under its parent and samples its memory and CPU", async () => {
    // A shell that spawns a busy child: the tree is sh → sh(busy loop).
    const parent = spawn("sh", ["-c", "sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done' & wait"], { stdio: "ignore" });
    try {
      // Run-queue time only of the long-lived root: a reaped child's threads take theirs with them.
      const sampler = new TreeSampler([{ name: "t", root: parent.pid!, breakdown: true }, { name: "root", root: parent.pid!, select: (s, tree) => s === tree[0], schedstat: true }], 50).start();
      let tree = processTree(parent.pid!);
      for (let i = 0; i < 40 && tree.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 25));
        tree = processTree(parent.pid!);
      }
      expect(tree[0]!.pid).toBe(parent.pid);
      expect(readCmdline(parent.pid!).slice(0, 2)).toEqual(["sh", "-c"]);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      expect(tree.slice(1).every((s) => s.ppid === parent.pid)).toBe(true);
      await new Promise((resolveExit) => parent.once("exit", resolveExit));
      sampler.stop();
      const usage = sampler.usage().t!;
      expect(usage.peakRssBytes).toBeGreaterThan(0);
      expect(usage.peakProcesses).toBeGreaterThanOrEqual(2);
      // The peak sample's processes, by name, add up to the peak.
      expect(usage.atPeak!.reduce((sum, s) => sum + s.rssBytes, 0)).toBe(usage.peakRssBytes);
      expect(usage.atPeak!.map((s) => s.name)).toContain("sh");
      expect(usage.topSamples![0]!.rssBytes).toBe(usage.peakRssBytes);
      expect(usage.peakByName!.find((p) => p.name === "sh")!.rssBytes).toBeGreaterThan(0);
      // The busy child burned CPU: the sum only grows, including after the child was reaped.
      expect(usage.cpuSeconds).toBeGreaterThanOrEqual(1 / CLOCK_TICKS);
      expect(usage.runSeconds).toBeNull();
      const root = sampler.usage().root!;
      expect(root.runSeconds).toBeGreaterThanOrEqual(0);
      expect(root.runqueueWaitSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      parent.kill("SIGKILL");
    }
    expect(readStat(999_999_999)).toBeNull();
    expect(readCmdline(999_999_999)).toEqual([]);

    expect(schedNanoseconds(999_999_999)).toEqual({ runNs: 0, waitNs: 0 });
    // This process has run: its threads' time on a CPU is counted.
    expect(schedNanoseconds(process.pid).runNs).toBeGreaterThan(0);
    // Its main thread alone: some of that, not all (V8's helper threads run too).
    const main = threadSchedNanoseconds(process.pid, process.pid);
    expect(main.runNs).toBeGreaterThan(0);
    expect(main.runNs).toBeLessThanOrEqual(schedNanoseconds(process.pid).runNs);
    expect(threadSchedNanoseconds(999_999_999, 999_999_999)).toEqual({ runNs: 0, waitNs: 0 });
  }, 30_000);
});
