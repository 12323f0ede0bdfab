/**
 * Load: N draft ads at once through one local stack:
 * `tsx bench/load.ts [--n 20] [--duration 15] [--poll-hz 5] [--draft-concurrency 2,4] [--timeout-min 30]`.
 *
 * Every video has one WebSocket viewer and one client polling its status at a steady rate,
 * as a dashboard would. Measured: wall time until all are complete, throughput, per-video
 * time, media-node memory (the server plus its ffmpeg children) and CPU, workerd memory and
 * CPU (sampled from /proc every 200 ms), status latency under that load against idle in the
 * same run, live-event delivery lag, and where the time went (phases, the draft provider's
 * queue). Videos that do not complete are reported as such, with their last state. The whole
 * load runs once per draft provider concurrency (the provider's render slots), each on a fresh
 * stack, so the knob's effect is measured in the same run.
 */
import type { Prediction } from "../contracts/prediction.ts";
import { AdreelClient } from "../cli/client.ts";
import { createDevKey, type Stack } from "../scripts/stack.ts";
import { BENCH_LIMITS, draftPredictions, isMain, numberFlag, snapshotNote, withStack } from "./bench-stack.ts";
import { fetchEventLog, jobIntervals, phaseTimeline } from "./event-log.ts";
import { describeMachine, invocation, loadAverage, machineParagraph } from "./machine.ts";
import { type ProcStat, TreeSampler, type TreeUsage } from "./process-tree.ts";
import { LogFollower } from "./queue-log.ts";
import { table, writeSection } from "./results-doc.ts";
import { median, percentile, summarize } from "./stats.ts";

export const SECTION = "## Load: concurrent draft ads (bench/load.ts)";

const PROMPTS = [
  "A new citrus sparkling water for beach volleyball players at sunset",
  "A calm meditation app for night-shift nurses",
  "Handmade leather boots for city hikers",
  "A cosy neighbourhood bakery launches a sourdough subscription",
  "Noise-cancelling headphones for open-plan offices",
  "A family-friendly electric cargo bike for school runs",
  "Plant-based protein bars for early-morning climbers",
  "A budgeting app that helps students split rent fairly",
  "Recycled-wool winter coats for dog walkers",
  "A smart plant pot that waters herbs while you travel",
];

export interface LoadOptions {
  n: number;
  duration: 15 | 30 | 60;
  pollHz: number;
  draftConcurrency: number;
  timeoutMin: number;
}

interface VideoOutcome {
  id: string;
  /** The API key of the video's tenant. */
  key: string;
  submittedAt: number;
  endedAt: number | null;
  status: string;
  phase: string;
  progress: number;
  error: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timedGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  return performance.now() - t0;
}

const timedStatus = (client: AdreelClient, id: string) => timedGet(`${client.baseUrl}/api/status/${id}`, { authorization: `Bearer ${client.apiKey}` });

