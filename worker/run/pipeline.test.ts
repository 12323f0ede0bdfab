import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { GenerateRequest } from "../../contracts/api.ts";
import { chunkJobId, type JobStatus } from "../../contracts/live.ts";
import { beatEndView } from "../chunks/conditioning.ts";
import { type ChunkPlan, planChunks, seamKeyframes } from "../chunks/plan.ts";
import { plannedSeams } from "../references/seam-scores.ts";
import type { AssembleInput, AssemblyDecorations, SeamMeasureInput, WindowInput } from "../steps/assembly.ts";
import { chunkDecorations, decorationPieces, decorationsRevision, ownFrames } from "../chunks/decorations.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { cueFrames } from "../../contracts/media.ts";
import { loadConfig } from "../config.ts";
import { planVideo } from "../planning/plan.ts";
import type { JobKind, JobRow } from "./jobs.ts";
import { type AssemblyView, assembleInput, seamJobs, windowJobs, windowsLeftToAssembly } from "./assembly.ts";
import { chooseDispatch, decideAfter, decideOnPublish, type PipelineSettings, type PipelineView, type PlanOutput } from "./pipeline.ts";
import { planRegeneration } from "./regenerate.ts";
import type { RunState } from "./types.ts";

/**
 * The pipeline's decisions as plain functions: no Durable Object, no storage, just a run's
 * jobs in and what should follow out.
 */

const SETTINGS: PipelineSettings = { maxChunkFrames: 48, consistencyDriftThreshold: 20, assembly: "after_all" };
const PROGRESSIVE: PipelineSettings = { ...SETTINGS, assembly: "progressive" };
const request = GenerateRequest.parse({ prompt: "A reusable steel water bottle for trail runners", duration_s: 15 });
let plan: PlanOutput & { spec: PipelineView["spec"] & object };
let chunkPlan: ChunkPlan[];

beforeAll(async () => {
  plan = (await planVideo({ ...loadConfig(env), planner: "local" }, request)) as typeof plan;
  chunkPlan = planChunks(plan.spec, { maxChunkFrames: SETTINGS.maxChunkFrames });
});

function job(id: string, kind: JobKind, status: JobStatus, fields: { output?: unknown; input?: unknown; beat?: number; idx?: number } = {}): JobRow {
  return {
    id,
    kind,
    phase: "",
    beat: fields.beat ?? null,
    idx: fields.idx ?? 0,
    attempt: 1,
    status,
    prediction_id: null,
    input: JSON.stringify(fields.input ?? {}),
    output: fields.output === undefined ? null : JSON.stringify(fields.output),
    error: null,
    errors: "[]",
    depends_on: null,
    model: null,
    estimate_usd: null,
    creating_since: null,
    create_uncertain: 0,
    retry_base: 0,
    not_before: null,
    lease_until: null,
    poll_at: null,
    deadline_at: null,
    started_at: null,
    updated_at: 0,
    created_at: 0,
  };
}

const REFERENCE_TYPES = ["character", "product", "environment"] as const;
const reference = (index: number, status: JobStatus) => ({
  ...job(`reference:${index}`, "reference", status, {
    idx: index,
    input: { index, type: REFERENCE_TYPES[index], source: "generated" },
    output: status === "done" ? { index, key: `r${index}.png`, type: REFERENCE_TYPES[index], source: "generated", analysis: null, palette: [] } : undefined,
  }),
  error: status === "failed" ? "prediction p1 failed: draft: injected failure" : null,
});
const chunk = (c: ChunkPlan, status: JobStatus, drift: number | null = null) =>
  job(chunkJobId(c.chunk_num), "chunk", status, { beat: c.beat_index, idx: c.chunk_num, input: c, output: status === "done" ? { key: `c${c.chunk_num}.mp4`, frames: c.frames, keyframes: [0, ...seamKeyframes(c)], reference_drift: drift } : undefined });
/** The plan with its voiceover off (and so no captions). */
const silentSpec = () => ({ ...plan.spec, copy: { ...plan.spec.copy, voiceover: { ...plan.spec.copy.voiceover, enabled: false }, captions: "none" as const } });
const view = (jobs: JobRow[], overrides: Partial<PipelineView> = {}): PipelineView => ({ request, spec: plan.spec, chunkPlan, jobs, ...overrides });
const kinds = (decisions: ReturnType<typeof decideAfter>) => decisions.map((d) => (d.kind === "phase" ? `phase ${d.phase}` : d.kind === "insert" ? `insert ${d.jobs.map((j) => j.id).join(",")}` : d.kind));

