import { and, inArray, sql as raw } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Prediction } from "../../contracts/prediction.ts";
import type { Config } from "../config.ts";
import type { Log } from "../log.ts";
import { jobDurations } from "../db/schema.ts";
import { spokenLines } from "../../contracts/spec.ts";
import { chunkJobs, type NewJob, referenceJobs, soundtrackJobs, soundtrackMixJob, storyboardJobs } from "./dag.ts";
import { type DurationEstimates, durationEstimates, jobRemainder, type ObservedAttempt, secondsRemaining, type WorkItem } from "./eta.ts";
import { JobKind, type JobRow, type JobState, jobStates, PREDICTION_KINDS } from "./jobs.ts";
import { readRow } from "./run-row.ts";
import type { RunRow, RunState } from "./types.ts";

/**
 * How long the run's jobs take: each attempt's stage times in the run's own SQLite
 * (`attempts`), the priors it read once from D1 when planning ended (`duration_priors`, so a
 * replay of the run estimates the same), and, when the video ends, its observed means folded
 * into D1's `job_durations` for the videos after it. D1 is never needed for a run to go on:
 * a failed read means the configured defaults, a failed write is logged.
 */

interface AttemptRow {
  job_id: string;
  attempt: number;
  kind: JobKind;
  model: string | null;
  started_at: number;
  predicting_at: number | null;
  predicted_at: number | null;
  provider_seconds: number | null;
  done_at: number | null;
}

interface PriorRow {
  kind: JobKind;
  start_seconds: number;
  provider_seconds: number;
  ingest_seconds: number;
}

/** The model a job of this kind runs on, as durations are keyed: the provider model, the planner, or media-node. */
export function modelOfKind(config: Config, kind: JobKind): string {
  switch (kind) {
    case "plan":
      return config.planner === "openai" ? config.openai.plannerModel : "local-planner";
    case "reference":
    case "storyboard":
      return config.models.image;
    case "chunk":
      return config.models.video;
    case "music":
      return config.models.music;
    case "voice":
      return config.models.speech ?? "";
    default:
      return "media-node";
  }
}

// ---------------------------------------------------------------- stage times of each attempt

/** A consumer claimed the attempt's start step (the first claim counts). */
export function attemptStarted(sql: SqlStorage, config: Config, job: Pick<JobRow, "id" | "kind" | "attempt">, now: number): void {
  // Prediction kinds take their model from the prediction; one that never makes one (a brand asset as reference) is not a sample.
  const model = PREDICTION_KINDS.includes(job.kind) ? null : modelOfKind(config, job.kind);
  sql.exec("INSERT OR IGNORE INTO attempts (job_id, attempt, kind, model, started_at) VALUES (?, ?, ?, ?, ?)", job.id, job.attempt, job.kind, model, now);
}

/** The attempt's prediction exists (created, or adopted). */
export function predictionStarted(sql: SqlStorage, jobId: string, attempt: number, model: string, now: number): void {
  sql.exec("UPDATE attempts SET model = ?, predicting_at = COALESCE(predicting_at, ?) WHERE job_id = ? AND attempt = ?", model, now, jobId, attempt);
}

/**
 * The attempt's prediction succeeded. Its provider latency is the longer of what this run's
 * clock saw (created → end seen) and the provider's own `metrics.total_time`: the end may be
 * seen late (a webhook), the creation may be recorded late (a slow create answer).
 */
export function predictionEnded(sql: SqlStorage, jobId: string, attempt: number, prediction: Prediction, now: number): void {
  const reported = prediction.metrics?.total_time;
  const providerSeconds = typeof reported === "number" && Number.isFinite(reported) && reported >= 0 ? reported : 0;
  sql.exec(
    "UPDATE attempts SET predicted_at = ?1, provider_seconds = MAX((?1 - COALESCE(predicting_at, ?1)) / 1000.0, ?2) WHERE job_id = ?3 AND attempt = ?4 AND predicted_at IS NULL",
    now,
    providerSeconds,
    jobId,
    attempt,
  );
}

/** The attempt's output is stored: the job is done. */
export function attemptDone(sql: SqlStorage, jobId: string, attempt: number, now: number): void {
  sql.exec("UPDATE attempts SET done_at = ? WHERE job_id = ? AND attempt = ? AND done_at IS NULL", now, jobId, attempt);
}

function attempts(sql: SqlStorage, where = "1 = 1"): AttemptRow[] {
  return sql.exec(`SELECT job_id, attempt, kind, model, started_at, predicting_at, predicted_at, provider_seconds, done_at FROM attempts WHERE ${where}`).toArray() as unknown as AttemptRow[];
}

