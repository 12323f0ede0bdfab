import type { NewJob } from "./dag.ts";
import { type JobRow, type JobStatus, type SqlExec } from "./jobs.ts";
import { PHASE_OF_KIND } from "./progress.ts";

/**
 * A job's lifecycle, as one table: for each event, the statuses it may happen in, where it
 * leads and the columns it writes. `JobMachine.apply` is the only code that changes a job's
 * status; an event in a status the table does not list changes nothing and answers null, so a
 * stale or repeated report (a late consumer, a duplicated message) is harmless by construction.
 *
 *   waiting ─release→ ready ─dispatch→ queued ─claim→ running ─beginCreate→ creating ─adopt→ predicting
 *   ready ─handOff→ running   (the consumer that published the frame it waited for runs its start step)
 *   predicting ─predicted→ ingesting ─publish→ normalizing ─complete→ done   (running/ingesting ─complete→ done)
 *   any open status ─newAttempt→ ready | waiting (attempt + 1)    ─giveUp→ failed    ─cancel→ cancelled
 */

export type JobEvent =
  | "release"
  | "dispatch"
  | "handOff"
  | "claim"
  | "defer"
  | "beginCreate"
  | "abortCreate"
  | "adopt"
  | "predicted"
  | "publish"
  | "complete"
  | "newAttempt"
  | "giveUp"
  | "cancel"
  | "requeue"
  | "recreate";

/** How a new attempt counts against the job's retries (`maxAttempts` counts attempts since `retry_base`). */
export type RetryAccounting =
  /** A failure: the attempt used up one of the job's tries. */
  | "counted"
  /** Not the job's fault (what it started from is rendered again): the try is given back. */
  | "free"
  /** Asked for anew (a regenerated beat): every try is available again. */
  | "fresh";

/** What each event needs to know besides the job. Times are epoch milliseconds. */
export interface JobEventParams {
  /** `input`: what the released job starts from instead (a re-anchored chunk, chunks/drift.ts). */
  release: { input?: unknown };
  dispatch: { leaseUntil: number };
  handOff: { leaseUntil: number };
  claim: { leaseUntil: number };
  defer: { notBefore: number };
  beginCreate: { model: string; estimateUsd: number; leaseUntil: number };
  abortCreate: { uncertain: boolean; leaseUntil: number };
  adopt: { predictionId: string; model: string; estimateUsd: number; pollAt: number; deadlineAt: number };
  predicted: { output: unknown; leaseUntil: number };
  publish: { output: unknown; leaseUntil: number };
  complete: { output: unknown };
  newAttempt: { to: "ready" | "waiting"; reason: string | null; retries: RetryAccounting; input?: unknown };
  giveUp: { reason: string };
  cancel: Record<string, never>;
  requeue: { leaseUntil: number };
  recreate: { leaseUntil: number };
}

/** The columns a transition writes (JSON columns as their stored text); `status` always. */
export type JobChange = Partial<Omit<JobRow, "id" | "kind" | "phase" | "beat" | "idx" | "depends_on" | "created_at" | "updated_at">> & { status: JobStatus };

export interface JobTransition<E extends JobEvent> {
  /** Statuses the event may happen in. */
  from: readonly JobStatus[];
  /** Statuses it can lead to (`change` picks one). */
  to: readonly JobStatus[];
  /** A condition on the row beyond its status. */
  guard?: (job: JobRow) => boolean;
  change: (job: JobRow, params: JobEventParams[E], now: number) => JobChange;
}

/** Statuses a job no longer leaves by itself. */
export const ENDED_JOB: readonly JobStatus[] = ["done", "failed", "cancelled"];
/** Statuses of a job whose attempt is under way somewhere (a message, a consumer, the provider). */
const UNDER_WAY: readonly JobStatus[] = ["queued", "running", "creating", "predicting", "ingesting", "normalizing"];
/** What a job forgets of its attempt's prediction when it starts another. */
const NO_PREDICTION = { prediction_id: null, model: null, estimate_usd: null, creating_since: null, create_uncertain: 0 } as const;
/** No lease, poll or deadline: nothing is watching the job. */
const UNWATCHED = { lease_until: null, poll_at: null, deadline_at: null } as const;

const json = (value: unknown) => JSON.stringify(value ?? null);
const withReason = (job: JobRow, reason: string) => json([...(JSON.parse(job.errors) as string[]), `attempt ${job.attempt}: ${reason}`]);

