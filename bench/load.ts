/**
 * Load: N draft ads at once through one local stack:
 * `tsx bench/load.ts [--n 20] [--duration 15] [--poll-hz 5] [--draft-concurrency 2,4] [--timeout-min 30] [--ref main] [--equal-priority] [--profile]`.
 *
 * Every video has one WebSocket viewer and one client polling its status at a steady rate,
 * as a dashboard would. Measured: wall time until all are complete, throughput, per-video
 * time, media-node memory (the server plus its ffmpeg children) and CPU, workerd memory and
 * CPU (sampled from /proc every 200 ms), status latency under that load against idle in the
 * same run, live-event delivery lag, and where the time went (phases, the draft provider's
 * queue). Videos that do not complete are reported as such, with their last state. The whole
 * load runs once per draft provider concurrency (the provider's render slots), each on a fresh
 * stack, so the knob's effect is measured in the same run. With `--ref`, each load also runs
 * first on that git ref's code (a fresh stack of its own), and the throughputs are compared.
 * With `--equal-priority`, each load also runs on this code with the stand-ins at workerd's CPU
 * priority (`standInPriority: "equal"`), against the stack's default `background`.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { AdreelClient } from "../cli/client.ts";
import { createDevKey, type Stack } from "../scripts/stack.ts";
import { realTimeAllowed, type StandInPriority } from "../scripts/cpu-priority.ts";
import { BENCH_LIMITS, draftPredictions, providerStats, isMain, numberFlag, refSnapshot, snapshotNote, sourceSnapshot, withStack } from "./bench-stack.ts";
import { fetchEventLog, jobIntervals, phaseTimeline } from "./event-log.ts";
import { describeMachine, invocation, loadAverage, machineParagraph } from "./machine.ts";
import { TreeSampler, type TreeUsage } from "./process-tree.ts";
import { idleBaseline, type IdleBaseline, idleRows, idleSummaries } from "./load-idle.ts";
import { BareServer, PollerProcess, type PollResult, sleep } from "./load-clients.ts";
import { LogFollower } from "./queue-log.ts";
import { tallyMediaRequests } from "./media-requests.ts";
import { mediaRunOfProcess } from "./media-runs.ts";
import { profileParagraph } from "./worker-profile.ts";
import { hostRows, ioSince, PROFILE_AFTER_S, pct, profileWorkerLater, stackIo, waitShare } from "./load-worker.ts";
import { mediaMemoryParagraph, mediaServerAndChildren, mib, sharesText } from "./load-memory.ts";
import { serverSplit, splitRows } from "./load-split.ts";
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
  /** Default: the stack's (`background`). */
  standInPriority?: StandInPriority;
  /**
   * Profile the stack's isolates during the load (`--profile`). Off by default: V8's profiler
   * interrupts workerd's one thread at every sample (each profiled isolate at 1 ms) and stopping it
   * held the thread 67 ms in one run (perf), so a profiled load's latencies are not the stack's.
   */
  profile?: boolean;
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


async function measureLoad(options: LoadOptions, root?: string): Promise<Measured> {
  return withStack({ draft: { concurrency: options.draftConcurrency }, root, keepLines: true, standInPriority: options.standInPriority, stateInMemory: true }, async ({ stack, client }) => {
    // Warm every path once, then the idle baseline for status latency against that video.
    const warm = await client.generate({ prompt: "A warm-up ad for a local coffee roaster", duration_s: 15 });
    const warmEnd = await client.watch(warm.video_id, () => {}, 10 * 60_000);
    if (warmEnd.status !== "complete") throw new Error(`warm-up video ended ${warmEnd.status}: ${warmEnd.error}`);
    // The pollers' process times the idle baseline too: both latencies are the same client's.
    const pollers = new PollerProcess();
    const bare = new BareServer();
    try {
      // Rounds over tens of seconds (load-idle.ts): a p99 of 200 (runs up to f9f8a5f) was their second slowest, and one of 1000 (up to d150450) one second's.
      const idle = await idleBaseline(pollers, `${client.baseUrl}/api/status/${warm.video_id}`, { authorization: `Bearer ${client.apiKey}` }, options.n, options.pollHz);
      return await runLoad(stack, client, options, idle, pollers, await bare.url);
    } finally {
      await Promise.all([pollers.close(), bare.close()]);
    }
  });
}