/** Stage durations of an attempt, in seconds; a stage not ended yet is null. */
function stagesOf(row: AttemptRow): ObservedAttempt {
  const seconds = (from: number | null, to: number | null) => (from !== null && to !== null ? Math.max(0, (to - from) / 1000) : null);
  if (row.predicting_at === null) return { kind: row.kind, start: seconds(row.started_at, row.done_at), provider: null, ingest: null };
  return { kind: row.kind, start: seconds(row.started_at, row.predicting_at), provider: row.provider_seconds, ingest: seconds(row.predicted_at, row.done_at) };
}

// ---------------------------------------------------------------- priors across videos (D1)

/** Read the priors once, when planning ends: D1's mean for the (kind, model) this run uses, else the configured default. */
export async function loadDurationPriors(sql: SqlStorage, db: D1Database, config: Config, log: Log): Promise<void> {
  if (sql.exec("SELECT 1 FROM duration_priors LIMIT 1").toArray().length > 0) return;
  const wanted = JobKind.options.map((kind) => ({ kind, model: modelOfKind(config, kind) }));
  let observed: (typeof jobDurations.$inferSelect)[] = [];
  try {
    observed = await drizzle(db)
      .select()
      .from(jobDurations)
      .where(and(inArray(jobDurations.kind, JobKind.options), inArray(jobDurations.model, [...new Set(wanted.map((w) => w.model))])));
  } catch (error) {
    log.warn("durations.read_failed", { error, note: "estimating from the defaults" });
  }
  for (const { kind, model } of wanted) {
    const row = observed.find((o) => o.kind === kind && o.model === model);
    const prior = row ? { start: row.startSeconds, provider: row.providerSeconds, ingest: row.ingestSeconds } : config.jobSeconds[kind];
    sql.exec(
      "INSERT OR IGNORE INTO duration_priors (kind, model, start_seconds, provider_seconds, ingest_seconds, samples, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
      kind,
      model,
      prior.start,
      prior.provider,
      prior.ingest,
      row?.samples ?? 0,
      row ? "observed" : "default",
    );
  }
}

function priorsOf(sql: SqlStorage, config: Config): DurationEstimates {
  const priors = { ...config.jobSeconds };
  for (const row of sql.exec("SELECT kind, start_seconds, provider_seconds, ingest_seconds FROM duration_priors").toArray() as unknown as PriorRow[]) {
    if (row.kind in priors) priors[row.kind] = { start: row.start_seconds, provider: row.provider_seconds, ingest: row.ingest_seconds };
  }
  return priors;
}

/**
 * The video ended: fold its mean stage durations per (kind, model) into D1, one sample per
 * video. The mean is exponentially weighted (`jobSecondsWeight`), a plain mean while there
 * are fewer samples than 1 / weight. Attempts are recorded once (a regenerated beat adds only
 * its new attempts).
 */
