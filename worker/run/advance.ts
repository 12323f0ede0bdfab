import type { ChunkLastFrame } from "../chunks/output.ts";
import { decideAfter, decideOnPublish, type Decision } from "./pipeline.ts";
import type { HandOff } from "./types.ts";
import type { JobRow } from "./jobs.ts";
import { readState } from "./run-row.ts";
import { enterPhase, storeConsistencyContext, storePlan, updateProgress } from "./run-state.ts";
import { loadDurationPriors } from "./timings.ts";
import { workJobs } from "./work-jobs.ts";
import type { RunContext } from "./types.ts";

/**
 * A job is done: carry out what the pipeline decides (pipeline.ts), in its order, then show
 * the progress made and send what became ready. Decisions are pure data; this is the only
 * place they touch the run. With `handOff`, a job it makes ready may be answered instead of
 * sent (dispatch.ts), for the consumer that finished `finished` to run at once.
 */
export async function advance(run: RunContext, finished: JobRow, handOff?: HandOff): Promise<JobRow | null> {
  const state = readState(run.sql)!;
  const decisions = decideAfter(finished, { request: state.request, spec: state.spec, chunkPlan: state.chunk_plan, jobs: workJobs(run.sql) }, run.config);
  for (const decision of decisions) {
    await carryOut(run, decision);
    if (run.ended()) return null;
  }
  await updateProgress(run);
  return run.dispatch(handOff);
}

/** A chunk published its last frame: release the next chunk of its beat, re-anchored if this one drifted (pipeline.ts `decideOnPublish`). */
export async function afterPublish(run: RunContext, published: JobRow, lastFrame: ChunkLastFrame): Promise<void> {
  const state = readState(run.sql)!;
  const decisions = decideOnPublish(published, lastFrame, { request: state.request, spec: state.spec, chunkPlan: state.chunk_plan, jobs: workJobs(run.sql) }, run.config);
  for (const decision of decisions) await carryOut(run, decision);
}

async function carryOut(run: RunContext, decision: Decision): Promise<void> {
  switch (decision.kind) {
    case "store_plan":
      storePlan(run.sql, decision.spec, decision.chunkPlan, decision.costEstimate);
      for (const note of decision.notes) run.event(note.type, { message: note.message });
      run.event("spec", { spec: decision.spec, cost_estimate: decision.costEstimate, chunks: decision.chunkPlan.length });
      return;
    case "load_priors":
      // The time-remaining estimate's priors, read once (D1's observed means, else defaults).
      await loadDurationPriors(run.sql, run.env.DB, run.config, run.log);
      return;
    case "references_ready": {
      const { references, missing, context } = decision;
      storeConsistencyContext(run.sql, context);
      run.event("reference_images_ready", {
        message: referencesMessage(references.length, missing.length),
        images: await Promise.all(references.map(async (r) => ({ index: r.index, type: r.type, source: r.source, url: await run.sign(r.key), analysis: r.analysis }))),
        missing,
        consistency_context: context,
      });
      await run.syncIndex({ referenceImages: JSON.stringify(references.map((r) => ({ type: r.type, source: r.source, key: r.key, analysis: r.analysis }))) });
      return;
    }
    case "insert":
      run.jobs.insert(decision.jobs);
      return;
    case "release":
      releaseDependents(run, decision.after, decision.input);
      return;
    case "drift_correction": {
      const { correction } = decision;
      run.log.info("chunk.drift_corrected", { job_id: decision.jobId, ...correction });
      run.event("drift_correction", { job_id: decision.jobId, ...correction });
      return;
    }
    case "warning":
      run.event("warning", { message: decision.message, job_id: decision.jobId });
      return;
    case "phase":
      await enterPhase(run, decision.phase);
      return;
    case "end":
      await run.finish(decision.status, decision.error);
  }
}

/** SPEC §5.6's message, and §5.7's when a reference is missing. */
function referencesMessage(made: number, missing: number): string {
  if (missing === 0) return `Using these ${made} reference images for visual consistency across all scenes`;
  if (made === 0) return "No reference image could be made: the storyboard frames set the look of every scene";
  return `Using these ${made} reference image${made === 1 ? "" : "s"} for visual consistency across all scenes (${missing} could not be made)`;
}

/** Chunk k+1 of a beat waits for chunk k's last frame: once it is published, it may start (from `input`, when given). */
export function releaseDependents(run: Pick<RunContext, "jobs">, jobId: string, input?: unknown): void {
  for (const waiting of run.jobs.list("status = 'waiting' AND depends_on = ?", jobId)) run.jobs.apply("release", waiting, input === undefined ? {} : { input });
}