/** A steady poller: one request every 1/hz s, never more than one in flight (a late answer delays the next). */
async function pollSteadily(request: () => Promise<number>, hz: number, done: () => boolean, latencies: number[], errors: string[]): Promise<void> {
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

/** media-node runs under tsx's launcher (a node process whose only child is the server): the launcher is not the server. */
function mediaServerAndChildren(stat: ProcStat, tree: ProcStat[]): boolean {
  return stat !== tree[0] || !tree.some((s) => s.ppid === stat.pid && s.comm.startsWith("node"));
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const pct = (usage: TreeUsage | undefined, cores: number) => (usage ? ((100 * usage.cpuSeconds) / (usage.wallSeconds * cores)).toFixed(0) : "n/a");

function providerStats(predictions: Prediction[], since: number) {
  const byModel = new Map<string, { wait: number[]; render: number[]; failed: number }>();
  for (const p of predictions) {
    const created = Date.parse(p.created_at ?? "");
    if (!(created >= since)) continue;
    const started = Date.parse(p.started_at ?? "");
    const completed = Date.parse(p.completed_at ?? "");
    const entry = byModel.get(p.model ?? "?") ?? { wait: [], render: [], failed: 0 };
    if (Number.isFinite(started)) entry.wait.push((started - created) / 1000);
    if (Number.isFinite(started) && Number.isFinite(completed)) entry.render.push((completed - started) / 1000);
    if (p.status !== "succeeded") entry.failed++;
    byModel.set(p.model ?? "?", entry);
  }
  return byModel;
}

async function measureLoad(options: LoadOptions): Promise<Measured> {
  return withStack({ draft: { concurrency: options.draftConcurrency } }, async ({ stack, client }) => {
    // Warm every path once, then the idle baseline for status latency against that video.
    const warm = await client.generate({ prompt: "A warm-up ad for a local coffee roaster", duration_s: 15 });
    const warmEnd = await client.watch(warm.video_id, () => {}, 10 * 60_000);
    if (warmEnd.status !== "complete") throw new Error(`warm-up video ended ${warmEnd.status}: ${warmEnd.error}`);
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await timedStatus(client, warm.video_id));
    return runLoad(stack, client, options, idle);
  });
}

/** The same load once per draft provider concurrency (one fresh stack each), compared in one section. */
export async function loadBench(options: Omit<LoadOptions, "draftConcurrency">, concurrencies: number[]): Promise<string> {
  const loadBefore = loadAverage();
  const cores = describeMachine().cores;
  const results: Report[] = [];
  for (const draftConcurrency of concurrencies) {
    const settings = { ...options, draftConcurrency };
    const measured = await measureLoad(settings);
    results.push(report(settings, measured, cores));
    console.error(`draft concurrency ${draftConcurrency}: ${results.at(-1)!.summary.join(" | ")}`);
  }
  const compared =
    results.length > 1
      ? `
${table(SUMMARY_HEADER, results.map((r) => r.summary))}

Ratios against draft concurrency ${concurrencies[0]}: ${results
          .slice(1)
          .map((r, i) => `concurrency ${concurrencies[i + 1]}: wall time ${(results[0]!.wallSeconds / r.wallSeconds).toFixed(2)}× shorter, throughput ${(r.throughput / results[0]!.throughput).toFixed(2)}×`)
          .join("; ")}.
`
      : "";
  const throughput = (complete.length / m.wallSeconds) * 60;
  const summary = [
    String(options.draftConcurrency),
    `${complete.length} / ${options.n}`,
    m.wallSeconds.toFixed(0),
    throughput.toFixed(2),
    perVideo.length ? median(perVideo).toFixed(0) : "n/a",
    waits.length ? waitP50.toFixed(1) : "n/a",
    `${slotBusy.toFixed(0)} %`,
    `${mediaCpu.toFixed(0)} %`,
    `${worker ? pct(worker, cores) : "n/a"} %`,
    batches.length ? `${((100 * queueBusy) / m.wallSeconds).toFixed(0)} %` : "n/a",
    ingest.length ? median(ingest).toFixed(1) : "n/a",
    media ? mib(media.peakRssBytes) : "n/a",
    status ? `${status.p50.toFixed(0)} / ${status.p99.toFixed(0)}` : "n/a",
  ];
  const detail = `### Draft provider concurrency ${options.draftConcurrency}

${headline}
${incomplete.length ? `\n**${incomplete.length} video(s) did not complete:**\n${incompleteLines.join("\n")}\n` : ""}
Where the time went (per video, from each run's event log; ${timelines.length} logs):

${table(["phase", "median s", "p99 s"], phaseRows)}

Draft provider, predictions created during the run:

${table(["model", "predictions", "slot wait s p50 / p99", "render s p50 / p99", "render s total", "not succeeded"], providerRows)}

Findings:
${findings.map((f) => `- ${f}`).join("\n")}
`;
  return { detail, summary, wallSeconds: m.wallSeconds, throughput };
}

if (isMain(import.meta.url)) {
  const duration = numberFlag("duration", 15);
  if (![15, 30, 60].includes(duration)) throw new Error("--duration must be 15, 30 or 60");
  const flag = process.argv.indexOf("--draft-concurrency");
  const concurrencies = (flag > 0 ? process.argv[flag + 1]! : "2,4").split(",").map(Number);
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) throw new Error("--draft-concurrency takes positive integers, e.g. 2,4");
  const options = { n: numberFlag("n", 20), duration: duration as 15 | 30 | 60, pollHz: numberFlag("poll-hz", 5), timeoutMin: numberFlag("timeout-min", 30) };
  const section = await loadBench(options, concurrencies);
  console.log(section);
  writeSection(SECTION, section);
}