describe("after the plan", () => {
  it("stores the spec, reads the priors, starts the references, the music and each voice line alongside, and enters the reference phase", () => {
    const done = job("plan", "plan", "done", { output: plan });
    const decisions = decideAfter(done, view([done], { spec: null, chunkPlan: null }), SETTINGS);
    const voices = plan.spec.copy.voiceover.lines.map((_, i) => `voice:${i}`);
    expect(voices.length).toBeGreaterThan(1);
    expect(kinds(decisions)).toEqual(["store_plan", "load_priors", `insert reference:0,reference:1,reference:2,music,${voices.join(",")}`, "phase generating_references"]);
    const silent = job("plan", "plan", "done", { output: { ...plan, spec: silentSpec() } });
    expect(kinds(decideAfter(silent, view([silent], { spec: null, chunkPlan: null }), SETTINGS))[2]).toBe("insert reference:0,reference:1,reference:2,music");
    expect(decisions[0]).toMatchObject({ kind: "store_plan", chunkPlan, costEstimate: plan.cost_estimate });
  });

  it("ends the video when the plan is estimated above max_cost_usd, after telling the plan", () => {
    const done = job("plan", "plan", "done", { output: plan });
    const capped = GenerateRequest.parse({ ...request, max_cost_usd: plan.cost_estimate.total_usd / 2 });
    const decisions = decideAfter(done, view([done], { request: capped }), SETTINGS);
    expect(kinds(decisions)).toEqual(["store_plan", "end"]);
    expect(decisions[1]).toMatchObject({ status: "failed", error: expect.stringMatching(/^the planned ad is estimated at \$[\d.]+, over max_cost_usd/) });
  });
});