/** The same load once per draft provider concurrency (one fresh stack each), compared in one section. */
export async function loadBench(options: Omit<LoadOptions, "draftConcurrency">, concurrencies: number[], ref: string | null = null, equalPriority = false): Promise<string> {
  const loadBefore = loadAverage();
  const cores = describeMachine().cores;
  const results: Report[] = [];
  const baselines: Report[] = [];
  const equals: Report[] = [];
  const base = ref ? refSnapshot(ref) : null;
  for (const draftConcurrency of concurrencies) {
    const settings = { ...options, draftConcurrency };
    if (base) {
      baselines.push(report(settings, await measureLoad(settings, base.root), cores, base.revision));
      console.error(`${base.revision}, draft concurrency ${draftConcurrency}: ${baselines.at(-1)!.summary.join(" | ")}`);
    }
    const measured = await measureLoad(settings);
    results.push(report(settings, measured, cores));
    console.error(`draft concurrency ${draftConcurrency}: ${results.at(-1)!.summary.join(" | ")}`);
    if (equalPriority) {
      const equal = { ...settings, standInPriority: "equal" as const };
      equals.push(report(equal, await measureLoad(equal), cores));
      console.error(`draft concurrency ${draftConcurrency}, stand-ins at equal priority: ${equals.at(-1)!.summary.join(" | ")}`);
    }
  }
  const againstRef = base
    ? `
Against ${base.revision}, each load on its code first, then on this code (${sourceSnapshot().revision}), on fresh stacks in this run:

${table(
  ["draft concurrency", `videos/min, ${base.revision}`, "videos/min, this code", "throughput ratio (target ≥ 1.3×)", `status p99 ms, ${base.revision}`, "status p99 ms, this code", `media-node peak MiB, ${base.revision}`, "media-node peak MiB, this code"],
  results.map((r, i) => {
    const b = baselines[i]!;
    return [String(concurrencies[i]), b.throughput.toFixed(2), r.throughput.toFixed(2), `**${(r.throughput / b.throughput).toFixed(2)}×**`, b.summary.at(-1)!.split(" / ")[1]!, r.summary.at(-1)!.split(" / ")[1]!, b.summary.at(-2)!, r.summary.at(-2)!];
  }),
)}
`
    : "";
  const priorities = equalPriority
    ? `
The stand-ins' CPU priority (scripts/stack.ts): \`background\` (the stack's default: media-node and the draft server at niceness 10, the Worker's session at autogroup niceness -10, or where that is refused the stand-ins' sessions at 19) against \`equal\` (niceness 0, sessions left alone, so each session, workerd's too, gets an equal share of the cores), this code, fresh stacks in this run:

${table(
  ["draft concurrency", "priority", "videos/min", "status ms p50 / p99", "idle p99 ms", "p99 / idle p99", "workerd waited for a core (% of its ready time)"],
  results.flatMap((r, i) => [r, equals[i]!].map((x) => [String(concurrencies[i]), x.priority, x.throughput.toFixed(2), x.summary.at(-1)!, x.idleP99.toFixed(0), x.statusP99 === null ? "n/a" : `${(x.statusP99 / x.idleP99).toFixed(1)}×`, x.workerdWait === null ? "n/a" : `${(100 * x.workerdWait).toFixed(0)} %`])),
)}
`
    : "";
  const acceptance = `
Issue 16's acceptance for 20 concurrent 15 s ads, read from this run (load average at the start ${loadBefore}, at the end ${loadAverage()}):

${table(
  ["draft concurrency", "all complete", "status p99 ≤ 3× idle p99 (sequential, pooled)", "the same against idle polled as under load", "media-node peak ≤ 600 MiB", "throughput ≥ 1.3× the ref's"],
  results.map((r, i) => {
    const b = baselines[i];
    const verdict = (met: boolean) => (met ? "met" : "**not met**");
    return [
      String(concurrencies[i]),
      `${verdict(r.complete === r.asked)}: ${r.complete} / ${r.asked}`,
      ...[r.idleP99, r.polledIdleP99].map((idle) => (r.statusP99 === null ? "n/a" : `${verdict(r.statusP99 <= 3 * idle)}: ${r.statusP99.toFixed(1)} ms against ${idle.toFixed(1)} ms idle (${(r.statusP99 / idle).toFixed(1)}×)`)),
      r.mediaPeakMib === null ? "n/a" : `${verdict(r.mediaPeakMib <= 600)}: ${r.mediaPeakMib.toFixed(0)} MiB`,
      b ? `${verdict(r.throughput >= 1.3 * b.throughput)}: ${(r.throughput / b.throughput).toFixed(2)}× (${r.throughput.toFixed(2)} against ${b.throughput.toFixed(2)} videos/min)` : "n/a (no --ref)",
    ];
  }),
)}
`;
  const first = results[0]!;
  const compared =
    results.length > 1
      ? `
${table(SUMMARY_HEADER, results.map((r) => r.summary))}

Against draft concurrency ${concurrencies[0]}, measured in this run: ${results
          .slice(1)
          .map((r, i) => `concurrency ${concurrencies[i + 1]}: wall time ratio ${concurrencies[0]} / ${concurrencies[i + 1]} = ${(first.wallSeconds / r.wallSeconds).toFixed(2)}×, throughput ratio ${concurrencies[i + 1]} / ${concurrencies[0]} = ${(r.throughput / first.throughput).toFixed(2)}×`)
          .join("; ")}.
`
      : "";
  const pollerRealTime = realTimeAllowed();
  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: ${options.n} draft ads of ${options.duration} s (16:9, ten prompts in turn) submitted at once to one stack, after a warm-up video, one tenant (own API key) per video; each with one WebSocket viewer (\`AdreelClient.watch\`) and one client polling \`GET /api/status/{id}\` at ${options.pollHz} req/s (never two in flight), i.e. ${options.n * options.pollHz} status req/s in total, the pollers' phases spread evenly over the period (video i polls i/${options.n} of a period after video 0; a poller held up by a slow answer skips to its next tick, keeping its phase), every poller timed in a process of the load generator's own (bench/load-clients.ts \`PollerProcess\`: the generator's main thread samples /proc and follows the logs, and a request timed there counted that thread's stalls, p99 73 / max 304 ms of event-loop delay in one run), which also times the idle baseline, at round-robin real-time priority one above the stack's where allowed (scripts/cpu-priority.ts \`CLIENT_REAL_TIME\`; ${pollerRealTime ? "here: allowed" : "here: not allowed, normal priority"}): a client of adreel runs on a machine of its own, and a poller waiting here for a core behind the stack's encodes, or behind workerd and the storage host at their own real-time priority, timed its own scheduling (in runs up to 2ccce4e the pollers ran at normal priority, in a thread of the generator until 907185a, and the idle baseline was timed by the generator's main thread; until 29e9c01 at the stack's own: in same-day loads the pollers' process then waited 20-23 % of its ready time for a core, 15-16 % since). Each answer's \`Server-Timing\` (worker/api/server-timing.ts, from ac77109) is kept beside the latency the poller saw: \`app\`, the Worker's own time from its first middleware to its answer (workerd's clock: whole milliseconds), and on status \`run\`, the Durable Object call within it; the latency minus \`app\` is the time the request spent outside the Worker's code (in flight, parsed and passed on, until 8c72ff7 by Miniflare's assets RPC proxy and router isolates on the same thread, since then by the Worker's own \`LocalFront\`, and waiting for workerd's one thread while it ran other work). In runs before this (the docs' numbers up to 30fa289) they all polled on one phase, restarted from each late answer, so every stall lined them up again: each request then waited behind the ${options.n - 1} others of its burst (idle polling at 100 req/s, workerd at 7-10 % of a core: p50 15.2 / p99 39.8 ms phase-locked against 1.7 / 15.9 ms spread); the idle baseline was sequential requests then too, one round of 1000 (since 6e91113 five, pooled: load-idle.ts, beside the load's own pattern without the load). The load runs once per draft provider \`concurrency\` (its render slots: ${concurrencies.join(", ")}), each on a fresh stack (its local D1, R2 and Durable Object storage in memory, /dev/shm: bench-stack.ts \`MEMORY_DIR\`; the Worker's host at round-robin real-time priority where allowed: scripts/cpu-priority.ts; the Worker runs in Miniflare's workerd, scripts/worker-host.ts, requests reaching it directly: no request proxy in front of it, as \`wrangler dev\` had until 898fd34; its R2 bucket and D1 database in a second workerd, the storage host, scripts/storage-host.ts, whose R2 S3 API media-node and the draft server read and write through presigned URLs, as production's do with R2, where until 7427375 every media byte went through the Worker's \`/media\` route and R2's simulation on the Worker's thread; a \`--ref\` of older code runs its Worker the same way, since the stack's start is this code's), no added latency. Worker defaults (\`MAX_PREDICTIONS_PER_VIDEO\` 8, queue consumer \`max_batch_size\` 10, \`max_concurrency\` 8 in wrangler.toml) except the API limits, raised so the polling is not refused (${Object.entries(BENCH_LIMITS).map(([k, v]) => `${k}=${v}`).join(", ")}; the per-key limiter still runs on every request). /proc sampled every 200 ms: media-node = the server process and its ffmpeg children (node runs it as it is; a --ref under tsx: its launcher excluded, its esbuild service counted), CPU = utime+stime including reaped children, as % of ${cores} cores; timeout ${options.timeoutMin} min per load.
${acceptance}${againstRef}${priorities}${compared}
${results.map((r) => r.detail).join("\n")}${baselines.map((r) => r.detail).join("\n")}`;
}

const SUMMARY_HEADER = ["draft concurrency", "complete", "wall s", "videos/min", "per-video s p50", "slot wait s p50", "slots busy", "media-node CPU", "draft server CPU", "Worker CPU", "queue batch time / wall (both queues)", "chunk ingest s p50", "media-node peak MiB", "status ms p50 / p99"];

interface Report {
  detail: string;
  summary: string[];
  wallSeconds: number;
  throughput: number;
  /** What issue 16's acceptance reads: videos complete of those asked, status p99 under load and idle (ms), media-node's peak RSS (MiB). */
  complete: number;
  asked: number;
  statusP99: number | null;
  idleP99: number;
  /** The idle p99 of the load's own pattern without the load (load-idle.ts `polled`). */
  polledIdleP99: number;
  mediaPeakMib: number | null;
  priority: StandInPriority;
  /** workerd's run-queue wait as a share of its ready time (on a core + waiting). */
  workerdWait: number | null;
}

type Measured = Awaited<ReturnType<typeof runLoad>>;

async function runLoad(stack: Stack, client: AdreelClient, options: LoadOptions, idle: IdleBaseline, pollers: PollerProcess, bareUrl: string) {
  const pids = stack.pids();
  if (!pids.media || !pids.worker || !pids.draft || !pids.storage) throw new Error("the stack's servers are not running");
  const hosts = { worker: pids.worker, storage: pids.storage };
  const keys = await Promise.all(Array.from({ length: options.n }, (_, i) => createDevKey(stack, `load-${i + 1}`)));
  const sampler = new TreeSampler([
    // Each process named by the route it works for (its command line), so the peak can be attributed.
    // A node process below the server is a child forked but not yet exec'd: its RSS is the server's pages, shared copy-on-write, counted again for that instant.
    { name: "media", root: pids.media, select: mediaServerAndChildren, count: (s) => s.comm.startsWith("ff"), breakdown: (s) => (s.comm.startsWith("node") && s.pid !== pids.media && s.ppid !== pids.media ? "server's fork before its exec" : mediaRunOfProcess(s)) },
    // The server process alone (no children): what its own buffers, sharp and the JS heap hold.
    { name: "media-server", root: pids.media, select: (s, tree) => mediaServerAndChildren(s, tree) && !s.comm.startsWith("ff") && !s.comm.startsWith("espeak") },
    { name: "draft", root: pids.draft, select: mediaServerAndChildren, count: (s) => s.comm.startsWith("ff") },
    { name: "worker", root: pids.worker },
    { name: "workerd", root: pids.worker, select: (s) => s.comm.startsWith("workerd"), schedstat: true },
    { name: "storage", root: pids.storage },
  ]).start();
  const deadline = Date.now() + options.timeoutMin * 60_000;
  const latencies: number[] = [];
  const statusServer: PollResult["server"] = [];
  const pollErrors: string[] = [];
  const eventLag: number[] = [];
  // The bare route under the same load, for the ratio: one client, at one video's poll rate.
  const health: number[] = [];
  const healthServer: PollResult["server"] = [];
  const healthErrors: string[] = [];
  const bareLatencies: number[] = [];
  const bareErrors: string[] = [];
  // Every poller is timed in a process of its own, away from this one's /proc sampling and log following.
  const stopHealth = pollers.poll(`${client.baseUrl}/health`, {}, options.pollHz, 500 / options.pollHz / options.n);
  // The control: a server with no work of its own, polled at the same rate on another phase.
  const stopBare = pollers.poll(bareUrl, {}, options.pollHz, 750 / options.pollHz / options.n);
  const pollerSched0 = pollers.sched();
  const io0 = stackIo(hosts);
  const queue = new LogFollower(() => stack.logs().worker);
  queue.poll();
  const follow = setInterval(() => queue.poll(), 1000);
  const cpu0 = process.cpuUsage();
  const pollerCpu0 = pollers.cpuSeconds();
  // This process's own stalls: a request's measured time includes them (the machine is shared, and this process is not raised as workerd is).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const t0 = Date.now();
  const profile = options.profile ? profileWorkerLater(pids.worker) : Promise.resolve(null);
  let outcomes: VideoOutcome[];
  try {
    outcomes = await Promise.all(
      Array.from({ length: options.n }, async (_, i): Promise<VideoOutcome> => {
        // One tenant (and key) per video: twenty customers, each polling its own video.
        const key = keys[i]!;
        const tenant = new AdreelClient(stack.workerUrl, key);
        const submittedAt = Date.now();
        let videoId: string;
        try {
          ({ video_id: videoId } = await tenant.generate({ prompt: `${PROMPTS[i % PROMPTS.length]} (load video ${i + 1})`, duration_s: options.duration }));
        } catch (error) {
          return { id: `(submission ${i + 1})`, key, submittedAt, endedAt: null, status: "not accepted", phase: "none", progress: 0, error: (error as Error).message };
        }
        // Each video's poller a 1/n of the period after the previous one's (as independent dashboards would be).
        const stopPolling = pollers.poll(`${stack.workerUrl}/api/status/${videoId}`, { authorization: `Bearer ${key}` }, options.pollHz, (i * 1000) / options.pollHz / options.n);
        try {
          const end = await tenant.watch(
            videoId,
            (event) => {
              if (event.type !== "snapshot" && typeof event.at === "number") eventLag.push(Date.now() - event.at);
            },
            Math.max(1000, deadline - Date.now()),
          );
          return { id: videoId, key, submittedAt, endedAt: Date.now(), status: end.status, phase: end.current_phase, progress: end.progress, error: end.error };
        } catch (error) {
          const last = await tenant.status(videoId).catch(() => null);
          return { id: videoId, key, submittedAt, endedAt: null, status: last?.status ?? "unknown", phase: last?.current_phase ?? "unknown", progress: last?.progress ?? 0, error: (error as Error).message };
        } finally {
          const polled = await stopPolling();
          latencies.push(...polled.latencies);
          statusServer.push(...polled.server);
          pollErrors.push(...polled.errors);
        }
      }),
    );
  } finally {
    clearInterval(follow);
    queue.poll();
    sampler.stop();
    const bare = await stopBare();
    bareLatencies.push(...bare.latencies);
    bareErrors.push(...bare.errors);
    const polled = await stopHealth();
    health.push(...polled.latencies);
    healthServer.push(...polled.server);
    healthErrors.push(...polled.errors);
  }
  const generatorCpu = process.cpuUsage(cpu0);
  const pollerCpuSeconds = pollers.cpuSeconds() - pollerCpu0;
  const pollerSched = pollers.sched();
  const io1 = stackIo(hosts);
  loopDelay.disable();
  const wallSeconds = (Math.max(...outcomes.map((o) => o.endedAt ?? Date.now())) - t0) / 1000;
  // Whatever did not finish is cancelled so the stack winds down before it stops.
  const submitted = outcomes.filter((o) => o.status !== "not accepted");
  for (const o of submitted) if (o.endedAt === null) await new AdreelClient(stack.workerUrl, o.key).cancel(o.id).catch(() => undefined);

  const logs = await Promise.all(submitted.map((o) => fetchEventLog(stack.workerUrl, o.key, o.id).catch(() => null)));
  const workerProfile = await profile;
  const predictions = await draftPredictions(stack);
  return {
    outcomes,
    wallSeconds,
    t0,
    latencies,
    statusServer,
    health,
    healthServer,
    healthErrors,
    bare: { latencies: bareLatencies, errors: bareErrors },
    io: { worker: ioSince(io0.worker, io1.worker), storage: ioSince(io0.storage, io1.storage) },
    pollerWait: { runNs: pollerSched.runNs - pollerSched0.runNs, waitNs: pollerSched.waitNs - pollerSched0.waitNs, mainRunNs: pollerSched.main.runNs - pollerSched0.main.runNs, mainWaitNs: pollerSched.main.waitNs - pollerSched0.main.waitNs },
    pollErrors,
    eventLag,
    idle,
    usage: sampler.usage(),
    logs,
    predictions,
    queue: { batches: queue.batches.filter((b) => !b.queue.endsWith("-dlq")), lost: queue.lost },
    generatorCpuSeconds: (generatorCpu.user + generatorCpu.system) / 1e6 + pollerCpuSeconds,
    generatorLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    mediaRequests: tallyMediaRequests(stack.lines().media, t0),
    workerProfile,
  };
}

/** `code`: the ref whose code ran, when not this working tree. */
function report(options: LoadOptions, m: Measured, cores: number, code: string | null = null): Report {
  const complete = m.outcomes.filter((o) => o.status === "complete" && o.endedAt !== null);
  const perVideo = complete.map((o) => (o.endedAt! - o.submittedAt) / 1000);
  const status = m.latencies.length ? summarize(m.latencies) : null;
  const health = m.health.length ? summarize(m.health) : null;
  const bare = m.bare.latencies.length ? summarize(m.bare.latencies) : null;
  const { sequential: idle, polled: polledIdle } = idleSummaries(m.idle);
  const split = (latencies: number[], server: PollResult["server"]) => serverSplit({ latencies, server, errors: [] }, 3 * idle.p99);
  const statusSplit = split(m.latencies, m.statusServer);
  const idleSplit = split(m.idle.sequential.latencies, m.idle.sequential.server);
  const healthSplit = split(m.health, m.healthServer);
  const lag = m.eventLag.length ? summarize(m.eventLag) : null;
  const { media, draft, worker, workerd, "media-server": mediaServer } = m.usage;
  const throughput = (complete.length / m.wallSeconds) * 60;

  const headline = table(
    ["measure", "value"],
    [
      ["videos complete", `**${complete.length} / ${options.n}**`],
      ["wall time, first submit → last complete", `${m.wallSeconds.toFixed(1)} s`],
      ["throughput", `${throughput.toFixed(2)} videos/min`],
      ["per-video time, submit → complete: p50 / p99 / max", perVideo.length ? `${percentile(perVideo, 50).toFixed(1)} / ${percentile(perVideo, 99).toFixed(1)} / ${Math.max(...perVideo).toFixed(1)} s` : "n/a"],
      ["media-node peak RSS (server + ffmpeg children, summed)", media ? `${mib(media.peakRssBytes)} MiB (mean ${mib(media.meanRssBytes)} MiB; up to ${media.peakProcesses} ffmpeg/ffprobe at once; the server process alone: peak ${mediaServer ? mib(mediaServer.peakRssBytes) : "n/a"} MiB; at the peak: ${media.atPeak ? sharesText(media.atPeak) : "n/a"})` : "n/a"],
      [`media-node CPU (utime+stime incl. reaped children) / (wall × ${cores} cores)`, media ? `${pct(media, cores)} % (${media.cpuSeconds.toFixed(0)} CPU s over ${media.wallSeconds.toFixed(0)} s)` : "n/a"],
      ["draft model server peak RSS (server + ffmpeg children, summed)", draft ? `${mib(draft.peakRssBytes)} MiB (up to ${draft.peakProcesses} ffmpeg at once)` : "n/a"],
      [`draft model server CPU (renders) / (wall × ${cores} cores)`, draft ? `${pct(draft, cores)} % (${draft.cpuSeconds.toFixed(0)} CPU s)` : "n/a"],
      ...hostRows(m.usage, m.io, cores),
      [`status latency under load (${options.pollHz} req/s per video, ${m.latencies.length} requests, ${m.pollErrors.length} errors): p50 / p99`, status ? `${status.p50.toFixed(1)} / ${status.p99.toFixed(1)} ms` : "n/a"],
      ...idleRows(m.idle, { sequential: idle, polled: polledIdle }, status, options.n, options.pollHz),
      [`bare \`GET /health\` under the same load (${options.pollHz} req/s, ${m.health.length} requests, ${m.healthErrors.length} errors): p50 / p99`, health ? `${health.p50.toFixed(1)} / ${health.p99.toFixed(1)} ms` : "n/a"],
      ["status / health under load: p50, p99", status && health ? `${(status.p50 / health.p50).toFixed(1)}×, ${(status.p99 / health.p99).toFixed(1)}×` : "n/a"],
      [`control: a bare HTTP server (bench/load-clients.ts \`BareServer\`, its own process at the Worker's priority) polled by the same process under the same load (${options.pollHz} req/s, ${m.bare.latencies.length} requests, ${m.bare.errors.length} errors): p50 / p99 / max`, bare ? `${bare.p50.toFixed(1)} / ${bare.p99.toFixed(1)} / ${bare.max.toFixed(1)} ms` : "n/a"],
      ["the pollers' process: on a core / ready but waiting for one, over the load (/proc schedstat)", `${(m.pollerWait.runNs / 1e9).toFixed(1)} s / ${(m.pollerWait.waitNs / 1e9).toFixed(2)} s (waited ${waitShare(m.pollerWait.runNs, m.pollerWait.waitNs)} of its ready time; its main thread, which sends and times the requests: ${waitShare(m.pollerWait.mainRunNs, m.pollerWait.mainWaitNs)})`],
      ...splitRows("status under load", statusSplit),
      ...splitRows("status idle", idleSplit),
      ...splitRows("`/health` under load", healthSplit),
      ["live event delivery lag (event `at` → received by the viewer): p50 / p99", lag ? `${lag.p50.toFixed(0)} / ${lag.p99.toFixed(0)} ms (${lag.count} events)` : "n/a"],
      ["this load generator's own CPU, its pollers' process included / (wall × cores)", `${((100 * m.generatorCpuSeconds) / (m.wallSeconds * cores)).toFixed(0)} % (${m.generatorCpuSeconds.toFixed(0)} CPU s)`],
      ["this load generator's event-loop delay (a timed request's latency includes it; perf_hooks, 10 ms resolution): p50 / p99 / max", `${m.generatorLoopDelayMs.p50.toFixed(0)} / ${m.generatorLoopDelayMs.p99.toFixed(0)} / ${m.generatorLoopDelayMs.max.toFixed(0)} ms`],
    ],
  );

  // Where the time went: phases over all videos, and the provider's queue.
  const timelines = m.logs.filter((l) => l !== null).map((l) => phaseTimeline(l!));
  const phaseNames = [...new Set(timelines.flatMap((t) => t.phases.map((p) => p.phase)))];
  const phaseRows = phaseNames.map((phase) => {
    const values = timelines.map((t) => t.phases.find((p) => p.phase === phase)?.seconds ?? 0);
    return [`\`${phase}\``, median(values).toFixed(1), percentile(values, 99).toFixed(1)];
  });
  const provider = providerStats(m.predictions, m.t0);
  const providerRows = [...provider.entries()].map(([model, s]) => [
    `\`${model}\``,
    s.wait.length,
    s.wait.length ? `${median(s.wait).toFixed(1)} / ${percentile(s.wait, 99).toFixed(1)}` : "n/a",
    s.render.length ? `${median(s.render).toFixed(2)} / ${percentile(s.render, 99).toFixed(2)}` : "n/a",
    s.render.reduce((a, b) => a + b, 0).toFixed(0),
    s.failed,
  ]);
  const renderSeconds = [...provider.values()].reduce((sum, s) => sum + s.render.reduce((a, b) => a + b, 0), 0);
  const slotBusy = (100 * renderSeconds) / (m.wallSeconds * options.draftConcurrency);
  const waits = [...provider.values()].flatMap((s) => s.wait);
  const renders = [...provider.values()].flatMap((s) => s.render);
  const retries = m.logs.reduce((sum, l) => sum + (l?.events.filter((e) => e.type === "job_retry").length ?? 0), 0);
  const warnings = m.logs.reduce((sum, l) => sum + (l?.events.filter((e) => e.type === "warning").length ?? 0), 0);
  const ingest = m.logs.flatMap((l) => (l ? jobIntervals(l.events, "chunk") : [])).map((c) => (c.doneAt - c.ingestAt) / 1000);
  // Ids and numbers vary per job; the kind of reason is what counts.
  const reasonsOf = (type: string, field: string) => {
    const reasons = new Map<string, number>();
    for (const l of m.logs) {
      for (const e of l?.events ?? []) {
        if (e.type !== type) continue;
        const reason = String(e[field] ?? "").replace(/[0-9a-f]{8,}|\b[a-z]+:\d+\b|\b\d+(\.\d+)?\b/g, "#").slice(0, 120);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    return reasons;
  };
  const retryReasons = reasonsOf("job_retry", "reason");
  const warningReasons = reasonsOf("warning", "message");
  const counted = (reasons: Map<string, number>) => [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([r, n]) => `${n}× "${r}"`).join("; ");
  const queueFinding = (name: string, what: string): string | null => {
    const batches = m.queue.batches.filter((b) => b.queue === name);
    if (batches.length === 0) return null;
    const batchMs = batches.map((b) => b.ms);
    const busy = batchMs.reduce((a, b) => a + b, 0) / 1000;
    return `\`${name}\` (${what}): ${batches.length} batches of ${median(batches.map((b) => b.size))} messages at the median (max ${Math.max(...batches.map((b) => b.size))}), ${percentile(batchMs, 50)} ms p50 / ${percentile(batchMs, 99)} ms p99 each; batch time summed ${busy.toFixed(0)} s = ${((100 * busy) / m.wallSeconds).toFixed(0)} % of the wall time`;
  };
  const queues = [queueFinding("adreel-jobs", "hand-offs"), queueFinding("adreel-media", "encodes"), queueFinding("adreel-audio", "music and soundtrack")].filter((q): q is string => q !== null);

  const incomplete = m.outcomes.filter((o) => !(o.status === "complete" && o.endedAt !== null));
  const incompleteLines = incomplete.map((o) => `  - \`${o.id}\`: ${o.status}, phase ${o.phase}, ${o.progress} %${o.error ? ` — ${o.error}` : ""}`);

  // Each finding carries its numbers, so a reader can check the reading of them.
  const findings: string[] = [];
  const mediaCpu = media ? (100 * media.cpuSeconds) / (media.wallSeconds * cores) : 0;
  const waitP50 = waits.length ? median(waits) : 0;
  const renderP50 = renders.length ? median(renders) : 0;
  findings.push(`media-node (normalize/stitch/mux ffmpeg) used ${mediaCpu.toFixed(0)} % of ${cores} cores over the run, the draft model server (renders) ${draft ? pct(draft, cores) : "n/a"} %, the Worker (host and workerd) ${worker ? pct(worker, cores) : "n/a"} %; load average at the end ${loadAverage()} (other engineers' jobs share the cores).`);
  findings.push(`The draft provider's ${options.draftConcurrency} render slots were busy ${slotBusy.toFixed(0)} % of the wall time; a prediction waited for a slot ${waitP50.toFixed(1)} s at the median (p99 ${waits.length ? percentile(waits, 99).toFixed(1) : "n/a"} s) against ${renderP50.toFixed(2)} s of rendering.`);
  findings.push(
    queues.length
      ? `Queue consumers — ${queues.join("; ")} (a batch lasts as long as its slowest message; over 100 % means batches overlapped)${m.queue.lost ? "; some log lines were missed, so these are lower bounds" : ""}. Locally Miniflare's queue broker starts a queue's next batch when its previous one returns; it never reads wrangler.toml's \`max_concurrency\`.`
      : "No queue batch lines found in wrangler's log.",
  );
  findings.push(`Chunk ingest (last frame published, then the normalize pass, uploads included) took ${ingest.length ? `${median(ingest).toFixed(1)} s at the median, p99 ${percentile(ingest, 99).toFixed(1)} s` : "n/a"}; ${retries} job retries and ${warnings} warnings over all event logs${retryReasons.size ? ` — retry reasons: ${counted(retryReasons)}` : ""}${warningReasons.size ? ` — warnings: ${counted(warningReasons)}` : ""}.`);

  const summary = [
    String(options.draftConcurrency),
    `${complete.length} / ${options.n}`,
    m.wallSeconds.toFixed(0),
    throughput.toFixed(2),
    perVideo.length ? median(perVideo).toFixed(0) : "n/a",
    waits.length ? waitP50.toFixed(1) : "n/a",
    `${slotBusy.toFixed(0)} %`,
    `${mediaCpu.toFixed(0)} %`,
    `${draft ? pct(draft, cores) : "n/a"} %`,
    `${worker ? pct(worker, cores) : "n/a"} %`,
    m.queue.batches.length ? `${((100 * m.queue.batches.reduce((sum, b) => sum + b.ms, 0)) / 1000 / m.wallSeconds).toFixed(0)} %` : "n/a",
    ingest.length ? median(ingest).toFixed(1) : "n/a",
    media ? mib(media.peakRssBytes) : "n/a",
    status ? `${status.p50.toFixed(0)} / ${status.p99.toFixed(0)}` : "n/a",
  ];
  const detail = `### Draft provider concurrency ${options.draftConcurrency}${code ? `, code of ${code}` : ""}${options.standInPriority === "equal" ? ", stand-ins at workerd's priority" : ""}

${headline}
${incomplete.length ? `\n**${incomplete.length} video(s) did not complete:**\n${incompleteLines.join("\n")}\n` : ""}
Where the time went (per video, from each run's event log; ${timelines.length} logs):

${table(["phase", "median s", "p99 s"], phaseRows)}

media-node's requests during the load, from its request log (2xx time is the route's wall time, waits for a process slot included; "repeated": a 2xx for a job's attempt and step already answered 2xx, work done twice):

${table(["route", "requests", "busy (503)", "2xx", "repeated", "2xx s total", "2xx s mean"], m.mediaRequests.map((r) => [`\`${r.path}\``, r.requests, r.busy, r.ok, r.repeated, r.okSeconds.toFixed(0), r.ok ? (r.okSeconds / r.ok).toFixed(2) : "n/a"]))}

