import type { RegenerateOutcome } from "../../contracts/api.ts";
import { chunkJobId } from "../../contracts/live.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import { type ChunkPlan, planChunks } from "../chunks/plan.ts";
import { BEAT_PROMPT_MAX_WORDS, limitWords, sanitiseSlot } from "../planning/prompts.ts";
import { costFields } from "./ledger.ts";
import { isAssemblyPart } from "./assembly.ts";
import { phaseProgress } from "./progress.ts";
import { reopenRun, secondsLeft } from "./run-state.ts";
import type { RunContext, RunState } from "./types.ts";

/**
 * Re-render one beat of a complete video: only that beat's chunks get a new attempt (new
 * predictions, booked in the ledger like any others), then stitch and mux run again.
 * References, storyboards, music and every other chunk are reused. A new prompt replaces
 * the beat's prompt in the spec; its storyboard frame is kept (it sets composition and
 * palette, which the new prompt then steers), so a prompt change costs chunks only.
 * Progress restarts from the chunk phase: it rises again within this new pass.
 */

export type Regeneration = { ok: true; spec: VideoSpec; chunkPlan: ChunkPlan[]; redo: ChunkPlan[]; prompt: string } | Extract<RegenerateOutcome, { ok: false }>;

/** Whether the beat can be regenerated, and with which spec and chunks. Pure. */
export function planRegeneration(state: RunState | null, beat: number, prompt: string | null, maxChunkFrames: number): Regeneration {
  if (!state) return { ok: false, status: 404, error: "video not found" };
  if (state.status !== "complete" || !state.spec || !state.chunk_plan) {
    return { ok: false, status: 409, error: `the video is ${state.status}; only a complete video's beats can be regenerated` };
  }
  if (!state.spec.beats.some((b) => b.index === beat)) {
    return { ok: false, status: 422, field: "n", error: `n: beat ${beat} does not exist (this video has beats 0 to ${state.spec.beats.length - 1})` };
  }
  let spec = state.spec;
  if (prompt !== null) {
    const cleaned = limitWords(sanitiseSlot(prompt, 600), BEAT_PROMPT_MAX_WORDS);
    if (!cleaned) return { ok: false, status: 422, field: "prompt", error: "prompt: nothing usable is left after removing quotes, brackets and control characters" };
    spec = VideoSpec.parse({ ...spec, beats: spec.beats.map((b) => (b.index === beat ? { ...b, prompt: cleaned } : b)) });
  }
  const chunkPlan = planChunks(spec, { maxChunkFrames });
  return { ok: true, spec, chunkPlan, redo: chunkPlan.filter((c) => c.beat_index === beat), prompt: spec.beats.find((b) => b.index === beat)!.prompt };
}

export async function regenerateBeat(run: RunContext, beat: number, prompt: string | null): Promise<RegenerateOutcome> {
  const state = run.state();
  const plan = planRegeneration(state, beat, prompt, run.config.maxChunkFrames);
  if (!plan.ok) return plan;
  for (const chunk of plan.redo) {
    run.jobs.apply("newAttempt", { id: chunkJobId(chunk.chunk_num) }, { to: chunk.first_in_beat ? "ready" : "waiting", reason: null, retries: "fresh", input: chunk });
  }
  // Stitch and mux are created afresh once every chunk is done again (pipeline.ts); so are all
  // of progressive assembly's windows, as their chunks land (a window's bounds may move with a chunk).
  run.jobs.remove(["stitch", "mux", ...run.jobs.list().filter(isAssemblyPart).map((j) => j.id)]);
  const progress = Math.round(phaseProgress("generating_chunks", run.jobs.list()) * 10) / 10;
  reopenRun(run.sql, plan.spec, plan.chunkPlan, progress);
  run.log.info("phase.changed", { phase: "generating_chunks", from: "complete", regenerated_beat: beat, prompt_changed: prompt !== null });
  run.event("regenerate", { beat, prompt: plan.prompt, prompt_changed: prompt !== null, chunk_nums: plan.redo.map((c) => c.chunk_num), status: "processing", phase: "generating_chunks" });
  if (prompt !== null) run.event("spec", { spec: plan.spec, cost_estimate: state!.cost_estimate, chunks: plan.chunkPlan.length });
  run.event("phase", { phase: "generating_chunks", status: "processing" });
  run.event("progress", { progress, phase: "generating_chunks", ...costFields(run.costs()), estimated_time_remaining: secondsLeft(run, run.row()!.status) });
  await run.syncIndex();
  await run.dispatch();
  return { ok: true, chunks: plan.redo.map((c) => c.chunk_num), prompt: plan.prompt };
}
