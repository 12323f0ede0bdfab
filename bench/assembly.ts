/**
 * After the last chunk: progressive assembly against stitch-after-all, in the same run.
 * `tsx bench/assembly.ts [--runs 3] [--duration 30]`.
 *
 * Two stacks, one after the other, differing only in `ASSEMBLY` (progressive, the default, and
 * after_all). On each, `runs` draft ads of the demo's prompt, one after another. From each
 * run's event log (the Durable Object's `at` timestamps), for the last chunk to finish:
 * (a) its `done` job event (the normalized clip published) and (b) its `ingesting` event (its
 * prediction succeeded; storing and the normalize pass follow), each to the final MP4 stored
 * (the `done` event of the job that wrote it, the mux). The video's `complete` comes after
 * that, once the last seam measures are in too (progressive) — reported beside.
 */
import type { JobView } from "../contracts/live.ts";
import { isMain, numberFlag, snapshotNote, withStack } from "./bench-stack.ts";
import { type TimedEvent, fetchEventLog, liveSnapshot, phaseTimeline } from "./event-log.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { table, writeSection } from "./results-doc.ts";
import { median } from "./stats.ts";

export const SECTION = "## After the last chunk: progressive assembly vs stitch-after-all (bench/assembly.ts)";

const PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";
type Mode = "progressive" | "after_all";

interface AssemblyRun {
  /** (a) Last chunk normalized (its `done`) → final MP4 stored (s). */
  fromNormalized: number;
  /** (b) Last chunk's prediction succeeded (its `ingesting`) → final MP4 stored (s). */
  fromSucceeded: number;
  /** Final MP4 stored → the video's `complete` (s): the last seam measures. */
  completeAfterFinal: number;
  /** Jobs started after the last chunk was normalized, each one queue hop: windows, seam measures, stitch, mux. */
  jobsAfterLast: number;
  windows: number;
  /**
   * The soundtrack job's `done` before the first chunk's `normalizing` (s; negative: after it).
   * Every caption a normalize pass draws is timed by the soundtrack: done first, every pass can
   * draw its own, and the assembly re-encodes none of them.
   */
  soundtrackLead: number;
  total: number;
  chunks: number;
  /** The path after the last chunk's `done`, taken apart. */
  breakdown: AfterLast;
}

/** Where the time after the last chunk's `done` goes (s, frames). */
interface AfterLast {
  /** (a) minus media-node's ffmpeg work: queue hops, the Durable Object's decisions, signing, the upload, a window job still running. */
  outside: number;
  /** The assemble request's ffmpeg work (encode_seconds): probes, the windows it rendered, the stream-copy concat and mux; not the final file's upload. */
  ffmpeg: number;
  /** The final file's upload after the concat (store_seconds), beside its last ffprobe: part of "outside". */
  store: number;
  /** Of the ffmpeg work, the stream-copy concat with the soundtrack (concat_seconds); the rest of it less the windows is the probes and the final file's facts. */
  concat: number;
  /** Of which the windows rendered in the request (render_seconds), */
  render: number;
  /** and those windows' frames: what the last chunk left to re-encode. */
  renderedFrames: number;
  /** Frames the assembly and its windows drew a decoration on, */
  decoratedFrames: number;
  /** and those the chunks' normalize passes drew (each chunk's last output), which the assembly copies. */
  drawnInNormalize: number;
  /** Whether the last chunk's own normalize pass drew decorations (it waits for them: worker/run/decorations-wait.ts). */
  lastDecorated: boolean;
  /** Inputs of the assemble request read from media-node's own copies (media-node/piece-cache.ts), not downloaded. */
  keptPieces: number;
  /** Windows the chunks' normalize passes rendered after them (worker/chunks/windows.ts), no job of their own, */
  passWindows: number;
  /** and whether the last chunk's pass rendered the windows it left (then the assembly renders none). */
  lastPassWindows: boolean;
  /** The last chunk's pass, from its `normalizing` (or, normalized in its ingest, its `ingesting`) to its `done` (s). */
  lastPass: number;
  /**
   * A neighbour (the chunk before or after) still normalizing when the last chunk's pass
   * started, so that pass could not render a window between them (when the seam or a decoration
   * calls for one): that neighbour, and how long before the last chunk's `done` its own `done`
   * came (s) — what a pass waiting for it would have had to render that window in without
   * delaying its `done`.
   */
  neighbourInFlight: { chunk: number; doneBefore: number } | null;
}

