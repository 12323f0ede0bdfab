import type { JobRow } from "./jobs.ts";
import { deepFreeze } from "./run-row.ts";
import { workRevision } from "./timings.ts";

/**
 * The run's jobs as the pipeline's decisions read them (what each is, where it stands, its input
 * and output), kept per run storage while its `work_revision` stays (jobs.ts). A chunk's
 * normalize claim asked the job table some ten times (the overlays' row four times, every row
 * with its JSON texts twice), and each step's decision after a job's change asked again: in a
 * 20-ad load these claims were most of the Worker thread's stretches of 4 ms and more, each a
 * status request waited behind. The revision moves with every insert and delete of a job and
 * every UPDATE naming its status (the trigger fires on a column named in SET, even one set to its
 * own value): every write of these columns is a transition of JobMachine.apply, whose UPDATE
 * always sets the status. Only a lease or a poll time (renewLease, pollAt) is written otherwise:
 * whoever reads those, or the row's other columns, reads the row itself (JobMachine.get).
 * Shared by every caller: frozen.
 */
export type WorkJob = Readonly<Pick<JobRow, "id" | "kind" | "beat" | "idx" | "attempt" | "status" | "depends_on" | "input" | "output" | "error">>;

interface Kept {
  revision: number;
  jobs: readonly WorkJob[];
  byId: ReadonlyMap<string, WorkJob>;
}

const kept = new WeakMap<SqlStorage, Kept>();

function keptJobs(sql: SqlStorage): Kept {
  const revision = workRevision(sql);
  const last = kept.get(sql);
  if (last?.revision === revision) return last;
  const jobs = Object.freeze(
    sql.exec("SELECT id, kind, beat, idx, attempt, status, depends_on, input, output, error FROM jobs ORDER BY created_at, idx").toArray().map((row) => Object.freeze(row as unknown as WorkJob)),
  );
  const fresh: Kept = { revision, jobs, byId: new Map(jobs.map((job) => [job.id, job])) };
  kept.set(sql, fresh);
  return fresh;
}

/** Every job, in the job table's order (JobMachine.list's). */
export function workJobs(sql: SqlStorage): readonly WorkJob[] {
  return keptJobs(sql).jobs;
}

/** One job, or null. */
export function workJob(sql: SqlStorage, id: string): WorkJob | null {
  return keptJobs(sql).byId.get(id) ?? null;
}

const parsedOutputs = new WeakMap<Pick<WorkJob, "output">, unknown>();

/**
 * A job's output parsed, once per row object: the overlays' layers, the references and the chunks'
 * outputs are read by several decisions of one step, from the same kept rows. Null without
 * output. Shared by every reader: frozen.
 */
export function parsedOutput<T>(job: Pick<WorkJob, "output">): T | null {
  if (job.output === null) return null;
  let parsed = parsedOutputs.get(job);
  if (parsed === undefined) parsedOutputs.set(job, (parsed = deepFreeze(JSON.parse(job.output))));
  return parsed as T;
}

/** The output of a job that has one (done, or its clip published): `parsedOutput`'s, not null. */
export const outputOf = <T>(job: Pick<WorkJob, "output">): T => parsedOutput<T>(job)!;