describe("after a reference, a storyboard frame", () => {
  it("waits for every reference, then builds the consistency context and starts one storyboard frame per beat", () => {
    expect(decideAfter(reference(0, "done"), view([reference(0, "done"), reference(1, "predicting"), reference(2, "done")]), SETTINGS)).toEqual([]);
    const all = [reference(2, "done"), reference(0, "done"), reference(1, "done")];
    const decisions = decideAfter(all[0]!, view(all), SETTINGS);
    expect(kinds(decisions)).toEqual(["references_ready", `insert ${plan.spec.beats.map((b) => `storyboard:${b.index}`).join(",")}`, "phase storyboarding"]);
    const ready = decisions[0] as Extract<(typeof decisions)[number], { kind: "references_ready" }>;
    expect(ready.references.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(ready.context.length).toBeGreaterThan(0);
  });

  it("goes on without a reference that failed every attempt: a warning, the other two, and a context that says what is missing (SPEC §5.7)", () => {
    const settled = [reference(0, "failed"), reference(1, "done"), reference(2, "predicting")];
    // Told at once, even while another reference still runs.
    const early = decideAfter(settled[0]!, view(settled), SETTINGS);
    expect(kinds(early)).toEqual(["warning"]);
    expect(early[0]).toMatchObject({ jobId: "reference:0", message: "reference image 1 (character) could not be made, the other image models included: prediction p1 failed: draft: injected failure; the video goes on without it" });
    const all = [reference(0, "failed"), reference(1, "done"), reference(2, "done")];
    const decisions = decideAfter(all[2]!, view(all), SETTINGS);
    expect(kinds(decisions)).toEqual(["references_ready", `insert ${plan.spec.beats.map((b) => `storyboard:${b.index}`).join(",")}`, "phase storyboarding"]);
    const ready = decisions[0] as Extract<(typeof decisions)[number], { kind: "references_ready" }>;
    expect(ready.references.map((r) => r.index)).toEqual([1, 2]);
    expect(ready.missing).toEqual([{ index: 0, type: "character", source: "generated", reason: "prediction p1 failed: draft: injected failure" }]);
    expect(ready.context.split("\n")[0]).toMatch(/^CHARACTER APPEARANCE: .*; no character reference image$/);
  });

  it("with no reference at all, the storyboard sets the look and the context says there are none", () => {
    const all = [reference(0, "failed"), reference(1, "failed"), reference(2, "failed")];
    const decisions = decideAfter(all[1]!, view(all), SETTINGS);
    expect(kinds(decisions)).toEqual(["warning", "references_ready", `insert ${plan.spec.beats.map((b) => `storyboard:${b.index}`).join(",")}`, "phase storyboarding"]);
    const ready = decisions[1] as Extract<(typeof decisions)[number], { kind: "references_ready" }>;
    expect(ready.references).toEqual([]);
    expect(ready.missing.map((m) => m.type)).toEqual(["character", "product", "environment"]);
    const lines = ready.context.split("\n");
    expect(lines[0]).toMatch(/; no character reference image$/);
    expect(lines[1]).toMatch(/; no product reference image$/);
    expect(lines[3]).toMatch(/; no reference images$/);
    expect(lines[4]).toMatch(/; no environment reference image$/);
  });

  it("waits for every storyboard frame, then starts each beat's chunk chain", () => {
    const boards = plan.spec.beats.map((b) => job(`storyboard:${b.index}`, "storyboard", "done", { beat: b.index }));
    expect(decideAfter(boards[0]!, view([...boards.slice(1), { ...boards[0]!, status: "ingesting" }]), SETTINGS)).toEqual([]);
    const decisions = decideAfter(boards[0]!, view(boards), SETTINGS);
    expect(kinds(decisions)).toEqual([`insert ${chunkPlan.map((c) => chunkJobId(c.chunk_num)).join(",")}`, "phase generating_chunks"]);
    const inserted = (decisions[0] as Extract<(typeof decisions)[number], { kind: "insert" }>).jobs;
    // Each chunk after the first of its beat starts from its previous chunk's last frame.
    for (const [i, c] of chunkPlan.entries()) expect(inserted[i]!.dependsOn).toBe(c.first_in_beat ? undefined : chunkJobId(c.chunk_num - 1));
  });
});

describe("after a chunk, the music, the stitch and the mux (no voiceover)", () => {
  const view = (jobs: JobRow[], overrides: Partial<PipelineView> = {}): PipelineView => ({ request, spec: silentSpec(), chunkPlan, jobs, ...overrides });

  it("releases the chunk's dependents, warns of colour drift, and stitches once every chunk is done, in order", () => {
    const [first, ...rest] = chunkPlan;
    const drifting = chunk(first!, "done", 35);
    expect(kinds(decideAfter(drifting, view([drifting, ...rest.map((c) => chunk(c, "predicting"))]), SETTINGS))).toEqual(["warning", "release"]);
    const done = [...[...rest].reverse().map((c) => chunk(c, "done")), chunk(first!, "done", 5)];
    const decisions = decideAfter(done.at(-1)!, view(done), SETTINGS);
    expect(kinds(decisions)).toEqual(["release", "insert stitch", "phase stitching"]);
    const stitch = (decisions[1] as Extract<(typeof decisions)[number], { kind: "insert" }>).jobs[0]!;
    expect((stitch.input as { chunks: ChunkPlan[] }).chunks.map((c) => c.chunk_num)).toEqual(chunkPlan.map((c) => c.chunk_num));
  });

  it("muxes once both the stitched video and the music are done, whichever comes last", () => {
    const chunks = chunkPlan.map((c) => chunk(c, "done"));
    const music = job("music", "music", "done");
    const stitched = job("stitch", "stitch", "done");
    expect(kinds(decideAfter(music, view([...chunks, music, job("stitch", "stitch", "running")]), SETTINGS))).toEqual([]);
    expect(kinds(decideAfter(stitched, view([...chunks, job("music", "music", "ingesting"), stitched]), SETTINGS))).toEqual(["phase adding_music"]);
    expect(kinds(decideAfter(stitched, view([...chunks, music, stitched]), SETTINGS))).toEqual(["phase adding_music", "insert mux"]);
    expect(kinds(decideAfter(music, view([...chunks, music, stitched]), SETTINGS))).toEqual(["insert mux"]);
    // Music done before the chunks: the stitch starts with the last chunk, not with the music.
    expect(kinds(decideAfter(music, view([...chunks.slice(1), chunk(chunkPlan[0]!, "normalizing"), music]), SETTINGS))).toEqual([]);
  });

  it("ends the video complete when the mux is done", () => {
    expect(decideAfter(job("mux", "mux", "done"), view([]), SETTINGS)).toEqual([{ kind: "end", status: "complete", error: null }]);
  });
});

describe("when a chunk publishes its last frame", () => {
  const red = [{ hex: "#C0392B", share: 1, lab: [45, 60, 40] as [number, number, number] }];
  const blue = [{ hex: "#1030E0", share: 1, lab: [32, 60, -100] as [number, number, number] }];
  const settings = { consistencyDriftThreshold: 20, conditioning: "continuity" as const, models: { video: "adreel/draft-video" } };
  const references = [0, 1, 2].map((index) => job(`reference:${index}`, "reference", "done", { idx: index, output: { index, key: `r${index}.png`, type: "product", source: "generated", analysis: null, palette: red } }));
  const publish = (palette: typeof red, over: Partial<PipelineView> = {}) => {
    // A beat of several chunks whose second chunk gets no end frame to lean on.
    const drifting = chunkPlan.find((c) => c.chunks_in_beat >= 2 && c.first_in_beat && !beatEndView(chunkPlan[c.chunk_num + 1]!, plan.spec.fps))!;
    const next = chunkPlan[drifting.chunk_num + 1]!;
    const published = chunk(drifting, "normalizing");
    const waiting = { ...chunk(next, "waiting"), depends_on: published.id };
    return { next, decisions: decideOnPublish(published, { last_frame_key: "l.png", raw_key: "r.mp4", palette }, view([...references, published, waiting], over), settings) };
  };

  it("re-anchors the next chunk of the beat when the frame drifted past the threshold, and says so before releasing it", () => {
    const { next, decisions } = publish(blue);
    expect(kinds(decisions)).toEqual(["drift_correction", "release"]);
    const [told, released] = decisions as [Extract<(typeof decisions)[number], { kind: "drift_correction" }>, Extract<(typeof decisions)[number], { kind: "release" }>];
    expect(told).toMatchObject({ jobId: chunkJobId(next.chunk_num), correction: { action: "reanchor", chunk_num: next.chunk_num - 1, next_chunk_num: next.chunk_num, threshold: 20 } });
    expect(told.correction.drift).toBeGreaterThan(20);
    expect(released.input).toEqual({ ...next, reanchor: { from_chunk: next.chunk_num - 1, strength: (told.correction as { strength: number }).strength, drift: told.correction.drift } });
  });

  it("releases it as planned when the frame is within the threshold, or the run blends composites", () => {
    for (const { next, decisions } of [publish(red), publish(blue, { request: GenerateRequest.parse({ ...request, conditioning: "composite" }) })]) {
      expect(decisions).toEqual([{ kind: "release", after: chunkJobId(next.chunk_num - 1), input: next }]);
    }
  });
});

describe("a voiced ad's soundtrack and its burned captions", () => {
  const lines = () => plan.spec.copy.voiceover.lines;
  const voice = (i: number, status: JobStatus) =>
    job(`voice:${i}`, "voice", status, { idx: i, output: status === "done" ? { key: `v${i}.wav`, text: lines()[i]!.text, at_frame: lines()[i]!.start_frame, bytes: 10 } : undefined });
  const music = job("music", "music", "done", { output: { source_key: "music-source.wav", bytes: 100 } });
  const cues = [{ start_s: 0.5, end_s: 2, text: "Hello" }];
  const soundtrack = job("soundtrack", "soundtrack", "done", { output: { key: "music.m4a", voiceover: { cues } } });

  it("mixes once the music and every voice line are done, each line where it is stored and where it starts", () => {
    const voices = lines().map((_, i) => voice(i, "done"));
    expect(kinds(decideAfter(music, view([music, ...voices.slice(1), voice(0, "predicting")]), SETTINGS))).toEqual([]);
    expect(kinds(decideAfter(voices[0]!, view([job("music", "music", "ingesting"), ...voices]), SETTINGS))).toEqual([]);
    const decisions = decideAfter(voices[0]!, view([music, ...voices]), SETTINGS);
    expect(kinds(decisions)).toEqual(["insert soundtrack"]);
    const mix = (decisions[0] as Extract<(typeof decisions)[number], { kind: "insert" }>).jobs[0]!;
    expect(mix.input).toEqual({ music: { source_key: "music-source.wav", bytes: 100 }, phrases: lines().map((l, i) => ({ key: `v${i}.wav`, text: l.text, at_frame: l.start_frame, bytes: 10 })) });
    expect(kinds(decideAfter(music, view([music, ...voices, soundtrack]), SETTINGS))).toEqual([]);
  });

  it("stitches burned captions only once the mix has timed them, with its cues; muxes once the mix is done", () => {
    expect(plan.spec.copy.captions).toBe("burned");
    const chunks = chunkPlan.map((c) => chunk(c, "done"));
    const voices = lines().map((_, i) => voice(i, "done"));
    expect(kinds(decideAfter(chunks[0]!, view([...chunks, music, ...voices, job("soundtrack", "soundtrack", "running")]), SETTINGS))).toEqual(["release"]);
    const decisions = decideAfter(soundtrack, view([...chunks, music, ...voices, soundtrack]), SETTINGS);
    expect(kinds(decisions)).toEqual(["insert stitch", "phase stitching"]);
    expect((decisions[0] as Extract<(typeof decisions)[number], { kind: "insert" }>).jobs[0]!.input).toMatchObject({ cues });
    const stitched = job("stitch", "stitch", "done");
    // The music alone is not the soundtrack of a voiced ad.
    expect(kinds(decideAfter(stitched, view([...chunks, music, ...voices, job("soundtrack", "soundtrack", "running"), stitched]), SETTINGS))).toEqual(["phase adding_music"]);
    expect(kinds(decideAfter(soundtrack, view([...chunks, music, ...voices, soundtrack, stitched]), SETTINGS))).toEqual(["insert mux"]);
  });

  it("does not wait for the mix to stitch sidecar captions", () => {
    const sidecar = { ...plan.spec, copy: { ...plan.spec.copy, captions: "sidecar" as const } };
    const chunks = chunkPlan.map((c) => chunk(c, "done"));
    const decisions = decideAfter(chunks[0]!, view([...chunks, music], { spec: sidecar }), SETTINGS);
    expect(kinds(decisions)).toEqual(["release", "insert stitch", "phase stitching"]);
    expect((decisions[1] as Extract<(typeof decisions)[number], { kind: "insert" }>).jobs[0]!.input).toMatchObject({ cues: [] });
  });
});

describe("progressive assembly", () => {
  const inserted = (decisions: ReturnType<typeof decideAfter>) => decisions.flatMap((d) => (d.kind === "insert" ? d.jobs : []));
  let spec: ReturnType<typeof silentSpec>;
  let layers: { key: string; from_frame: number; to_frame: number }[];
  let overlays: JobRow;
  beforeAll(() => {
    spec = silentSpec();
    layers = [{ key: "end-card.png", from_frame: spec.total_frames - 24, to_frame: spec.total_frames }];
    overlays = job("overlays", "stitch", "done", { output: { layers, logo: "wordmark", cta_box: null, mark_box: null } });
  });
  const music = job("music", "music", "done");
  /** Land the chunks in `order`; every job the decisions insert is done at once (its output named after it). What each chunk's decisions inserted. */
  function landInOrder(order: ChunkPlan[]) {
    let jobs: JobRow[] = [overlays, ...chunkPlan.map((c) => chunk(c, "predicting"))];
    const steps: { chunk: number; decisions: ReturnType<typeof decideAfter> }[] = [];
    const finish = (decisions: ReturnType<typeof decideAfter>) => {
      for (const j of inserted(decisions)) if (j.kind === "stitch") jobs.push(job(j.id, j.kind, "done", { input: j.input, idx: j.idx, output: { key: `w${j.idx}.mp4` } }));
    };
    for (const c of order) {
      const done = chunk(c, "done");
      jobs = jobs.map((j) => (j.id === done.id ? done : j));
      const decisions = decideAfter(done, view(jobs, { spec }), PROGRESSIVE);
      steps.push({ chunk: c.chunk_num, decisions });
      finish(decisions);
      // A window done lets the seams around it be measured.
      for (const w of inserted(decisions).filter((j) => j.id.startsWith("stitch:"))) finish(decideAfter(jobs.find((j) => j.id === w.id)!, view(jobs, { spec }), PROGRESSIVE));
    }
    return { jobs, steps };
  }

  it("renders each window once, as soon as the chunks it reads are done, whatever order they land in, and measures every seam once", () => {
    const { jobs, steps } = landInOrder([...chunkPlan].reverse());
    const windows = jobs.filter((j) => j.id.startsWith("stitch:"));
    expect(windows.length).toBeGreaterThan(0);
    expect(new Set(windows.map((w) => w.id)).size).toBe(windows.length);
    for (const { chunk: num, decisions } of steps) {
      for (const w of inserted(decisions).filter((j) => j.id.startsWith("stitch:"))) {
        const input = w.input as WindowInput;
        // Inserted the moment the last of its chunks landed: it reads the chunk just done, with the decorations.
        expect(input.chunks.flatMap((c, i) => (c.key === null ? [] : [i]))).toContain(num);
        expect(input.decorations.overlays).toEqual(layers);
      }
    }
    // The end card's frames are a window of their own (or part of one).
    expect(windows.some((w) => (JSON.parse(w.input) as WindowInput).window.to_frame === spec.total_frames)).toBe(true);
    const measured = jobs.filter((j) => j.id.startsWith("seams:")).flatMap((j) => (JSON.parse(j.input) as SeamMeasureInput).measure);
    expect(measured.sort((a, b) => a - b)).toEqual(plannedSeams(chunkPlan).map((_, i) => i));
    expect(kinds(steps.at(-1)!.decisions)).toContain("phase stitching");
  });

  it("plans a view once: what one view is asked, in any order, equals what fresh views of the same run answer, at every stage", () => {
    const windows = landInOrder(chunkPlan).jobs.filter((j) => j.id.startsWith("stitch:"));
    const stages = Array.from({ length: chunkPlan.length + 1 }, (_, k) => [[], windows].map((made) => [overlays, ...chunkPlan.map((c) => chunk(c, c.chunk_num < k ? "done" : "predicting")), ...made])).flat();
    const fresh = (state: JobRow[]): AssemblyView => ({ spec, chunkPlan, jobs: state, cues: [] }); // stages: the first k chunks done, their windows made or not; one fresh view per question, or one per stage, last stage first
    const apart = stages.map((s) => ({ input: assembleInput(fresh(s)), left: windowsLeftToAssembly(fresh(s)), seams: seamJobs(fresh(s)), windows: windowJobs(fresh(s)) }));
    const together = [...stages].reverse().map((s, _, __, view = fresh(s)) => ({ input: assembleInput(view), left: windowsLeftToAssembly(view), seams: seamJobs(view), windows: windowJobs(view) }));
    expect([together.reverse(), apart.some((a) => a.windows.length > 0) && apart.some((a) => a.input !== null)]).toEqual([apart, true]);
  });

  it("keeps a run's assembly when ASSEMBLY changes mid-run: a run with the overlays job never stitches after all, one without never assembles", () => {
    const jobs = [overlays, music, ...chunkPlan.map((c) => chunk(c, "done"))];
    const last = jobs.at(-1)!;
    // Deployed with after_all while the run went on: its chunks may carry the decorations already.
    const kept = inserted(decideAfter(last, view(jobs, { spec }), SETTINGS)).map((j) => j.id);
    expect(kept).not.toContain("stitch");
    expect(kept.some((id) => id.startsWith("stitch:") || id === "mux")).toBe(true);
    // Started under after_all (storyboard, no overlays job), then deployed with progressive.
    const plain = [job("storyboard:0", "storyboard", "done"), music, ...chunkPlan.map((c) => chunk(c, "done"))];
    const decisions = inserted(decideAfter(plain.at(-1)!, view(plain, { spec }), PROGRESSIVE)).map((j) => j.id);
    expect(decisions).toContain("stitch");
    expect(decisions.some((id) => id.startsWith("stitch:") || id === "mux")).toBe(false);
  });

  it("with the soundtrack ready, the last chunk's windows are rendered by the assembly itself; the seams around them are measured once it is done, then the video ends", () => {
    const last = chunkPlan.at(-1)!;
    const { jobs } = landInOrder(chunkPlan.slice(0, -1));
    const done = chunk(last, "done");
    const before = [...jobs.map((j) => (j.id === done.id ? done : j)), music];
    const decisions = decideAfter(done, view(before, { spec }), PROGRESSIVE);
    expect(inserted(decisions).filter((j) => j.id.startsWith("stitch:"))).toEqual([]);
    expect(kinds(decisions).slice(-3)).toEqual(["phase stitching", "insert mux", "phase adding_music"]);
    const input = inserted(decisions).find((j) => j.id === "mux")!.input as AssembleInput;
    // The end card's frames, over the last chunk, are one of them.
    expect(input.render.some((w) => w.to_frame === spec.total_frames)).toBe(true);
    const early = inserted(decisions).filter((j) => j.id.startsWith("seams:")).map((j) => job(j.id, j.kind, "done", { input: j.input }));
    const mux = job("mux", "mux", "done", { input, output: { key: "final.mp4", rendered: input.render.map((w) => ({ from_frame: w.from_frame, key: `r${w.from_frame}.mp4` })) } });
    const after = decideAfter(mux, view([...before, ...early, mux], { spec }), PROGRESSIVE);
    // Seams that read a window the assembly rendered wait for it (one job); with none, the video ends at once.
    const late = inserted(after).map((j) => job(j.id, j.kind, "done", { input: j.input }));
    expect(late.length).toBeLessThanOrEqual(1);
    const measuredSeams = [...jobs, ...early, ...late].filter((j) => j.id.startsWith("seams:")).flatMap((j) => (JSON.parse(j.input) as SeamMeasureInput).measure);
    expect(measuredSeams.sort((a, b) => a - b)).toEqual(plannedSeams(chunkPlan).map((_, i) => i));
    const ending = late.length ? decideAfter(late[0]!, view([...before, ...early, mux, ...late], { spec }), PROGRESSIVE) : after;
    expect(kinds(ending)).toEqual(["end"]);
  });

  it("the last chunk done while a window job still runs: its own windows wait for that job and go into the assembly, never into jobs of their own", () => {
    const last = chunkPlan.at(-1)!;
    const { jobs } = landInOrder(chunkPlan.slice(0, -1));
    const running = jobs.filter((j) => j.id.startsWith("stitch:"))[0]!;
    const done = chunk(last, "done");
    const before = [...jobs.map((j) => (j.id === done.id ? done : j.id === running.id ? { ...running, status: "running" as const, output: null } : j)), music];
    const decisions = decideAfter(done, view(before, { spec }), PROGRESSIVE);
    expect(inserted(decisions).filter((j) => j.id.startsWith("stitch:") || j.id === "mux")).toEqual([]);
    expect(kinds(decisions)).toContain("phase stitching");
    const after = decideAfter(running, view([...before.filter((j) => j.id !== running.id), running], { spec }), PROGRESSIVE);
    expect(inserted(after).filter((j) => j.id.startsWith("stitch:"))).toEqual([]);
    const input = inserted(after).find((j) => j.id === "mux")!.input as AssembleInput;
    expect(input.windows.map((w) => w.from_frame)).toContain(running.idx);
    // The end card's frames, over the last chunk, are rendered by the assembly.
    expect(input.render.some((w) => w.to_frame === spec.total_frames)).toBe(true);
  });

  it("waits for the overlays and, with burned captions, for the voice's timing before any window", () => {
    const first = chunkPlan.slice(0, 2).map((c) => chunk(c, "done"));
    expect(inserted(decideAfter(first[1]!, view([...first, job("overlays", "stitch", "running")], { spec }), PROGRESSIVE))).toEqual([]);
    const voiced = view([...first, overlays, job("soundtrack", "soundtrack", "running")]);
    expect(inserted(decideAfter(first[1]!, voiced, PROGRESSIVE))).toEqual([]);
  });

  it("assembles once every window and the soundtrack are done, in one pass; its last seams are measured beside it, and the video ends when both are done", () => {
    const { jobs } = landInOrder(chunkPlan);
    const lastWindow = jobs.filter((j) => j.id.startsWith("stitch:")).at(-1)!;
    expect(kinds(decideAfter(lastWindow, view([...jobs, job("music", "music", "ingesting")], { spec }), PROGRESSIVE))).toEqual([]);
    const decisions = decideAfter(music, view([...jobs, music], { spec }), PROGRESSIVE);
    expect(kinds(decisions)).toEqual(["insert mux", "phase adding_music"]);
    const input = inserted(decisions)[0]!.input as AssembleInput;
    expect(input.chunks.map((c) => c.key)).toEqual(chunkPlan.map((c) => `c${c.chunk_num}.mp4`));
    expect(input.windows.map((w) => w.key).sort()).toEqual(jobs.filter((j) => j.id.startsWith("stitch:")).map((j) => `w${j.idx}.mp4`).sort());
    expect(input.overlays).toMatchObject({ logo: "wordmark" });
    const mux = job("mux", "mux", "done", { input });
    const measuring = job("seams:1", "stitch", "running", { input: { measure: [9] } });
    expect(kinds(decideAfter(mux, view([...jobs, music, mux, measuring], { spec }), PROGRESSIVE))).toEqual([]);
    const measured = { ...measuring, status: "done" as const };
    expect(kinds(decideAfter(measured, view([...jobs, music, mux, measured], { spec }), PROGRESSIVE))).toEqual(["end"]);
  });
});

describe("progressive assembly with decorations drawn in the normalize pass", () => {
  const inserted = (decisions: ReturnType<typeof decideAfter>) => decisions.flatMap((d) => (d.kind === "insert" ? d.jobs : []));
  /** The last chunk done after every other chunk and window, the soundtrack ready: the assembly's input and the seams measured beside it. */
  function assembleAfterLast(spec: ReturnType<typeof silentSpec>, layers: AssemblyDecorations["overlays"], decorated: ChunkOutput["decorated"] | null) {
    const overlays = job("overlays", "stitch", "done", { output: { layers, logo: "wordmark", cta_box: null, mark_box: null } });
    let jobs: JobRow[] = [overlays, job("music", "music", "done"), ...chunkPlan.slice(0, -1).map((c) => chunk(c, "done"))];
    for (let round = 0; round < 2; round++) {
      const last = jobs.at(-1)!;
      for (const j of inserted(decideAfter(last, view(jobs, { spec }), PROGRESSIVE))) if (j.kind === "stitch") jobs.push(job(j.id, j.kind, "done", { input: j.input, idx: j.idx, output: { key: `w${j.idx}.mp4` } }));
    }
    const lastChunk = chunkPlan.at(-1)!;
    const plain = chunk(lastChunk, "done");
    const done = { ...plain, output: JSON.stringify({ ...JSON.parse(plain.output!), ...(decorated ? { decorated } : {}) }) };
    const decisions = decideAfter(done, view([...jobs, done], { spec }), PROGRESSIVE);
    return { input: inserted(decisions).find((j) => j.id === "mux")!.input as AssembleInput, seams: inserted(decisions).filter((j) => j.id.startsWith("seams:")).map((j) => j.input as SeamMeasureInput) };
  }

  it("leaves the frames the last chunk drew out of the assembly's windows and decorations (they are copied), but not out of the seam measures", () => {
    const spec = silentSpec();
    const last = chunkPlan.at(-1)!;
    const endCard = { key: "end-card.png", from_frame: spec.total_frames - last.frames - 12, to_frame: spec.total_frames };
    const full: AssemblyDecorations = { overlays: [endCard], cues: [] };
    const drawn = chunkDecorations(full, last, spec.fps)!;
    const own = ownFrames(last);
    expect(drawn.overlays).toEqual([{ ...endCard, from_frame: own.from, to_frame: spec.total_frames }]);
    const frames = [{ from: own.from - last.video_start_frame, to: last.frames }];
    const plain = assembleAfterLast(spec, [endCard], null);
    const predecorated = assembleAfterLast(spec, [endCard], { frames, revision: decorationsRevision(drawn, spec.fps) });
    // Undecorated, the assembly renders the end card over the last chunk; pre-decorated, only the frames before its own region.
    expect(plain.input.render.some((w) => w.to_frame === spec.total_frames)).toBe(true);
    expect(plain.input.decorations.overlays).toEqual([endCard]);
    expect(predecorated.input.decorations.overlays).toEqual([{ ...endCard, to_frame: own.from }]);
    expect([...predecorated.input.render, ...predecorated.input.windows].every((w) => w.to_frame <= own.from)).toBe(true);
    for (const seams of predecorated.seams) expect(seams.decorations).toEqual(full);
    // A chunk drawn with other decorations (another revision) counts as undecorated.
    const stale = assembleAfterLast(spec, [endCard], { frames, revision: decorationsRevision({ overlays: [], cues: [] }, spec.fps) });
    expect(stale.input).toEqual(plain.input);
  });

  it("cuts a burned cue the chunk drew part of into the part left: a cue from the first frame left to the last", () => {
    const spec = silentSpec();
    const last = chunkPlan.at(-1)!;
    const own = ownFrames(last);
    const cue = { start_s: (own.from - 10) / spec.fps, end_s: (own.from + 20) / spec.fps, text: "Run further" };
    const full: AssemblyDecorations = { overlays: [], cues: [cue] };
    const drawn = chunkDecorations(full, last, spec.fps)!;
    expect(drawn.cues.map((c) => cueFrames(c, spec.fps))).toEqual([{ from: own.from, to: own.from + 20 }]);
    expect(decorationPieces(full, [{ from: own.from, to: own.from + 20 }], "outside", spec.fps).cues.map((c) => cueFrames(c, spec.fps))).toEqual([{ from: own.from - 10, to: own.from }]);
    expect(decorationsRevision(drawn, spec.fps)).not.toBe(decorationsRevision(full, spec.fps));
  });
});

describe("which ready jobs are sent", () => {
  it("paid jobs only while slots are free, the longest remaining chain of a beat first; unpaid jobs always", () => {
    const chunks = [0, 1, 2, 3, 4].map((n) => job(`chunk:${n}`, "chunk", "ready", { beat: n < 3 ? 0 : 1, idx: n }));
    const ready = [chunks[3]!, chunks[0]!, job("stitch", "stitch", "ready")];
    const paid = (kind: JobKind) => kind === "chunk";
    expect(chooseDispatch(ready, chunks, paid, 1).map((j) => j.id)).toEqual(["stitch", "chunk:0"]);
    expect(chooseDispatch(ready, chunks, paid, 5).map((j) => j.id)).toEqual(["stitch", "chunk:0", "chunk:3"]);
    expect(chooseDispatch(ready, chunks, paid, 0).map((j) => j.id)).toEqual(["stitch"]);
  });

  it("the main path's gates before the soundtrack's parts, and those before chunks", () => {
    const ready = [job("chunk:0", "chunk", "ready", { beat: 0 }), job("voice:0", "voice", "ready"), job("music", "music", "ready"), job("storyboard:1", "storyboard", "ready", { idx: 1 })];
    const all = () => true;
    expect(chooseDispatch(ready, [ready[0]!], all, 1).map((j) => j.id)).toEqual(["storyboard:1"]);
    expect(chooseDispatch(ready, [ready[0]!], all, 3).map((j) => j.id)).toEqual(["storyboard:1", "voice:0", "music"]);
    expect(chooseDispatch(ready, [ready[0]!], all, 4).map((j) => j.id)).toEqual(["storyboard:1", "voice:0", "music", "chunk:0"]);
  });
});

describe("regenerating a beat", () => {
  const state = (status: RunState["status"]): RunState => ({
    video_id: "v",
    tenant_id: "t",
    request,
    spec: plan.spec,
    chunk_plan: chunkPlan,
    cost_estimate: plan.cost_estimate,
    status,
    phase: status === "complete" ? "complete" : "generating_chunks",
    progress: 50,
    error: null,
    consistency_context: null,
    created_at: 0,
    updated_at: 0,
    completed_at: null,
  });

  it("redoes that beat's chunks only, with the sanitised new prompt in the spec", () => {
    const planned = planRegeneration(state("complete"), 1, 'the bottle {spins} "fast"', SETTINGS.maxChunkFrames);
    expect(planned).toMatchObject({ ok: true, prompt: "the bottle spins fast" });
    if (!planned.ok) return;
    expect(planned.redo.map((c) => c.chunk_num)).toEqual(chunkPlan.filter((c) => c.beat_index === 1).map((c) => c.chunk_num));
    expect(planned.spec.beats[1]!.prompt).toBe("the bottle spins fast");
    expect(planned.spec.beats[0]).toEqual(plan.spec.beats[0]);
  });

  it("refuses an unknown video (404), one that is not complete (409), an unknown beat and an empty prompt (422)", () => {
    expect(planRegeneration(null, 0, null, 48)).toMatchObject({ ok: false, status: 404 });
    expect(planRegeneration(state("processing"), 0, null, 48)).toMatchObject({ ok: false, status: 409 });
    expect(planRegeneration(state("complete"), plan.spec.beats.length, null, 48)).toMatchObject({ ok: false, status: 422, field: "n" });
    expect(planRegeneration(state("complete"), 0, '""{}', 48)).toMatchObject({ ok: false, status: 422, field: "prompt" });
  });
});
