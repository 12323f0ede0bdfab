/**
 * Chunk phase: the DAG scheduler against one chunk at a time, in the same run:
 * `tsx bench/chunks.ts [--latency-ms 3000] [--long-latency-ms 10000] [--parallel 16] [--duration 30] [--runs 1] [--max-chunk-frames 60] [--ref main]`.
 *
 * Beats are timed for Wan's clips (one chunk per beat at the model's clip length): the
 * benchmark caps chunks at `--max-chunk-frames` so beats have chains of 2–3 chunks whose links
 * it can measure. With `--ref`, A and A' run first on that git ref's code (before), then on
 * this tree's (after), and the section compares them per link, queue messages included.
 *
 * Draft provider with a fixed latency per prediction (its render runs within it) and enough
 * render slots that no prediction waits for one. Stack A: the default scheduler (beats in
 * parallel, chained inside a beat) with MAX_PREDICTIONS_PER_VIDEO = --parallel. Stack B:
 * MAX_PREDICTIONS_PER_VIDEO=1, so chunks run one after another. Stack A': A at the long
 * latency (0 skips it), to show what is per link and what grows with the latency. Measured: the `generating_chunks` phase from each run's
 * event log. Model from the spec's chunk plan: longest beat chain × latency against
 * number of chunks × latency.
 */
import { VideoSpec } from "../contracts/spec.ts";
import { planChunks } from "../worker/chunks/plan.ts";
import { chunkJobId } from "../contracts/live.ts";
import { isMain, numberFlag, refSnapshot, snapshotNote, withStack } from "./bench-stack.ts";
import { LogFollower } from "./queue-log.ts";
import { fetchEventLog, jobIntervals, peakOverlap, phaseTimeline } from "./event-log.ts";
import { type CriticalPath, criticalPath, mediaRequestSeconds, publishedAt } from "./critical-path.ts";
import { describeMachine, invocation, loadAverage, machineParagraph } from "./machine.ts";
import { TreeSampler, type TreeUsage } from "./process-tree.ts";
import { table, writeSection } from "./results-doc.ts";
import { median } from "./stats.ts";

export const SECTION = "## Chunk phase: DAG vs sequential (bench/chunks.ts)";

const PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";

interface ChunkRun {
  chunkPhaseSeconds: number;
  totalSeconds: number;
  chunks: number;
  longestChain: number;
  chainByBeat: number[];
  peakChunksInFlight: number;
  meanChunkSeconds: number;
  /** Of which: prediction created → succeeded (latency, rendering within it), succeeded → last frame published, → normalized and done. */
  meanProviderSeconds: number;
  meanFrameSeconds: number;
  meanNormalizeSeconds: number;
  /** Chunk k's last frame published → chunk k+1's prediction created (composite, queue hops). */
  meanHandoffSeconds: number;
  /** CPU seconds of media-node and the draft model server (with their ffmpeg children) during the chunk phase. */
  mediaCpuSeconds: number;
  /** From the worker's log, the chunk jobs' transitions: start messages sent (dispatch, requeue), ingest messages sent (predicted), starts handed off, start claims. */
  startMessages: number;
  ingestMessages: number;
  handOffs: number;
  startClaims: number;
  /** The phase along the chain that ended it (its parts add up to the phase). */
  critical: CriticalPath;
  /** media-node's own time for the chain's last-frame requests (summed) and the tail's normalize: the rest of the Worker's times is queue hops and the video's Durable Object. */
  criticalMediaLastFrameSeconds: number;
  criticalMediaNormalizeSeconds: number;
}

/** Chunk ingests the webhook ran itself (`webhook.ingest_taken` in the worker's log): their `predicted` transition sent no queue message. */
function ingestsTaken(lines: readonly string[], videoId: string): number {
  return lines.filter((line) => line.includes('"webhook.ingest_taken"') && line.includes(videoId) && line.includes('"chunk:')).length;
}

/** media-node and the draft model server together: the CPU the chunk phase's media work used (the draft renders are the model's work, done locally). */
function serverCpuSeconds(usage: Record<string, TreeUsage | undefined>): number {
  const { media, draft } = usage;
  return media && draft ? media.cpuSeconds + draft.cpuSeconds : Number.NaN;
}

