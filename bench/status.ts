/**
 * Status endpoint latency against a bare route of the same Worker:
 * `tsx bench/status.ts [--requests 500] [--ref main]` (with `--ref`, the same rounds first on that git ref's code, on a fresh stack of its own).
 *
 * `GET /health` (no auth, no storage) against `GET /api/status/{id}` (API key lookup in D1,
 * then the video's Durable Object), sequential requests, the two interleaved so both see the
 * same machine; once idle and once while two 30 s draft ads are generating.
 */
import type { AdreelClient } from "../cli/client.ts";
import type { Stack } from "../scripts/stack.ts";
import { BENCH_LIMITS, isMain, numberFlag, refSnapshot, snapshotNote, withStack } from "./bench-stack.ts";
import { processTree, schedNanoseconds } from "./process-tree.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { table, writeSection } from "./results-doc.ts";
import { type LatencySummary, summarize } from "./stats.ts";

export const SECTION = "## Status endpoint latency (bench/status.ts)";

const WARMUP = 50;

async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return ms;
}

interface Pairs {
  health: number[];
  status: number[];
  /** CPU the Worker's workerd (isolate, D1, R2, queues) spent on each route's requests, summed (ns). */
  cpu: Record<"health" | "status", number>;
}

/** The Worker's workerd processes (one: scripts/worker-host.ts). */
function workerdOf(stack: Stack): number[] {
  return processTree(stack.pids().worker ?? -1)
    .filter((s) => s.comm.startsWith("workerd"))
    .map((s) => s.pid);
}

const onCpuNs = (pids: number[]) => pids.reduce((sum, pid) => sum + schedNanoseconds(pid).runNs, 0);

/**
 * `count` rounds of one /health and one status request, alternating which goes first; stops
 * early when `until()` says so. Sequential, so the workerd CPU read around a request (its
 * threads' on-core time, /proc schedstat) is that request's, plus whatever else the stack did
 * meanwhile: measured idle, that is nothing.
 */
async function interleaved(client: AdreelClient, workerd: ReturnType<typeof workerdOf>, videoId: string, count: number, until: () => boolean = () => false): Promise<Pairs> {
  const pairs: Pairs = { health: [], status: [], cpu: { health: 0, status: 0 } };
  const auth = { authorization: `Bearer ${client.apiKey}` };
  const measured = async (route: "health" | "status", url: string, headers: Record<string, string>) => {
    const before = onCpuNs(workerd);
    pairs[route].push(await timed(url, headers));
    pairs.cpu[route] += onCpuNs(workerd) - before;
  };
  const health = () => measured("health", `${client.baseUrl}/health`, {});
  const status = () => measured("status", `${client.baseUrl}/api/status/${videoId}`, auth);
  for (let i = 0; i < count && !until(); i++) {
    if (i % 2 === 0) {
      await health();
      await status();
    } else {
      await status();
      await health();
    }
  }
  return pairs;
}

/** Both rounds (idle, then two ads generating) on a fresh stack of the code at `root` (default: this working tree). */
function measure(requests: number, root?: string): Promise<{ idle: Pairs; loaded: Pairs }> {
  return withStack({ stateInMemory: true, root }, async ({ stack, client }) => {
    const workerd = workerdOf(stack);
    // A finished video to ask about while idle (it also warms every code path once).
    const first = await client.generate({ prompt: "A cosy neighbourhood bakery launches a sourdough subscription", duration_s: 15 });
    const done = await client.watch(first.video_id, () => {}, 10 * 60_000);
    if (done.status !== "complete") throw new Error(`warm-up video ended ${done.status}: ${done.error}`);
    await interleaved(client, workerd, first.video_id, WARMUP);
    const idle = await interleaved(client, workerd, first.video_id, requests);

    // Under load: two ads generating; measure until the requests are done or both videos end.
    const busy = await Promise.all([
      client.generate({ prompt: "Handmade leather boots for city hikers", duration_s: 30 }),
      client.generate({ prompt: "A calm meditation app for night-shift nurses", duration_s: 30, aspect_ratio: "9:16" }),
    ]);
    let finished = 0;
    const watching = Promise.all(busy.map((b) => client.watch(b.video_id, () => {}, 15 * 60_000).finally(() => finished++)));
    const loaded = await interleaved(client, workerd, busy[0]!.video_id, requests, () => finished === busy.length);
    const ends = await watching;
    const failed = ends.filter((e) => e.status !== "complete");
    if (failed.length) throw new Error(`videos generating during the measurement ended ${failed.map((f) => `${f.status}: ${f.error}`).join("; ")}`);
    return { idle, loaded };
  });
}