/** Frames each chunk's normalize pass drew decorations on (its last `done` output's `decorated`), summed. */
function drawnInNormalize(events: readonly TimedEvent[]): number {
  const drawn = new Map<string, number>();
  for (const event of events) {
    const job = event.job as Pick<JobView, "id" | "kind" | "status"> | undefined;
    if (event.type !== "job" || job?.kind !== "chunk" || job.status !== "done") continue;
    const frames = (event.output as { decorated?: { frames: { from: number; to: number }[] } } | undefined)?.decorated?.frames ?? [];
    drawn.set(job.id, frames.reduce((sum, r) => sum + r.to - r.from, 0));
  }
  return [...drawn.values()].reduce((a, b) => a + b, 0);
}

/** Windows each chunk's normalize pass rendered (its last `done` output's `windows`), summed. */
function windowsInPasses(events: readonly TimedEvent[]): number {
  const rendered = new Map<string, number>();
  for (const event of events) {
    const job = event.job as Pick<JobView, "id" | "kind" | "status"> | undefined;
    if (event.type !== "job" || job?.kind !== "chunk" || job.status !== "done") continue;
    rendered.set(job.id, ((event.output as { windows?: unknown[] } | undefined)?.windows ?? []).length);
  }
  return [...rendered.values()].reduce((a, b) => a + b, 0);
}