/** `root`: the code to run (another ref's), else this tree's snapshot. */
export async function measure(label: string, maxPredictions: number, options: ChunkOptions, root?: string): Promise<ChunkRun[]> {
  const vars = { MAX_PREDICTIONS_PER_VIDEO: String(maxPredictions), MAX_CHUNK_FRAMES: String(options.maxChunkFrames) };
  return withStack({ draft: { latencyMs: options.latencyMs, concurrency: options.parallel }, vars, root, keepLines: true }, async ({ stack, client }) => {
    const runs: ChunkRun[] = [];
    const worker = new LogFollower(() => stack.logs().worker);
    for (let i = 0; i < options.runs; i++) {
      const following = setInterval(() => worker.poll(), 500);
      const pids = stack.pids();
      const sampler = new TreeSampler([
        { name: "media", root: pids.media! },
        { name: "draft", root: pids.draft! },
      ]).start();
      const { video_id } = await client.generate({ prompt: PROMPT, duration_s: options.duration, aspect_ratio: "16:9" });
      const end = await client.watch(video_id, () => {}, 15 * 60_000).finally(() => {
        sampler.stop();
        clearInterval(following);
        worker.poll();
      });
      if (worker.lost) throw new Error(`${label}: the worker's log outran the benchmark's reading of it`);
      const chunkTransitions = (name: string) => worker.transitions.filter((t) => t.video_id === video_id && t.kind === "chunk" && t.transition === name).length;
      if (end.status !== "complete") throw new Error(`${label}: video ${video_id} ended ${end.status}: ${end.error}`);
      const log = await fetchEventLog(client.baseUrl, client.apiKey, video_id);
      const timeline = phaseTimeline(log);
      const video = await client.video(video_id);
      const plan = planChunks(VideoSpec.parse(video.spec), { maxChunkFrames: options.maxChunkFrames });
      if (plan.length !== video.chunk_urls.length) throw new Error(`${label}: the spec plans ${plan.length} chunks but the video has ${video.chunk_urls.length}`);
      const chainByBeat = video.spec!.beats.map((_, beat) => plan.filter((c) => c.beat_index === beat).length);
      const intervals = jobIntervals(log.events, "chunk");
      const phase = timeline.phases.find((p) => p.phase === "generating_chunks");
      if (!phase) throw new Error(`${label}: video ${video_id} has no generating_chunks phase in its event log`);
      const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length / 1000;
      const byId = new Map(intervals.map((c) => [c.id, c]));
      const handoffs = plan
        .filter((c) => !c.first_in_beat)
        .map((c) => {
          const [previous, next] = [byId.get(chunkJobId(c.chunk_num - 1)), byId.get(chunkJobId(c.chunk_num))];
          return previous && next ? next.lastStartAt - publishedAt(previous) : Number.NaN;
        })
        .filter(Number.isFinite);
      const chainOf = (beat: number) => plan.filter((c) => c.beat_index === beat).map((c) => chunkJobId(c.chunk_num));
      const critical = criticalPath(intervals, chainOf, { startAt: phase.startAt, endAt: phase.startAt + phase.seconds * 1000 });
      const mediaLines = stack.lines().media;
      const lastFrames = mediaRequestSeconds(mediaLines, video_id, "chunks/last-frame");
      const normalizes = mediaRequestSeconds(mediaLines, video_id, "chunks/normalize");
      const criticalChain = critical.ids;
      const run: ChunkRun = {
        chunkPhaseSeconds: phase.seconds,
        totalSeconds: timeline.totalSeconds,
        chunks: plan.length,
        longestChain: Math.max(...chainByBeat),
        chainByBeat,
        peakChunksInFlight: peakOverlap(intervals),
        meanChunkSeconds: mean(intervals.map((c) => c.doneAt - c.startAt)),
        meanProviderSeconds: mean(intervals.map((c) => c.ingestAt - c.startAt)),
        meanFrameSeconds: mean(intervals.map((c) => publishedAt(c) - c.ingestAt)),
        meanNormalizeSeconds: mean(intervals.map((c) => c.doneAt - publishedAt(c))),
        meanHandoffSeconds: handoffs.length ? mean(handoffs) : Number.NaN,
        mediaCpuSeconds: serverCpuSeconds(sampler.usage(phase.startAt, phase.startAt + phase.seconds * 1000)),
        startMessages: chunkTransitions("dispatch") + chunkTransitions("requeue"),
        ingestMessages: chunkTransitions("predicted") - ingestsTaken(stack.lines().worker, video_id),
        handOffs: chunkTransitions("handOff"),
        startClaims: chunkTransitions("claim"),
        critical,
        // The tail normalized in its ingest made no last-frame request: its frame came with its pass.
        criticalMediaLastFrameSeconds: criticalChain.reduce((sum, id, k) => sum + (lastFrames.get(id) ?? (k === criticalChain.length - 1 ? 0 : Number.NaN)), 0),
        criticalMediaNormalizeSeconds: normalizes.get(criticalChain.at(-1)!) ?? Number.NaN,
      };
      console.error(`${label} run ${i + 1}: chunk phase ${run.chunkPhaseSeconds.toFixed(1)} s, ${run.chunks} chunks, chains ${chainByBeat.join(",")}, peak in flight ${run.peakChunksInFlight}`);
      runs.push(run);
    }
    return runs;
  });
}