export const JOB_TRANSITIONS: { [E in JobEvent]: JobTransition<E> } = {
  /** The job it waits for published what it needs (or finished). */
  release: { from: ["waiting"], to: ["ready"], change: (_j, p) => ({ status: "ready", ...(p.input === undefined ? {} : { input: json(p.input) }) }) },
  /** Sent to a consumer; the lease is how long the run waits before sending it again. */
  dispatch: { from: ["ready"], to: ["queued"], change: (_j, p) => ({ status: "queued", not_before: null, lease_until: p.leaseUntil }) },
  /**
   * Claimed without a message: the consumer whose ingest published what the job waited for
   * (a chunk's previous last frame) runs its start step next, saving a queue hop and a claim.
   */
  handOff: { from: ["ready"], to: ["running"], change: (j, p, now) => ({ status: "running", not_before: null, lease_until: p.leaseUntil, started_at: j.started_at ?? now }) },
  /** A consumer takes the job's start step (again, after a redelivery). */
  claim: { from: ["queued", "running"], to: ["running"], change: (j, p, now) => ({ status: "running", lease_until: p.leaseUntil, started_at: j.started_at ?? now }) },
  /** The provider's create gate is full: back to ready, not before the gate has room (no retry used). */
  defer: { from: ["queued", "running", "creating"], to: ["ready"], change: (_j, p) => ({ status: "ready", not_before: p.notBefore, lease_until: null }) },
  /** The idempotency guard: one consumer may create the attempt's prediction. */
  beginCreate: {
    from: ["running"],
    to: ["creating"],
    change: (j, p, now) => ({ status: "creating", model: p.model, estimate_usd: p.estimateUsd, creating_since: j.creating_since ?? now, lease_until: p.leaseUntil }),
  },
  /** The create call failed; `uncertain` when the provider may have created it anyway. */
  abortCreate: {
    from: ["creating"],
    to: ["running"],
    change: (j, p) => ({ status: "running", create_uncertain: Math.max(j.create_uncertain, p.uncertain ? 1 : 0), lease_until: p.leaseUntil }),
  },
  /** The attempt owns this prediction: from its create's answer, or its webhook or the provider's list first. */
  adopt: {
    from: ["queued", "running", "creating"],
    to: ["predicting"],
    guard: (j) => j.status === "creating" || j.create_uncertain === 1,
    change: (_j, p) => ({
      status: "predicting",
      prediction_id: p.predictionId,
      model: p.model,
      estimate_usd: p.estimateUsd,
      create_uncertain: 0,
      poll_at: p.pollAt,
      deadline_at: p.deadlineAt,
      lease_until: null,
    }),
  },
  /** Its prediction succeeded: a consumer stores the output. */
  predicted: { from: ["predicting"], to: ["ingesting"], change: (_j, p) => ({ status: "ingesting", output: json(p.output), poll_at: null, deadline_at: null, lease_until: p.leaseUntil }) },
  /** The ingest published what dependents need (a chunk's last frame); the normalize pass remains. */
  publish: { from: ["ingesting"], to: ["normalizing"], change: (_j, p) => ({ status: "normalizing", output: json(p.output), lease_until: p.leaseUntil }) },
  complete: { from: ["running", "ingesting", "normalizing"], to: ["done"], change: (_j, p) => ({ status: "done", output: json(p.output), error: null, ...UNWATCHED }) },
  /**
   * The one reset: the job starts again on a fresh attempt, its prediction and output
   * forgotten. A failure retried (counted), a chunk whose previous chunk is rendered again
   * (free) and a regenerated beat (fresh, with new input) all come through here.
   */
  newAttempt: {
    from: [...UNDER_WAY, "ready", "done"],
    to: ["ready", "waiting"],
    change: (j, p) => ({
      status: p.to,
      attempt: j.attempt + 1,
      retry_base: p.retries === "counted" ? j.retry_base : p.retries === "free" ? j.retry_base + 1 : j.attempt,
      ...(p.input === undefined ? {} : { input: json(p.input) }),
      output: null,
      error: p.reason,
      ...(p.reason === null ? {} : { errors: withReason(j, p.reason) }),
      ...NO_PREDICTION,
      ...UNWATCHED,
      not_before: null,
      started_at: null,
    }),
  },
  /** The job failed for good (no retries left, or a failure no retry can fix). */
  giveUp: { from: UNDER_WAY, to: ["failed"], change: (j, p) => ({ status: "failed", error: p.reason, errors: withReason(j, p.reason), ...UNWATCHED }) },
  /** The video ended: nothing open runs on. */
  cancel: { from: ["waiting", "ready", ...UNDER_WAY], to: ["cancelled"], change: () => ({ status: "cancelled", ...UNWATCHED }) },
  /** Its start message or consumer was lost: sent again, same attempt. */
  requeue: { from: ["queued", "running"], to: ["queued"], change: (_j, p) => ({ status: "queued", lease_until: p.leaseUntil }) },
  /** A consumer was lost while creating, and the provider surely has no prediction for the attempt: it starts again. */
  recreate: { from: ["creating"], to: ["queued"], change: (_j, p) => ({ status: "queued", create_uncertain: 0, lease_until: p.leaseUntil }) },
};