/** What the mux job's output reports (media-node's AssembleResponse, after_all's MuxResponse has none of it). */
function assemblyReport(output: unknown): { ffmpeg: number; store: number; concat: number; render: number; renderedFrames: number; decoratedFrames: number; keptPieces: number } {
  const o = (output ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" ? v : Number.NaN);
  return { ffmpeg: num(o.encode_seconds), store: num(o.store_seconds), concat: num(o.concat_seconds), render: num(o.render_seconds), renderedFrames: num(o.rendered_frames), decoratedFrames: num(o.decorated_frames), keptPieces: num(o.kept_pieces) };
}

/** The `at` of each job's events by status. */
function jobTimes(events: readonly TimedEvent[]): Map<string, { kind: string; idx: number; at: Map<string, number> }> {
  const times = new Map<string, { kind: string; idx: number; at: Map<string, number> }>();
  for (const event of events) {
    const job = event.job as Pick<JobView, "id" | "kind" | "idx" | "status"> | undefined;
    if (event.type !== "job" || !job) continue;
    const entry = times.get(job.id) ?? { kind: job.kind, idx: job.idx, at: new Map<string, number>() };
    if (!entry.at.has(job.status)) entry.at.set(job.status, event.at);
    times.set(job.id, entry);
  }
  return times;
}

/** When chunk job `at`'s normalize pass started: its `normalizing`, or its `ingesting` when the pass ran in its ingest (no `normalizing` event). */
const passStart = (at: Map<string, number>) => at.get("normalizing") ?? at.get("ingesting") ?? Number.NaN;

/** The chunk before or after the last one whose pass was running when the last chunk's pass started (AfterLast.neighbourInFlight). */
function neighbourInFlight(chunkJobs: readonly { idx: number; at: Map<string, number> }[], last: { idx: number; at: Map<string, number> }): AfterLast["neighbourInFlight"] {
  const start = passStart(last.at);
  const lastDone = last.at.get("done") ?? Number.NaN;
  const running = chunkJobs.filter((c) => Math.abs(c.idx - last.idx) === 1 && passStart(c.at) <= start && start < (c.at.get("done") ?? Number.NaN));
  const latest = running.sort((a, b) => b.at.get("done")! - a.at.get("done")!)[0];
  return latest ? { chunk: latest.idx, doneBefore: (lastDone - latest.at.get("done")!) / 1000 } : null;
}

export function assemblyTimes(events: readonly TimedEvent[], muxOutput?: unknown): Omit<AssemblyRun, "total"> {
  const jobs = [...jobTimes(events).entries()];
  const chunkJobs = jobs.filter(([, j]) => j.kind === "chunk").map(([, j]) => j);
  const chunks = chunkJobs.map((j) => j.at);
  const lastJob = chunkJobs.reduce((a, b) => ((b.at.get("done") ?? Number.NaN) > (a.at.get("done") ?? Number.NaN) ? b : a));
  const last = lastJob.at;
  const lastDone = last.get("done") ?? Number.NaN;
  const finalStored = jobs.find(([id]) => id === "mux")?.[1].at.get("done") ?? Number.NaN;
  const complete = events.find((e) => e.type === "complete")?.at ?? Number.NaN;
  // A job's first event: its first step, each one a queue hop.
  const started = (j: { at: Map<string, number> }) => Math.min(...j.at.values());
  const report = assemblyReport(muxOutput);
  const lastId = jobs.find(([, j]) => j.at === last)?.[0];
  const lastOutput = events.findLast((e) => e.type === "job" && (e.job as Pick<JobView, "id" | "status"> | undefined)?.id === lastId && (e.job as Pick<JobView, "status">).status === "done")?.output as { decorated?: unknown; windows?: unknown[] } | undefined;
  return {
    // The event log has no event for the mux job's start (its first one is its `done`), so the
    // queue hop and the request are told apart only by media-node's own account of its work.
    breakdown: {
      outside: (finalStored - lastDone) / 1000 - report.ffmpeg,
      ...report,
      drawnInNormalize: drawnInNormalize(events),
      lastDecorated: lastOutput?.decorated !== undefined,
      passWindows: windowsInPasses(events),
      lastPassWindows: (lastOutput?.windows?.length ?? 0) > 0,
      lastPass: (lastDone - passStart(last)) / 1000,
      neighbourInFlight: neighbourInFlight(chunkJobs, lastJob),
    },
    fromNormalized: (finalStored - lastDone) / 1000,
    fromSucceeded: (finalStored - (last.get("ingesting") ?? Number.NaN)) / 1000,
    completeAfterFinal: (complete - finalStored) / 1000,
    jobsAfterLast: jobs.filter(([, j]) => j.kind !== "chunk" && started(j) >= lastDone).length,
    windows: jobs.filter(([id]) => id.startsWith("stitch:")).length,
    soundtrackLead: (Math.min(...chunks.map((c) => c.get("normalizing") ?? Number.POSITIVE_INFINITY)) - (jobs.find(([id]) => id === "soundtrack")?.[1].at.get("done") ?? Number.NaN)) / 1000,
    chunks: chunks.length,
  };
}

async function runMode(mode: Mode, runs: number, duration: number): Promise<AssemblyRun[]> {
  return withStack({ vars: { ASSEMBLY: mode } }, async ({ client }) => {
    const results: AssemblyRun[] = [];
    for (let i = 0; i < runs; i++) {
      const { video_id } = await client.generate({ prompt: PROMPT, duration_s: duration as 15 | 30 | 60, aspect_ratio: "16:9" });
      const end = await client.watch(video_id, () => {}, 10 * 60_000);
      if (end.status !== "complete") throw new Error(`${mode} run ${i + 1}: video ${video_id} ended ${end.status}: ${end.error}`);
      const log = await fetchEventLog(client.baseUrl, client.apiKey, video_id);
      const snapshot = await liveSnapshot(client.baseUrl, client.apiKey, video_id);
      const run = { ...assemblyTimes(log.events, snapshot.outputs.mux), total: phaseTimeline(log).totalSeconds };
      if (!Number.isFinite(run.fromNormalized) || !Number.isFinite(run.fromSucceeded)) throw new Error(`${mode} run ${i + 1}: the event log of ${video_id} lacks the last chunk's or the mux's events`);
      results.push(run);
      // after_all's mux reports no ffmpeg split (a MuxResponse): its line says so instead of NaN.
      const split = Number.isFinite(run.breakdown.ffmpeg)
        ? `media-node ffmpeg ${run.breakdown.ffmpeg.toFixed(2)} s (windows ${show(run.breakdown.render)} s for ${show(run.breakdown.renderedFrames, 0)} frames, the concat ${show(run.breakdown.concat)} s), the rest ${run.breakdown.outside.toFixed(2)} s (the final file's upload ${show(run.breakdown.store)} s)`
        : "no ffmpeg split (a stitch, then a remux)";
      const inFlight = run.breakdown.neighbourInFlight;
      const neighbour = inFlight ? `, chunk ${inFlight.chunk} still normalizing when it started (done ${inFlight.doneBefore.toFixed(2)} s before it)` : ", no neighbour normalizing when it started";
      console.error(
        `${mode} ${i + 1}/${runs}: (a) normalized → final ${run.fromNormalized.toFixed(2)} s, (b) prediction succeeded → final ${run.fromSucceeded.toFixed(2)} s, ${run.jobsAfterLast} jobs after the last chunk, ` +
          `${run.windows} windows, ${run.breakdown.passWindows} in the chunks' passes${run.breakdown.lastPassWindows ? " (the last chunk's among them)" : ""}, soundtrack done ${show(run.soundtrackLead)} s before the first normalize; ${split}; ` +
          `the last chunk's pass ${show(run.breakdown.lastPass)} s${neighbour}`,
      );
    }
    return results;
  });
}

/** A figure, or "n/a" where a mode does not report it. */
const show = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "n/a");