export interface ChunkOptions {
  latencyMs: number;
  /** A second DAG run at this latency (0: none): what grows with the latency and what stays per link. */
  longLatencyMs: number;
  parallel: number;
  duration: 15 | 30 | 60;
  runs: number;
  maxChunkFrames: number;
  /** A git ref whose code runs A and A' first, for the before/after comparison (null: none). */
  ref: string | null;
}

export async function chunksBench(options: ChunkOptions): Promise<string> {
  const loadBefore = loadAverage();
  const before = options.ref ? refSnapshot(options.ref) : null;
  const beforeDag = before ? await measure(`A before (${before.revision})`, options.parallel, options, before.root) : [];
  const beforeLong = before && options.longLatencyMs > 0 ? await measure(`A' before (${before.revision})`, options.parallel, { ...options, latencyMs: options.longLatencyMs }, before.root) : [];
  const dag = await measure("A (DAG)", options.parallel, options);
  const sequential = await measure("B (sequential)", 1, options);
  const long = options.longLatencyMs > 0 ? await measure("A' (DAG, long latency)", options.parallel, { ...options, latencyMs: options.longLatencyMs }) : [];
  const a = median(dag.map((r) => r.chunkPhaseSeconds));
  const b = median(sequential.map((r) => r.chunkPhaseSeconds));
  const plan = dag[0]!;
  const latency = options.latencyMs / 1000;
  const modelDag = plan.longestChain * latency;
  const modelSeq = plan.chunks * latency;
  // The same model with the per-chunk time measured in B (latency + render + normalize + hand-offs).
  const perChunk = median(sequential.map((r) => r.meanChunkSeconds));
  const cores = describeMachine().cores;
  const per = (runs: ChunkRun[]) => runs.map((r) => r.chunkPhaseSeconds.toFixed(1)).join(" / ");
  const row = (name: string, setting: string, runs: ChunkRun[], model: string, measuredModel: number) => {
    const m = (pick: (r: ChunkRun) => number, digits = 2) => median(runs.map(pick)).toFixed(digits);
    const phase = median(runs.map((r) => r.chunkPhaseSeconds));
    return [
      name,
      setting,
      phase.toFixed(1),
      per(runs),
      m((r) => r.peakChunksInFlight, 0),
      `${m((r) => r.meanChunkSeconds)} = ${m((r) => r.meanProviderSeconds)} + ${m((r) => r.meanFrameSeconds)} + ${m((r) => r.meanNormalizeSeconds)}`,
      m((r) => r.meanHandoffSeconds),
      `${m((r) => r.mediaCpuSeconds, 1)} (${median(runs.map((r) => (100 * r.mediaCpuSeconds) / (r.chunkPhaseSeconds * cores))).toFixed(0)} %)`,
      model,
      measuredModel.toFixed(1),
    ];
  };
  const rows = [
    row("A: DAG (default scheduler)", `MAX_PREDICTIONS_PER_VIDEO=${options.parallel}`, dag, `${modelDag.toFixed(0)} (${plan.longestChain} × ${latency} s)`, plan.longestChain * perChunk),
    row("B: one chunk at a time", "MAX_PREDICTIONS_PER_VIDEO=1", sequential, `${modelSeq.toFixed(0)} (${plan.chunks} × ${latency} s)`, plan.chunks * perChunk),
  ];
  const cpuFloor = median(dag.map((r) => r.mediaCpuSeconds)) / cores;
  const overheadRow = (name: string, runs: ChunkRun[], latencyS: number) => {
    const phase = median(runs.map((r) => r.chunkPhaseSeconds));
    const chainS = plan.longestChain * latencyS;
    return [name, `${latencyS} s`, phase.toFixed(1), `${chainS.toFixed(0)} (${plan.longestChain} × ${latencyS} s)`, (phase - chainS).toFixed(1), (phase / chainS).toFixed(2)];
  };
  const longS = options.longLatencyMs / 1000;
  /** One row per DAG run that ran: before (the ref's code) and after, at each latency. */
  const eachDagRun = (rowOf: (name: string, runs: ChunkRun[], latencyS: number) => string[]) => [
    ...(beforeDag.length ? [rowOf(`A before (${before!.revision})`, beforeDag, latency)] : []),
    ...(beforeLong.length ? [rowOf(`A' before (${before!.revision})`, beforeLong, longS)] : []),
    rowOf("A", dag, latency),
    ...(long.length ? [rowOf("A'", long, longS)] : []),
  ];
  const overheadRows = eachDagRun(overheadRow);
  const scaling = `
The same DAG at a longer latency, to separate what grows with the provider's latency from the fixed work per link (last frame, hand-off, the final normalize)${before ? `, before (${before.revision}) and after (this code)` : ""}. Acceptance (issue 16): above the chain at most 2 s at 3 s and at 10 s latency.

${table(["run", "latency", "chunk phase s (median)", "longest chain × latency s", "above the chain s", "phase / (chain × latency)"], overheadRows)}
`;
  const linkRow = (name: string, runs: ChunkRun[], latencyS: number) => {
    const m = (pick: (r: ChunkRun) => number, digits = 2) => median(runs.map(pick)).toFixed(digits);
    const links = plan.chunks - plan.chainByBeat.length;
    return [name, `${latencyS} s`, m((r) => r.meanFrameSeconds), m((r) => r.meanHandoffSeconds), m((r) => (r.startMessages + r.ingestMessages) / r.chunks), `${m((r) => r.handOffs, 0)} of ${links}`, m((r) => r.startClaims, 0)];
  };
  const linkRows = eachDagRun(linkRow);
  const criticalRow = (name: string, runs: ChunkRun[], latencyS: number) => {
    const m = (pick: (r: ChunkRun) => number) => median(runs.map(pick)).toFixed(2);
    return [
      name,
      `${latencyS} s`,
      m((r) => r.chunkPhaseSeconds),
      m((r) => r.critical.chunks),
      m((r) => r.critical.firstCreateSeconds),
      m((r) => r.critical.providerSeconds),
      `${m((r) => r.critical.lastFrameSeconds)} (${m((r) => r.criticalMediaLastFrameSeconds)})`,
      m((r) => r.critical.handoffSeconds),
      `${m((r) => r.critical.tailNormalizeSeconds)} (${m((r) => r.criticalMediaNormalizeSeconds)})`,
      m((r) => r.critical.afterTailSeconds),
    ];
  };
  const criticalRows = eachDagRun(criticalRow);
  const criticalSection = `
The phase along the chain that ended it (the chunk done last, the tail, and the chunks of its beat before it); the parts add up to the phase. In brackets: media-node's own time for those requests (its \`request.end\` lines); the rest is the Worker's (queue hops, the video's Durable Object, R2).

${table(["run", "latency", "chunk phase s", "chunks on the chain", "phase start → first create s", "provider s (sum)", "last frames s (sum; media-node)", "hand-offs s (sum)", "tail normalize s (media-node)", "tail done → phase end s"], criticalRows)}
`;
  const perLink = `
Per link of a chain (chunk k's prediction succeeded → chunk k+1's prediction created), from each run's event log and the worker's log (\`job.transition\` lines, read as \`bench/queue-log.ts\` follows it):

${table(["run", "latency", "last frame s (mean)", "hand-off s (mean)", "queue messages on the chain per chunk (start + ingest)", "starts handed off (links)", "start claims (chunks)"], linkRows)}

- Per link, at 83e8278: the ingest message (queue hop), its claim, publish (the frame), the next chunk's start message (queue hop), its claim, the create's guard (\`beginPrediction\`), the create gate (limiter object), the create, \`predictionCreated\`: 2 queue hops and 5 calls to the video's Durable Object. At 0b5c9b3: the ingest message, its claim, publish — which answers the next chunk claimed (\`handOff\`) — the guard, the gate, the create, \`predictionCreated\`: 1 queue hop and 4 calls. Now (\`WEBHOOK_INGEST\`, on by default): the webhook that reports the prediction succeeded is answered the ingest claimed and runs it itself, then publish, the guard, the gate, the create, \`predictionCreated\`: no queue hop (an ingest counted as a queue message here is one that failed in the webhook and went to the queue). Normalize is off the chain in all: its message goes on the media queue as the frame is published, and the next chunk never waits for it (only the beat's last chunk's normalize ends the phase). Since chain4: a pass published by the webhook's ingest runs in that consumer (after the next chunk's create), not behind the media queue's batch in flight; the chunk the phase ends with is normalized in its ingest, its last frame written by that pass (its "last frame" counts 0 s, its pass runs from the ingest); among last frames waiting for a process slot the longest chain's goes first; the phase's last passes run as critical work.
`;
  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: a ${options.duration} s 16:9 draft ad (the demo's prompt; \`MAX_CHUNK_FRAMES=${options.maxChunkFrames}\`, so beats timed for one Wan clip each render as chains; ${plan.chunks} chunks in ${plan.chainByBeat.length} beats, chunks per beat ${plan.chainByBeat.join(", ")}: longest chain ${plan.longestChain}), ${options.runs} run(s) per scheduler. Draft provider with \`latencyMs: ${options.latencyMs}\` (each prediction takes at least that long, its render included) and \`concurrency: ${options.parallel}\` render slots, so no prediction waits for a slot. Two stacks, one after the other in this run, differing only in \`MAX_PREDICTIONS_PER_VIDEO\`. Measured: the \`generating_chunks\` phase (from its \`phase\` event to \`stitching\`) and each chunk's job events, from the run's event log; CPU of media-node and the draft model server (processes + ffmpeg children, /proc every 200 ms) over that phase. Model: the chunk plan of the video's spec (\`planChunks\`, checked against \`chunk_urls\`).

${table(["scheduler", "setting", "chunk phase s (median)", "per run s", "peak chunks in flight", "s per chunk = provider + last frame + normalize (mean)", "hand-off s: frame → next chunk's prediction (mean)", `media-node + draft CPU s in the phase (% of ${cores} cores)`, "model s (latency only)", "model s (× B's s per chunk)"], rows)}

| ratio | value |
| --- | --- |
| measured: sequential / DAG chunk phase, B/A | **${(b / a).toFixed(2)}×** |
| model, latency only: chunks / longest chain = ${plan.chunks} / ${plan.longestChain} | ${(plan.chunks / plan.longestChain).toFixed(2)}× |

${scaling}
${perLink}
${criticalSection}
- Whole video, created → complete: A ${median(dag.map((r) => r.totalSeconds)).toFixed(1)} s, B ${median(sequential.map((r) => r.totalSeconds)).toFixed(1)} s (B also runs the references and storyboard frames one at a time).
- "provider" is prediction created → succeeded (the ${latency} s latency, within which the draft server renders the clip with ffmpeg); "last frame" is succeeded → the clip's last frame published (download, decode, PNG to R2: the next chunk of the beat waits for this only); "normalize" is published → done (the x264 pass, on the media queue at lower CPU priority, while the next chunk generates). "hand-off" is a published frame → the next chunk's prediction created (the start step and the create; before the thin chain also a queue hop and a claim).
- A: ${a.toFixed(1)} s against two floors — the longest chain × latency, ${modelDag.toFixed(0)} s, and the media work in the phase (media-node + draft renders), ${median(dag.map((r) => r.mediaCpuSeconds)).toFixed(1)} CPU s / ${cores} cores = ${cpuFloor.toFixed(1)} s (reachable only with the machine to itself). B: ${b.toFixed(1)} s against ${plan.chunks} × latency = ${modelSeq.toFixed(0)} s, with media-node + draft at ${median(sequential.map((r) => (100 * r.mediaCpuSeconds) / (r.chunkPhaseSeconds * cores))).toFixed(0)} % of the cores.
`;
}

if (isMain(import.meta.url)) {
  const duration = numberFlag("duration", 30);
  if (![15, 30, 60].includes(duration)) throw new Error("--duration must be 15, 30 or 60");
    const refFlag = process.argv.indexOf("--ref");
  const section = await chunksBench({
    latencyMs: numberFlag("latency-ms", 3000),
    longLatencyMs: numberFlag("long-latency-ms", 10_000),
    parallel: numberFlag("parallel", 16),
    duration: duration as 15 | 30 | 60,
    runs: numberFlag("runs", 1),
    maxChunkFrames: numberFlag("max-chunk-frames", 60),
    ref: refFlag > 0 ? process.argv[refFlag + 1]! : null,
  });
  console.log(section);
  writeSection(SECTION, section);
}
