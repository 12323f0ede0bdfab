/**
 * `npm run bench`: every benchmark in turn, each in its own process (`tsx bench/<name>.ts`),
 * so one that fails or hangs cannot take the others with it. Each prints its table and
 * rewrites its own section of docs/BENCHMARKS.md. `--only pipeline,load` runs a subset.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../scripts/stack.ts";
import { loadAverage } from "./machine.ts";

const NODE = join(ROOT, "node_modules", ".bin", "node");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

interface Benchmark {
  name: string;
  script: string;
  args: string[];
  timeoutMin: number;
}

const BENCHMARKS: Benchmark[] = [
  { name: "pipeline", script: "bench/pipeline.ts", args: [], timeoutMin: 25 },
  { name: "assembly", script: "bench/assembly.ts", args: [], timeoutMin: 25 },
  { name: "chunks", script: "bench/chunks.ts", args: [], timeoutMin: 25 },
  { name: "demo", script: "bench/demo.ts", args: [], timeoutMin: 10 },
  { name: "status", script: "bench/status.ts", args: [], timeoutMin: 20 },
  { name: "load", script: "bench/load.ts", args: [], timeoutMin: 50 },
  { name: "stitch", script: "bench/stitch.ts", args: [], timeoutMin: 30 },
  { name: "frame-rate", script: "bench/frame-rate.ts", args: [], timeoutMin: 15 },
  { name: "seams", script: "bench/seams.ts", args: [], timeoutMin: 20 },
];

function runOne(bench: Benchmark): Promise<{ code: number | null; seconds: number }> {
  const t0 = performance.now();
  console.error(`\n=== ${bench.name}: tsx ${[bench.script, ...bench.args].join(" ")} (load ${loadAverage()})`);
  const child = spawn(NODE, [TSX, bench.script, ...bench.args], { cwd: ROOT, stdio: "inherit", env: { ...process.env, ADREEL_BENCH_VIA: "npm run bench" } });
  return new Promise((resolveRun) => {
    let killer: NodeJS.Timeout | null = null;
    // SIGTERM first: the benchmark then stops its servers itself; SIGKILL only if it does not exit.
    const timer = setTimeout(() => {
      console.error(`${bench.name} exceeded ${bench.timeoutMin} min: stopping it`);
      child.kill("SIGTERM");
      killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    }, bench.timeoutMin * 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      resolveRun({ code, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1]?.split(",")) : null;
const selected = BENCHMARKS.filter((b) => !only || only.has(b.name));
if (only && selected.length !== only.size) throw new Error(`--only: unknown benchmark among ${[...only].join(", ")} (have ${BENCHMARKS.map((b) => b.name).join(", ")})`);

const results: { name: string; code: number | null; seconds: number }[] = [];
for (const bench of selected) results.push({ name: bench.name, ...(await runOne(bench)) });

console.error("\n=== summary");
for (const r of results) console.error(`${r.name.padEnd(9)} ${r.code === 0 ? "ok    " : `FAILED (exit ${r.code})`} ${r.seconds.toFixed(0)} s`);
console.error("results: docs/BENCHMARKS.md");
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