${mediaMemoryParagraph(media, m.t0)}
${m.workerProfile ? profileParagraph(m.workerProfile, PROFILE_AFTER_S) : "The stack's isolates were not profiled in this run (`--profile` profiles them; the profiler perturbs the latencies it would explain)."}

Draft provider, predictions created during the run:

${table(["model", "predictions", "slot wait s p50 / p99", "render s p50 / p99", "render s total", "not succeeded"], providerRows)}

Findings:
${findings.map((f) => `- ${f}`).join("\n")}
`;
  return { detail, summary, wallSeconds: m.wallSeconds, throughput, complete: complete.length, asked: options.n, statusP99: status?.p99 ?? null, idleP99: idle.p99, polledIdleP99: polledIdle.p99, mediaPeakMib: media ? media.peakRssBytes / 2 ** 20 : null,
    priority: options.standInPriority ?? "background",
    workerdWait: workerd?.runSeconds != null && workerd.runqueueWaitSeconds != null ? workerd.runqueueWaitSeconds / Math.max(1e-9, workerd.runSeconds + workerd.runqueueWaitSeconds) : null,
  };
}

if (isMain(import.meta.url)) {
  const duration = numberFlag("duration", 15);
  if (![15, 30, 60].includes(duration)) throw new Error("--duration must be 15, 30 or 60");
  const flag = process.argv.indexOf("--draft-concurrency");
  const concurrencies = (flag > 0 ? process.argv[flag + 1]! : "2,4").split(",").map(Number);
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) throw new Error("--draft-concurrency takes positive integers, e.g. 2,4");
  const options = { n: numberFlag("n", 20), duration: duration as 15 | 30 | 60, pollHz: numberFlag("poll-hz", 5), timeoutMin: numberFlag("timeout-min", 30), profile: process.argv.includes("--profile") };
  const refFlag = process.argv.indexOf("--ref");
  const section = await loadBench(options, concurrencies, refFlag > 0 ? process.argv[refFlag + 1]! : null, process.argv.includes("--equal-priority"));
  console.log(section);
  writeSection(SECTION, section);
}