/** Per route, idle: µs of the Worker's workerd per request. */
function cpuPerRequest(pairs: Pairs, route: "health" | "status"): { worker: number; n: number } {
  const n = Math.max(1, pairs[route].length);
  return { worker: pairs.cpu[route] / n / 1000, n: pairs[route].length };
}

export async function statusBench(options: { requests: number; ref: string | null }): Promise<string> {
  const loadBefore = loadAverage();
  const base = options.ref ? refSnapshot(options.ref) : null;
  // The ref first, then this code, one after the other on the same machine.
  const baseResult = base ? await measure(options.requests, base.root) : null;
  const result = await measure(options.requests);

  const rows: (string | number)[][] = [];
  const ratios: (string | number)[][] = [];
  const fmt = (s: LatencySummary) => [s.p50.toFixed(2), s.p95.toFixed(2), s.p99.toFixed(2), s.max.toFixed(1)];
  for (const [name, pairs] of [
    ["idle", result.idle],
    ["2 × 30 s ads generating", result.loaded],
  ] as const) {
    const h = summarize(pairs.health);
    const s = summarize(pairs.status);
    rows.push([name, "`GET /health`", h.count, ...fmt(h)]);
    rows.push([name, "`GET /api/status/{id}`", s.count, ...fmt(s)]);
    ratios.push([name, (s.p50 / h.p50).toFixed(2), (s.p95 / h.p95).toFixed(2), (s.p99 / h.p99).toFixed(2)]);
  }
  const routeName = (route: "health" | "status") => `\`${route === "health" ? "GET /health" : "GET /api/status/{id}"}\``;
  const perRequest = (route: "health" | "status") => {
    const cpu = cpuPerRequest(result.idle, route);
    return [routeName(route), cpu.n, cpu.worker.toFixed(0)];
  };
  const against = (code: string, r: { idle: Pairs; loaded: Pairs }) =>
    (["health", "status"] as const).map((route) => {
      const idle = summarize(r.idle[route]);
      const loaded = summarize(r.loaded[route]);
      const cpu = cpuPerRequest(r.idle, route);
      return [code, routeName(route), `${idle.p50.toFixed(2)} / ${idle.p99.toFixed(2)}`, `${loaded.p50.toFixed(2)} / ${loaded.p99.toFixed(2)}`, cpu.worker.toFixed(0)];
    });
  const comparison =
    base && baseResult
      ? `\nThe same rounds on ${base.revision} (\`--ref ${options.ref}\`), a fresh stack of its own, run first:\n\n${table(["code", "route", "idle p50 / p99 ms", "2 ads generating p50 / p99 ms", "Worker's workerd µs / request, idle"], [...against(base.revision, baseResult), ...against("this code", result)])}\n`
      : "";
  const idleStatus = summarize(result.idle.status);
  const loadedStatus = summarize(result.loaded.status);
  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: after ${WARMUP} warm-up rounds, up to ${options.requests} rounds of one \`GET /health\` and one \`GET /api/status/{id}\` (sequential, one connection pool, alternating which goes first), from this process to the stack's Worker on 127.0.0.1 (scripts/worker-host.ts: Miniflare's workerd, no request proxy in front of it as \`wrangler dev\` had until 898fd34; the stack's local D1, R2 and Durable Object storage in memory: bench-stack.ts \`MEMORY_DIR\`). \`/health\` runs the Worker's config middleware and answers; status also authenticates the API key (D1) and reads the video's Durable Object. The API limits are raised so the benchmark is not refused (${Object.entries(BENCH_LIMITS).map(([k, v]) => `${k}=${v}`).join(", ")}); the per-key limiter still runs on every status request, and its sliding window then holds every request of the last minute. Idle: a finished video, nothing else running in the stack. Under load: two 30 s draft ads generating (16:9 and 9:16); the rounds stop when both have finished, so that row may hold fewer.

${table(["when", "route", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)}

| when | status / health p50 | p95 | p99 |
| --- | --- | --- | --- |
${ratios.map((r) => `| ${r.join(" | ")} |`).join("\n")}

CPU per request, idle (the requests above; on-core time of workerd's threads, /proc schedstat, over the requests / their count):

${table(["route", "requests", "Worker's workerd µs / request"], [perRequest("health"), perRequest("status")])}

- Status under load / idle: p50 ${(loadedStatus.p50 / idleStatus.p50).toFixed(2)}×, p99 ${(loadedStatus.p99 / idleStatus.p99).toFixed(2)}×.
${comparison}`;
}

if (isMain(import.meta.url)) {
  const refFlag = process.argv.indexOf("--ref");
  const section = await statusBench({ requests: numberFlag("requests", 500), ref: refFlag > 0 ? process.argv[refFlag + 1]! : null });
  console.log(section);
  writeSection(SECTION, section);
}