/** Told of every transition taken, after it is written (the run logs them). */
export type TransitionObserver = <E extends JobEvent>(event: E, before: JobRow, after: JobRow, params: JobEventParams[E]) => void;

/**
 * The job table of one run. All writes to `jobs` are here: status changes through the
 * transition table, plus inserting jobs, removing ones the run builds anew, and renewing a
 * lease or a poll time (which changes no status).
 */
export class JobMachine {
  private readonly sql: SqlExec;
  private readonly observe: TransitionObserver;
  constructor(
    sql: SqlExec,
    observe: TransitionObserver = () => {},
  ) {
    this.sql = sql;
    this.observe = observe;
  }

  get(id: string): JobRow | null {
    return (this.sql.exec("SELECT * FROM jobs WHERE id = ?", id).toArray()[0] as JobRow | undefined) ?? null;
  }

  /** Jobs matching a SQL condition, in creation order. */
  list(where = "1 = 1", ...params: unknown[]): JobRow[] {
    return this.sql.exec(`SELECT * FROM jobs WHERE ${where} ORDER BY created_at, idx`, ...params).toArray() as JobRow[];
  }

  inStatus(statuses: readonly JobStatus[]): JobRow[] {
    return this.list(`status IN (${statuses.map(() => "?").join(", ")})`, ...statuses);
  }

  /**
   * Take `event` for the job (for its attempt `attempt`, when given). Answers the job as it is
   * afterwards, or null when the table does not allow the event in the job's status (or the
   * attempt moved on): nothing is written then.
   */
  apply<E extends JobEvent>(event: E, job: { id: string; attempt?: number }, params: JobEventParams[E], now = Date.now()): JobRow | null {
    const row = this.get(job.id);
    if (!row || (job.attempt !== undefined && row.attempt !== job.attempt)) return null;
    const transition: JobTransition<E> = JOB_TRANSITIONS[event];
    if (!transition.from.includes(row.status) || (transition.guard && !transition.guard(row))) return null;
    const change = transition.change(row, params, now);
    const columns = Object.keys(change) as (keyof JobChange)[];
    this.sql.exec(
      `UPDATE jobs SET ${columns.map((c) => `${c} = ?`).join(", ")}, updated_at = ? WHERE id = ? AND attempt = ? AND status = ?`,
      ...columns.map((c) => change[c] ?? null),
      now,
      row.id,
      row.attempt,
      row.status,
    );
    const after = { ...row, ...change, updated_at: now } as JobRow;
    this.observe(event, row, after, params);
    return after;
  }

  /** New jobs, `waiting` when they depend on another, else `ready`. A job that exists already is left as it is. */
  insert(jobs: readonly NewJob[], now = Date.now()): void {
    for (const job of jobs) {
      this.sql.exec(
        `INSERT OR IGNORE INTO jobs (id, kind, phase, beat, idx, attempt, status, input, depends_on, updated_at, created_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
        job.id,
        job.kind,
        PHASE_OF_KIND[job.kind],
        job.beat,
        job.idx,
        job.dependsOn ? "waiting" : "ready",
        json(job.input),
        job.dependsOn ?? null,
        now,
        now,
      );
    }
  }

  /** Jobs the run creates afresh once their inputs are done again (a regenerated beat's stitch and mux). */
  remove(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM jobs WHERE id = ?", id);
  }

  /** Hold the job's lease until `until` (in `status` only, when given): the alarm will not send it again before. */
  renewLease(id: string, until: number, status?: JobStatus): void {
    this.sql.exec(`UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ?${status ? " AND status = ?" : ""}`, until, Date.now(), id, ...(status ? [status] : []));
  }

  /** Ask the provider about the job's prediction at `at` unless a webhook comes first. */
  pollAt(id: string, at: number): void {
    this.sql.exec("UPDATE jobs SET poll_at = ?, updated_at = ? WHERE id = ? AND status = 'predicting'", at, Date.now(), id);
  }
}