function breakdownRow(name: string, runs: AssemblyRun[]): string[] {
  const med = (pick: (r: AssemblyRun) => number) => {
    const values = runs.map(pick).filter(Number.isFinite);
    return values.length ? median(values) : Number.NaN;
  };
  const b = (pick: (b: AfterLast) => number) => (r: AssemblyRun) => pick(r.breakdown);
  return [
    name,
    show(med((r) => r.fromNormalized)),
    show(med(b((x) => x.ffmpeg))),
    show(med(b((x) => x.render))),
    show(med(b((x) => x.renderedFrames)), 0),
    show(med(b((x) => x.decoratedFrames)), 0),
    show(med(b((x) => x.drawnInNormalize)), 0),
    show(med(b((x) => x.outside))),
    `${runs.filter((r) => r.breakdown.lastDecorated).length} of ${runs.length}`,
    show(med(b((x) => x.keptPieces)), 0),
    show(med(b((x) => x.passWindows)), 0),
    `${runs.filter((r) => r.breakdown.lastPassWindows).length} of ${runs.length}`,
  ];
}

export async function assemblyBench(options: { runs: number; duration: number }): Promise<string> {
  const loadBefore = loadAverage();
  const progressive = await runMode("progressive", options.runs, options.duration);
  const afterAll = await runMode("after_all", options.runs, options.duration);
  const med = (runs: AssemblyRun[], pick: (r: AssemblyRun) => number) => median(runs.map(pick));
  const per = (runs: AssemblyRun[], pick: (r: AssemblyRun) => number) => runs.map((r) => pick(r).toFixed(2)).join(" / ");
  const row = (name: string, runs: AssemblyRun[]) => [
    name,
    `**${med(runs, (r) => r.fromNormalized).toFixed(2)}**`,
    per(runs, (r) => r.fromNormalized),
    `**${med(runs, (r) => r.fromSucceeded).toFixed(2)}**`,
    per(runs, (r) => r.fromSucceeded),
    med(runs, (r) => r.completeAfterFinal).toFixed(2),
    `${med(runs, (r) => r.jobsAfterLast)}`,
    `${med(runs, (r) => r.windows)}`,
    show(med(runs, (r) => r.soundtrackLead)),
    med(runs, (r) => r.total).toFixed(1),
  ];
  const ratio = (pick: (r: AssemblyRun) => number) => med(afterAll, pick) / med(progressive, pick);
  const verdict = (pick: (r: AssemblyRun) => number) => {
    const m = med(progressive, pick);
    const r = ratio(pick);
    return `${m.toFixed(2)} s ${m <= 0.5 ? "meets" : "does not meet"} ≤ 0.5 s; ${r.toFixed(1)}× ${r >= 5 ? "meets" : "does not meet"} ≥ 5×`;
  };

  return `${SECTION}

${machineParagraph(invocation(), loadBefore, snapshotNote())}
Workload: ${options.runs} runs per mode, one after another, of a ${options.duration} s 16:9 draft ad (the demo's prompt; ${progressive[0]?.chunks} chunks) on two stacks, one after the other in this run, differing only in \`ASSEMBLY\`. Default settings otherwise (draft provider concurrency 2, no added latency). Times from each run's event log (the Durable Object's \`at\`), for the last chunk to be normalized: (a) from its \`done\` job event (the normalized clip published), (b) from its \`ingesting\` event (its prediction succeeded; the clip is stored, its last frame published and its normalize pass run after it), each to the \`done\` of the mux job, which wrote the final MP4. "complete after final" is the rest of the video: in progressive mode the last seam measures, which run beside the assembly.

${table(
  ["mode", "(a) last chunk normalized → final stored, median s", "per run s", "(b) last chunk prediction succeeded → final stored, median s", "per run s", "final → complete, median s", "jobs started after the last chunk", "windows", "soundtrack done before the first normalize pass, median s", "total s"],
  [row("progressive (`ASSEMBLY=progressive`, default)", progressive), row("stitch after all (`ASSEMBLY=after_all`)", afterAll)],
)}

Where (a) goes in progressive mode, medians: media-node's ffmpeg work in the assemble request (\`encode_seconds\`: probing the pieces, rendering the windows the last chunk left — with the decorations the normalize passes could not draw, those on a transition's overlap — and the stream-copy concat with the soundtrack), of which the windows and their frames; "the rest" is (a) minus that ffmpeg time: the Durable Object's decisions (the mux job is handed to the consumer that reported the last piece done, no queue hop), signing, the final file's upload, and any window job still running when the last chunk was done, which the assembly waits for (the event log has no event for the mux job's start, so these are not told apart). The assembly downloads none of its inputs that media-node stored itself: it reads them from the copies it kept (media-node/piece-cache.ts; last column, of chunks + windows + the soundtrack). The captions are timed from each voice line's measured speech as soon as the lines are stored (worker/run/decorations-wait.ts timedCues), before the first normalize pass; the last chunk's pass still waits for the decorations when every other chunk is done and they are not known yet, so it draws its end card and captions. A chunk's pass also renders the windows it leaves whose other chunks were normalized when it was claimed (worker/chunks/windows.ts): for the last chunk, usually all of them, and then the assembly is only the stream-copy concat with the soundtrack. Stitch-after-all's mux only remuxes the stitched file; its stitch job runs inside (a) and reports no such split.

${table(
  ["mode", "(a) median s", "media-node ffmpeg s", "windows rendered in it s", "frames re-encoded after the last chunk", "decorated frames drawn by the assembly", "decorated frames drawn in the chunks' normalize passes (copied)", "the rest s", "runs whose last chunk drew its decorations in its pass", "inputs read from media-node's copies", "windows rendered in the chunks' passes", "runs whose last chunk's pass rendered its windows"],
  [breakdownRow("progressive", progressive)],
)}

| target (progressive, medians; ratio stitch-after-all / progressive, same run) | result |
| --- | --- |
| (a) last chunk normalized → final stored | ${verdict((r) => r.fromNormalized)} |
| (b) last chunk prediction succeeded → final stored | ${verdict((r) => r.fromSucceeded)} |
`;
}

if (isMain(import.meta.url)) {
  const section = await assemblyBench({ runs: numberFlag("runs", 3), duration: numberFlag("duration", 30) });
  console.log(section);
  writeSection(SECTION, section);
}
