import { type CostEstimate, EndStatus, type Phase, type VideoStatus } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import { lastEventId } from "./event-log.ts";
import { jobView } from "./jobs.ts";
import { readRow, readState } from "./run-row.ts";
import { costFields, ledgerEntries, ledgerTotals } from "./ledger.ts";
import { phaseProgress } from "./progress.ts";
import { currentJobs, currentWork, remainingSecondsAt } from "./timings.ts";
import { END_EVENT, VIDEO_TRANSITIONS, videoGuard, videoTransition } from "./video-machine.ts";
import type { RunContext, RunRow, Snapshot, StartInput } from "./types.ts";

/**
 * The run's own row: the video's status, phase, progress, spec and error. Its status moves
 * only by the video lifecycle table (video-machine.ts); every UPDATE of it here is guarded by
 * the table's `from` list.
 */

const ENDED: readonly VideoStatus[] = EndStatus.options;

export function isEnded(status: VideoStatus): boolean {
  return ENDED.includes(status);
}


/** The run's row, queued. False when the run exists already (a retried start changes nothing). */
export function createRun(sql: SqlStorage, input: StartInput, now = Date.now()): boolean {
  if (readRow(sql)) return false;
  sql.exec(
    `INSERT INTO run (id, video_id, tenant_id, request, spec, chunk_plan, cost_estimate, status, phase, progress, created_at, updated_at, last_progress_at)
     VALUES (1, ?, ?, ?, NULL, NULL, ?, 'queued', 'queued', 0, ?, ?, ?)`,
    input.video_id,
    input.tenant_id,
    JSON.stringify(input.request),
    input.cost_estimate ? JSON.stringify(input.cost_estimate) : null,
    now,
    now,
    now,
  );
  return true;
}

/** What planning decided: the spec, its chunks and their estimate. */
export function storePlan(sql: SqlStorage, spec: VideoSpec, chunkPlan: ChunkPlan[], costEstimate: CostEstimate): void {
  sql.exec("UPDATE run SET spec = ?, chunk_plan = ?, cost_estimate = ?, updated_at = ? WHERE id = 1", JSON.stringify(spec), JSON.stringify(chunkPlan), JSON.stringify(costEstimate), Date.now());
}

export function storeConsistencyContext(sql: SqlStorage, context: string): void {
  sql.exec("UPDATE run SET consistency_context = ?, updated_at = ? WHERE id = 1", context, Date.now());
}

/** A complete video is processed again from the chunk phase (a regenerated beat), with its new spec. */
export function reopenRun(sql: SqlStorage, spec: VideoSpec, chunkPlan: ChunkPlan[], progress: number, now = Date.now()): void {
  sql.exec(
    `UPDATE run SET spec = ?, chunk_plan = ?, status = ?, phase = 'generating_chunks', progress = ?, error = NULL, completed_at = NULL, last_progress_at = ?, updated_at = ? WHERE id = 1 AND ${videoGuard("reopen")}`,
    JSON.stringify(spec),
    JSON.stringify(chunkPlan),
    VIDEO_TRANSITIONS.reopen.to,
    progress,
    now,
    now,
  );
}

/** The run made progress: the stall timer starts again. */
export function touchRun(sql: SqlStorage, now = Date.now()): void {
  sql.exec("UPDATE run SET last_progress_at = ?, updated_at = ? WHERE id = 1", now, now);
}

/** Into `phase` (a processing video only), announced, with the progress it brings. */
export async function enterPhase(run: RunContext, phase: Phase): Promise<void> {
  const row = run.row();
  if (!row || row.phase === phase || !videoTransition(row.status, "advance")) return;
  run.sql.exec(`UPDATE run SET phase = ?, status = ?, updated_at = ? WHERE id = 1 AND ${videoGuard("advance")}`, phase, VIDEO_TRANSITIONS.advance.to, Date.now());
  run.log.info("phase.changed", { phase, from: row.phase });
  run.event("phase", { phase, status: "processing" });
  await updateProgress(run);
}

/** Progress from the work done in the current phase, announced when it rose. It never moves backwards within a pass. */
export async function updateProgress(run: RunContext): Promise<void> {
  // Asked after nearly every change of a run: the columns it reads, not the row's long JSON texts.
  const row = run.sql.exec("SELECT status, phase, progress FROM run WHERE id = 1").toArray()[0] as Pick<RunRow, "status" | "phase" | "progress"> | undefined;
  if (!row || isEnded(row.status)) return;
  const computed = phaseProgress(row.phase, currentJobs(run.sql, run.config));
  // A retried job does not undo the work that was shown.
  const progress = Math.max(row.progress, Math.min(99, Math.round(computed * 10) / 10));
  if (progress === row.progress) return;
  run.sql.exec("UPDATE run SET progress = ? WHERE id = 1", progress);
  run.event("progress", { progress, phase: row.phase, ...costFields(run.costs()), estimated_time_remaining: secondsLeft(run, row.status) });
}

/** Seconds left: the critical path of the remaining work, timed by observed job durations (timings.ts, eta.ts). */
export function secondsLeft(run: Pick<RunContext, "sql" | "config">, status: VideoStatus): number | null {
  if (isEnded(status)) return 0;
  const { remaining } = currentWork(run.sql, run.config);
  return remaining ? Math.max(1, Math.round(remainingSecondsAt(remaining, Date.now()))) : null;
}

/** The video's end, written; false when it had ended already. */
export function endRun(sql: SqlStorage, status: EndStatus, error: string | null, now = Date.now()): { progress: number } | false {
  const row = readRow(sql);
  const event = END_EVENT[status];
  if (!row || !videoTransition(row.status, event)) return false;
  const progress = status === "complete" ? 100 : row.progress;
  sql.exec(`UPDATE run SET status = ?, phase = ?, progress = ?, error = ?, completed_at = ?, updated_at = ? WHERE id = 1 AND ${videoGuard(event)}`, status, status, progress, error, now, now);
  return { progress };
}

/** The whole run as clients see it (contracts/live.ts LiveSnapshot): state, costs, jobs and their outputs. */
export function snapshotOf(run: Pick<RunContext, "sql" | "config" | "jobs">): Snapshot | null {
  const state = readState(run.sql);
  if (!state) return null;
  const ledger = ledgerEntries(run.sql);
  const { spent, pending, byPhase } = ledgerTotals(ledger);
  const jobs = run.jobs.list();
  const outputs: Record<string, unknown> = {};
  for (const job of jobs) if (job.output) outputs[job.id] = JSON.parse(job.output);
  return {
    ...state,
    cost_usd: spent,
    cost_pending_usd: pending,
    cost_by_phase: byPhase,
    cost_ledger: ledger,
    estimated_time_remaining: secondsLeft(run, state.status),
    jobs: jobs.map(jobView),
    outputs,
    last_event: lastEventId(run.sql),
  };
}
