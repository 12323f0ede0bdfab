/**
 * End-to-end draft ad by phase: `tsx bench/pipeline.ts [--runs 3] [--duration 30]`.
 *
 * A 30 s 16:9 ad through the real local stack (the Worker, media-node and the draft model
 * server, default settings as `npm run demo` uses), one run after another. Phase durations
 * come from the run's own event log (server timestamps), replayed after each video ends.
 * Server start-up (D1 migrations, media-node and the draft server, the Worker up to /health) is reported apart.
 */
import type { Phase } from "../contracts/api.ts";
import { isMain, numberFlag, snapshotNote, withStack } from "./bench-stack.ts";
import { type PhaseSpan, fetchEventLog, phaseTimeline } from "./event-log.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { table, writeSection } from "./results-doc.ts";
import { median } from "./stats.ts";

export const SECTION = "## End-to-end draft ad by phase (bench/pipeline.ts)";

const PHASE_ORDER: Phase[] = ["queued", "planning", "generating_references", "storyboarding", "generating_chunks", "stitching", "adding_music"];
const PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";

interface PipelineRun {
  videoId: string;
  phases: PhaseSpan[];
  serverSeconds: number;
  clientSeconds: number;
  chunks: number;
  beats: number;
}

export async function pipelineBench(options: { runs: number; duration: 15 | 30 | 60 }): Promise<string> {
  const loadBefore = loadAverage();
  const { runs, startupSeconds } = await withStack({}, async ({ client, startupSeconds }) => {
    const results: PipelineRun[] = [];
    for (let i = 0; i < options.runs; i++) {
      const t0 = Date.now();
      const { video_id } = await client.generate({ prompt: PROMPT, duration_s: options.duration, aspect_ratio: "16:9" });
      const end = await client.watch(video_id, () => {}, 10 * 60_000);
      const clientSeconds = (Date.now() - t0) / 1000;
      if (end.status !== "complete") throw new Error(`run ${i + 1}: video ${video_id} ended ${end.status}: ${end.error}`);
      const log = await fetchEventLog(client.baseUrl, client.apiKey, video_id);
      const timeline = phaseTimeline(log);
      const video = await client.video(video_id);
      results.push({ videoId: video_id, phases: timeline.phases, serverSeconds: timeline.totalSeconds, clientSeconds, chunks: video.chunk_urls.length, beats: video.spec?.beats.length ?? 0 });
      console.error(`run ${i + 1}/${options.runs}: ${timeline.totalSeconds.toFixed(1)} s (${timeline.phases.map((p) => `${p.phase} ${p.seconds.toFixed(1)}`).join(", ")})`);
    }
    return { runs: results, startupSeconds };
  });

  const seen = PHASE_ORDER.filter((phase) => runs.some((r) => r.phases.some((p) => p.phase === phase)));
  const secondsOf = (run: PipelineRun, phase: string) => run.phases.find((p) => p.phase === phase)?.seconds ?? 0;
  const rows = seen.map((phase) => {
    const values = runs.map((r) => secondsOf(r, phase));
    const shares = runs.map((r) => (100 * secondsOf(r, phase)) / r.serverSeconds);
    return [`\`${phase}\``, median(values).toFixed(2), `${median(shares).toFixed(1)} %`, values.map((v) => v.toFixed(2)).join(" / ")];
  });
  const totals = runs.map((r) => r.serverSeconds);
  const clients = runs.map((r) => r.clientSeconds);
  rows.push(["**total** (created → complete event)", median(totals).toFixed(2), "100 %", totals.map((v) => v.toFixed(2)).join(" / ")]);
  rows.push(["client: submit → `complete` over the WebSocket", median(clients).toFixed(2), "", clients.map((v) => v.toFixed(2)).join(" / ")]);

  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: ${options.runs} runs, one after another, of a ${options.duration} s 16:9 draft ad (${runs[0]?.beats} beats, ${runs[0]?.chunks} chunks; the demo's prompt) on one stack with default settings (draft provider concurrency 2, no added latency). Phase times from the run's event log (the Durable Object's \`at\` timestamps, replayed over the live WebSocket after the end): a phase lasts from its \`phase\` event to the next one, the last one ends at \`complete\`; \`queued\` starts at the run's creation${seen.includes("planning") ? "" : " and, with no `planning` phase event in these runs, includes planning"}. Music renders alongside the chunks and is not a phase.

${table(["phase", "median s", "share of total (median)", "per run s"], rows)}

- Server start-up, measured once apart from the runs: **${startupSeconds.toFixed(1)} s** (D1 migrations + media-node and the draft server + the Worker until each answers).
- Median end to end including start-up, as \`npm run demo\` sees it: ${(startupSeconds + median(clients)).toFixed(1)} s.
`;
}

if (isMain(import.meta.url)) {
  const duration = numberFlag("duration", 30);
  if (![15, 30, 60].includes(duration)) throw new Error("--duration must be 15, 30 or 60");
  const section = await pipelineBench({ runs: numberFlag("runs", 3), duration: duration as 15 | 30 | 60 });
  console.log(section);
  writeSection(SECTION, section);
}
