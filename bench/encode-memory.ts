/**
 * Each kind of media-node child process alone, by its own accounting:
 * `tsx bench/encode-memory.ts [--n 3] [--duration 15]`.
 *
 * The load bench (load.ts) samples the whole tree every 200 ms: it sees which runs overlap at the
 * peak, but a run's own peak falls between samples. Here media-node runs with a PATH in which
 * ffmpeg and ffprobe are wrappers that run the real tool under `/usr/bin/time` and keep its
 * arguments, so every child's maximum RSS and CPU seconds are the kernel's (getrusage), named by
 * the route it works for (media-runs.ts). The workload: `--n` draft ads submitted at once to
 * one stack (each route's runs then overlap as they do under load, which changes their wall time
 * but not their memory). Prints a table per route (`--runs-out <file>`: every run as JSON, its
 * arguments included); writes nothing to docs/.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { AdreelClient } from "../cli/client.ts";
import { createDevKey } from "../scripts/stack.ts";
import { isMain, numberFlag, sourceSnapshot, withStack } from "./bench-stack.ts";
import { loadAverage } from "./machine.ts";
import { mediaRunOf } from "./media-runs.ts";
import { CLOCK_TICKS, processTree, TreeSampler } from "./process-tree.ts";
import { table } from "./results-doc.ts";
import { median } from "./stats.ts";

export interface ToolRun {
  route: string;
  argv: string[];
  maxRssKiB: number;
  cpuSeconds: number;
  wallSeconds: number;
}

/** A wrapper script for `tool` that records each run's arguments and its /usr/bin/time line in `logDir`. */
function wrapper(tool: string, real: string, logDir: string): string {
  return `#!/bin/sh
out=$(mktemp ${logDir}/${tool}-XXXXXXXX)
printf '%s\\0' "$@" > "$out.argv"
exec /usr/bin/time -f 'rusage %M %U %S %e' -o "$out.time" ${real} "$@"
`;
}

/** The runs recorded in `logDir`: `.argv` (NUL-separated) beside `.time` (`rusage maxKiB user sys wall`). */
export function readRuns(logDir: string): ToolRun[] {
  const runs: ToolRun[] = [];
  for (const name of readdirSync(logDir)) {
    if (!name.endsWith(".argv")) continue;
    const base = name.slice(0, -".argv".length);
    let time: string;
    try {
      time = readFileSync(join(logDir, `${base}.time`), "utf8");
    } catch {
      continue; // killed before /usr/bin/time wrote its line
    }
    const line = time.match(/^rusage (\d+) ([\d.]+) ([\d.]+) ([\d.]+)$/m);
    if (!line) continue;
    const argv = readFileSync(join(logDir, name), "utf8").split("\0").slice(0, -1);
    const tool = base.split("-")[0]!;
    runs.push({ route: mediaRunOf(tool, [tool, ...argv]), argv, maxRssKiB: Number(line[1]), cpuSeconds: Number(line[2]) + Number(line[3]), wallSeconds: Number(line[4]) });
  }
  return runs;
}

export function routeTable(runs: readonly ToolRun[]): string {
  const routes = [...new Set(runs.map((r) => r.route))].sort();
  const rows = routes.map((route) => {
    const of = runs.filter((r) => r.route === route);
    const rss = of.map((r) => r.maxRssKiB / 1024);
    const cpu = of.map((r) => r.cpuSeconds);
    return [route, of.length, Math.max(...rss).toFixed(0), median(rss).toFixed(0), median(cpu).toFixed(2), cpu.reduce((a, b) => a + b, 0).toFixed(1), median(of.map((r) => r.wallSeconds)).toFixed(2)];
  });
  return table(["route", "runs", "max RSS MiB, max", "max RSS MiB, median", "CPU s, median", "CPU s, total", "wall s, median"], rows);
}

if (isMain(import.meta.url)) {
  const n = numberFlag("n", 3);
  const duration = numberFlag("duration", 15) as 15 | 30 | 60;
  const bin = mkdtempSync(join(tmpdir(), "adreel-encode-memory-"));
  const logDir = join(bin, "runs");
  execFileSync("mkdir", ["-p", logDir]);
  for (const tool of ["ffmpeg", "ffprobe"]) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    writeFileSync(join(bin, tool), wrapper(tool, real, logDir));
    chmodSync(join(bin, tool), 0o755);
  }
  try {
    // `--media-env NAME=VALUE,…`: more of media-node's environment, to compare a setting in the same bench.
    const envFlag = process.argv.indexOf("--media-env");
    const mediaEnv = Object.fromEntries((envFlag > 0 ? process.argv[envFlag + 1]!.split(",") : []).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
    let serverPeakMib = 0;
    let serverCpuSeconds = 0;
    await withStack({ mediaEnv: { PATH: `${bin}:${process.env.PATH}`, ...mediaEnv }, stateInMemory: true }, async ({ stack }) => {
      // The server process alone (tsx's launcher is the tree's root; the wrappers' children are not the server).
      const sampler = new TreeSampler([{ name: "server", root: stack.pids().media!, select: (s, tree) => s !== tree[0] && s.comm.startsWith("node") && s.ppid === tree[0]!.pid }]).start();
      const videos = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const client = new AdreelClient(stack.workerUrl, await createDevKey(stack, `encode-memory-${i + 1}`));
          const { video_id } = await client.generate({ prompt: `A new citrus sparkling water for beach volleyball players (video ${i + 1})`, duration_s: duration });
          return client.watch(video_id, () => undefined, 15 * 60_000);
        }),
      );
      sampler.stop();
      // Its own CPU (its children's is theirs, counted above).
      const server = processTree(stack.pids().media!).find((s, _, tree) => s !== tree[0] && s.comm.startsWith("node") && s.ppid === tree[0]!.pid);
      serverCpuSeconds = server ? (server.utime + server.stime) / CLOCK_TICKS : Number.NaN;
      serverPeakMib = (sampler.usage().server?.peakRssBytes ?? 0) / 2 ** 20;
      const failed = videos.filter((v) => v.status !== "complete");
      if (failed.length) throw new Error(`${failed.length} video(s) did not complete: ${failed.map((v) => v.error).join("; ")}`);
    });
    const runs = readRuns(logDir);
    console.log(`${n} draft ads of ${duration} s at once, code ${sourceSnapshot().revision}, load average at the end ${loadAverage()}; ${runs.length} runs of ffmpeg/ffprobe; the server process's peak RSS ${serverPeakMib.toFixed(0)} MiB (sampled every 200 ms), its own CPU ${serverCpuSeconds.toFixed(1)} s${envFlag > 0 ? ` with ${process.argv[envFlag + 1]}` : ""}:\n`);
    console.log(routeTable(runs));
    // Every run with its arguments, for reading what the largest ones were made of.
    const out = process.argv.indexOf("--runs-out");
    if (out > 0) writeFileSync(process.argv[out + 1]!, JSON.stringify(runs, null, 1));
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}