export async function recordDurations(sql: SqlStorage, db: D1Database, config: Config, log: Log, now: number): Promise<void> {
  const finished = attempts(sql, "recorded = 0 AND done_at IS NOT NULL AND model IS NOT NULL");
  if (finished.length === 0) return;
  const groups = new Map<string, { kind: JobKind; model: string; start: number[]; provider: number[]; ingest: number[] }>();
  for (const row of finished) {
    const key = `${row.kind}\u0000${row.model}`;
    const group = groups.get(key) ?? { kind: row.kind, model: row.model!, start: [], provider: [], ingest: [] };
    const stages = stagesOf(row);
    group.start.push(stages.start ?? 0);
    group.provider.push(stages.provider ?? 0);
    group.ingest.push(stages.ingest ?? 0);
    groups.set(key, group);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const weight = config.jobSecondsWeight;
  const d1 = drizzle(db);
  const blend = (column: string) => raw.raw(`${column} + MAX(1.0 / (samples + 1), ${weight}) * (excluded.${column} - ${column})`);
  const statements = [...groups.values()].map((group) =>
    d1
      .insert(jobDurations)
      .values({ kind: group.kind, model: group.model, startSeconds: mean(group.start), providerSeconds: mean(group.provider), ingestSeconds: mean(group.ingest), samples: 1, updatedAt: now })
      .onConflictDoUpdate({
        target: [jobDurations.kind, jobDurations.model],
        set: { startSeconds: blend("start_seconds"), providerSeconds: blend("provider_seconds"), ingestSeconds: blend("ingest_seconds"), samples: raw`samples + 1`, updatedAt: now },
      }),
  );
  try {
    await d1.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
    for (const row of finished) sql.exec("UPDATE attempts SET recorded = 1 WHERE job_id = ? AND attempt = ?", row.job_id, row.attempt);
  } catch (error) {
    log.warn("durations.write_failed", { error });
  }
}

// ---------------------------------------------------------------- the estimate

/**
 * Stitch and mux are created by the run as their inputs complete (pipeline.ts); they are part of
 * every plan. Progressive assembly has no one stitch: its windows are done alongside the chunks.
 */
const MUX: NewJob = { id: "mux", kind: "mux", beat: null, idx: 0, input: {} };
const CLOSING: Record<Config["assembly"], NewJob[]> = {
  after_all: [{ id: "stitch", kind: "stitch", beat: null, idx: 0, input: {} }, MUX],
  progressive: [MUX],
};

/** The run's remaining work as of its last change: each job with the moment its current stage began, and the per-kind durations. */
export interface RemainingWork {
  work: (Omit<WorkItem, "elapsed"> & { since: number | null })[];
  estimates: DurationEstimates;
  maxPredictions: number;
}

/** Every job the spec implies, to the end of the run (null before planning produced the spec). */
export function plannedJobs(config: Config, state: Pick<RunState, "request" | "spec" | "chunk_plan">): NewJob[] | null {
  if (!state.spec || !state.chunk_plan) return null;
  return [
    { id: "plan", kind: "plan", beat: null, idx: 0, input: {} },
    ...referenceJobs(state.request),
    ...soundtrackJobs(state.spec),
    ...(spokenLines(state.spec).length ? [soundtrackMixJob()] : []),
    ...storyboardJobs(state.spec),
    ...chunkJobs(state.chunk_plan),
    ...CLOSING[config.assembly],
  ];
}

/** The run's texts `plannedJobs` reads, and the jobs they implied, per run storage: kept until a text or the settings change. */
const plans = new WeakMap<SqlStorage, { texts: Pick<RunRow, "request" | "spec" | "chunk_plan">; config: Config; jobs: NewJob[] | null }>();

/**
 * `plannedJobs` of the run's stored request, spec and chunk plan, parsed again only when one of
 * those texts (or the settings) changed: most changes of a run are a job's, and the estimate is
 * read after nearly every one.
 */
export function storedPlannedJobs(sql: SqlStorage, config: Config): NewJob[] | null {
  // The texts as run-state.ts keeps them: the same strings until one is written.
  const row = readRow(sql);
  if (!row) return null;
  const texts = { request: row.request, spec: row.spec, chunk_plan: row.chunk_plan };
  let plan = plans.get(sql);
  if (!plan || plan.texts.request !== texts.request || plan.texts.spec !== texts.spec || plan.texts.chunk_plan !== texts.chunk_plan || plan.config !== config) {
    const state = { request: JSON.parse(row.request), spec: row.spec ? JSON.parse(row.spec) : null, chunk_plan: row.chunk_plan ? JSON.parse(row.chunk_plan) : null };
    plans.set(sql, (plan = { texts, config, jobs: plannedJobs(config, state) }));
  }
  return plan.jobs;
}

/** The planned jobs as the run's job table and attempts have them now. */
export function workLeft(sql: SqlStorage, config: Config, planned: readonly NewJob[], jobs: readonly JobState[]): RemainingWork {
  const rows = new Map(jobs.map((job) => [job.id, job]));
  const all = attempts(sql);
  const times = new Map(all.map((a) => [`${a.job_id}#${a.attempt}`, a]));
  const work = planned.map((job) => {
    const row = rows.get(job.id);
    if (!row) return { id: job.id, kind: job.kind, dependsOn: job.dependsOn ?? null, status: "planned" as const, since: null };
    const t = times.get(`${row.id}#${row.attempt}`);
    const since = row.status === "predicting" ? t?.predicting_at : row.status === "ingesting" || row.status === "normalizing" ? t?.predicted_at : t?.started_at;
    return { id: row.id, kind: row.kind, dependsOn: row.depends_on, status: row.status, since: since ?? null };
  });
  return { work, estimates: durationEstimates(priorsOf(sql, config), all.map(stagesOf)), maxPredictions: config.maxPredictionsPerVideo };
}

/** Where the run's jobs stand and its remaining work (null before planning produced the spec), as of `revision`. */
export interface CurrentWork {
  revision: number;
  jobs: readonly JobState[];
  remaining: RemainingWork | null;
}

/** What each run storage's `work_revision` last read as, with its job states and, once asked for, its remaining work. */
interface Kept {
  revision: number;
  config: Config;
  jobs: readonly JobState[];
  remaining?: RemainingWork | null;
}
const kept = new WeakMap<SqlStorage, Kept>();

/** The run storage's `work_revision` (jobs.ts): moves with every write of a job's status, attempt or place, an attempt's times, the priors or the run's plan. */
export function workRevision(sql: SqlStorage): number {
  return sql.exec("SELECT n FROM work_revision WHERE id = 1").one().n as number;
}

function keptWork(sql: SqlStorage, config: Config): Kept {
  const revision = workRevision(sql);
  const last = kept.get(sql);
  if (last?.revision === revision && last.config === config) return last;
  const fresh: Kept = { revision, config, jobs: Object.freeze(jobStates(sql).map((job) => Object.freeze(job))) };
  kept.set(sql, fresh);
  return fresh;
}

/** The job states of `currentWork` alone: progress reads them after every job event, and needs the remaining work only when it rose. */
export function currentJobs(sql: SqlStorage, config: Config): readonly JobState[] {
  return keptWork(sql, config).jobs;
}

/**
 * The job states and the remaining work `workLeft` reads from the run's storage, read again only
 * when something they are made of was written (the `work_revision` triggers, jobs.ts) or the
 * settings changed: every status poll and every job event asks for them, while most of a run's
 * writes (leases, events, ledger lines) change neither. The remaining work is walked when first
 * asked for at a revision. Shared by every caller: frozen.
 */
export function currentWork(sql: SqlStorage, config: Config): CurrentWork {
  const work = keptWork(sql, config);
  if (work.remaining === undefined) {
    const planned = storedPlannedJobs(sql, config);
    work.remaining = planned ? Object.freeze(workLeft(sql, config, planned, work.jobs)) : null;
  }
  return { revision: work.revision, jobs: work.jobs, remaining: work.remaining };
}

/** Seconds until the run ends at `now` (eta.ts), from its remaining work. */
export function remainingSecondsAt(remaining: RemainingWork, now: number): number {
  const work: WorkItem[] = remaining.work.map((item) => ({ id: item.id, kind: item.kind, dependsOn: item.dependsOn, status: item.status, elapsed: item.since ? Math.max(0, (now - item.since) / 1000) : 0 }));
  return secondsRemaining(work, remaining.estimates, remaining.maxPredictions);
}

/**
 * For how long after `now` (ms) the clock alone leaves the estimate as shown, `max(1, round(seconds))`
 * with `seconds` its value at `now`. A job's remainder never grows with time and shrinks at most
 * one second per second (eta.ts `jobRemainder`), and the estimate adds, maximizes and schedules
 * remainders, so it never rises and falls at most `n` seconds per second, `n` the jobs whose
 * remainder still shrinks. Shown as `r`, it stays `r` while at least `r - 0.5`; shown as 1, for good.
 * A millisecond is kept back, so float rounding cannot decide the boundary.
 */
export function estimateHoldMs(remaining: RemainingWork, now: number, seconds: number): number {
  const shown = Math.max(1, Math.round(seconds));
  if (shown === 1) return Number.POSITIVE_INFINITY;
  let shrinking = 0;
  for (const item of remaining.work) {
    if (item.since === null) continue;
    const elapsed = Math.max(0, (now - item.since) / 1000);
    const seconds = remaining.estimates[item.kind];
    // Piecewise linear with one bend: the same now and much later means constant from now on.
    if (jobRemainder({ status: item.status, elapsed }, seconds) !== jobRemainder({ status: item.status, elapsed: elapsed + 1e9 }, seconds)) shrinking++;
  }
  if (shrinking === 0) return Number.POSITIVE_INFINITY;
  return Math.max(0, (1000 * (seconds - (shown - 0.5))) / shrinking - 1);
}

/**
 * Seconds until the run ends (eta.ts), or null before planning produced the spec. The work
 * is the DAG the stored spec implies, each job where `jobs` (the run's job table) has it;
 * durations are this run's observations per kind and stage, else its priors.
 */
export function estimateSecondsRemaining(sql: SqlStorage, config: Config, jobs: readonly JobState[], now: number): number | null {
  const planned = storedPlannedJobs(sql, config);
  return planned ? remainingSecondsAt(workLeft(sql, config, planned, jobs), now) : null;
}
