import { JobKind, JobStatus, type JobView } from "../../contracts/live.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";

/** The job table of one video run: what each unit of work is and where it stands. */

// Kinds and statuses are on the live socket too, so they are defined with its contract.
export { JobKind, JobStatus };

/** Jobs that hold a provider prediction slot while in these states. */
export const ACTIVE_STATUSES: JobStatus[] = ["queued", "running", "creating", "predicting", "ingesting"];

export const PREDICTION_KINDS: JobKind[] = ["reference", "storyboard", "chunk", "music", "voice"];

export interface JobRow {
  id: string;
  kind: JobKind;
  phase: string;
  beat: number | null;
  idx: number;
  attempt: number;
  status: JobStatus;
  prediction_id: string | null;
  input: string;
  output: string | null;
  error: string | null;
  errors: string;
  depends_on: string | null;
  /** Model and estimate of the prediction this attempt is creating or ran (for adoption and the ledger). */
  model: string | null;
  estimate_usd: number | null;
  /** When the attempt entered `creating`: predictions older than this cannot be its own. */
  creating_since: number | null;
  /** 1 when a create call failed in a way that may still have created a prediction. */
  create_uncertain: number;
  /** Attempts used before the job was last regenerated: retries are counted from here. */
  retry_base: number;
  /** A `ready` job deferred by the provider's create gate is not sent before this time. */
  not_before: number | null;
  lease_until: number | null;
  poll_at: number | null;
  deadline_at: number | null;
  started_at: number | null;
  updated_at: number;
  created_at: number;
}

/** Where a job stands, without its input and output texts: what progress and the estimate read on every change. */
export type JobState = Pick<JobRow, "id" | "kind" | "status" | "attempt" | "depends_on">;

/**
 * Every job's state, in the job table's order (JobMachine.list's). Read after nearly every
 * change of a run; the rows' input and output JSON texts are most of their bytes and none of this.
 */
export function jobStates(sql: SqlExec): JobState[] {
  return sql.exec("SELECT id, kind, status, attempt, depends_on FROM jobs ORDER BY created_at, idx").toArray() as JobState[];
}

/** The job as clients see it (the live socket, the snapshot). */
export function jobView(job: JobRow): JobView {
  return { id: job.id, kind: job.kind, beat: job.beat, idx: job.idx, status: job.status, attempt: job.attempt, error: job.error, errors: JSON.parse(job.errors) as string[] };
}

/** The job in words, for errors a user reads: "chunk 7 (beat 2 "Reveal", part 1)". */
export function describeJob(job: Pick<JobRow, "kind" | "input" | "beat" | "idx">, spec: VideoSpec | null): string {
  if (job.kind === "chunk") {
    const input = JSON.parse(job.input) as ChunkPlan;
    const beat = spec?.beats[input.beat_index];
    return `chunk ${input.chunk_num} (beat ${input.beat_index}${beat ? ` "${beat.name}"` : ""}, part ${input.index_in_beat + 1})`;
  }
  if (job.kind === "storyboard") return `storyboard frame for beat ${job.beat}`;
  if (job.kind === "reference") return `reference image ${job.idx + 1}`;
  if (job.kind === "voice") return `voiceover line ${job.idx + 1} (beat ${job.beat})`;
  if (job.kind === "soundtrack") return "soundtrack mix (music and voiceover)";
  return `${job.kind} step`;
}

/** Triggers moving \`work_revision\` on every insert and delete of each table, and every update of the columns given. */
function workTriggers(columns: Record<string, string>): string[] {
  const bump = "BEGIN UPDATE work_revision SET n = n + 1 WHERE id = 1; END";
  return Object.entries(columns).flatMap(([table, read]) => [
    `CREATE TRIGGER IF NOT EXISTS ${table}_work_insert AFTER INSERT ON ${table} ${bump}`,
    `CREATE TRIGGER IF NOT EXISTS ${table}_work_delete AFTER DELETE ON ${table} ${bump}`,
    `CREATE TRIGGER IF NOT EXISTS ${table}_work_update AFTER UPDATE OF ${read} ON ${table} ${bump}`,
  ]);
}

/** A random integer JavaScript holds exactly (SQLite's `random()` is 64 bits; a number keeps 53). */
const RANDOM_TOKEN = "(random() & 9007199254740991)";

/** The run row's long JSON texts: written a few times a run, read on nearly every step (`run_texts`). */
export const RUN_TEXTS = ["request", "spec", "chunk_plan", "cost_estimate", "consistency_context"] as const;

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    video_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    request TEXT NOT NULL,
    spec TEXT,
    chunk_plan TEXT,
    cost_estimate TEXT,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    consistency_context TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER,
    last_progress_at INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    phase TEXT NOT NULL,
    beat INTEGER,
    idx INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    prediction_id TEXT,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    errors TEXT NOT NULL DEFAULT '[]',
    depends_on TEXT,
    model TEXT,
    estimate_usd REAL,
    creating_since INTEGER,
    create_uncertain INTEGER NOT NULL DEFAULT 0,
    retry_base INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    poll_at INTEGER,
    deadline_at INTEGER,
    started_at INTEGER,
    updated_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status)`,
  `CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    prediction_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    kind TEXT NOT NULL,
    usd REAL NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL,
    UNIQUE (prediction_id, kind)
  )`,
  `CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  )`,
  /** `callback_url` notifications waiting for (or done with) delivery; see callback.ts. */
  `CREATE TABLE IF NOT EXISTS callbacks (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    next_at INTEGER,
    created_at INTEGER NOT NULL
  )`,
  /** Each (prediction, status) is acted on once, whether it came by webhook or by polling. */
  `CREATE TABLE IF NOT EXISTS prediction_updates (
    prediction_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (prediction_id, status)
  )`,
  /**
   * When each attempt passed each stage (run/timings.ts): claimed, prediction created, its
   * end seen (with the provider latency measured), output stored. `recorded` once its
   * durations went into D1's cross-video means.
   */
  `CREATE TABLE IF NOT EXISTS attempts (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    kind TEXT NOT NULL,
    model TEXT,
    started_at INTEGER NOT NULL,
    predicting_at INTEGER,
    predicted_at INTEGER,
    provider_seconds REAL,
    done_at INTEGER,
    recorded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, attempt)
  )`,
  /** Present while the D1 index row is behind the run (its last write failed): the alarm writes it again (index-sync.ts). */
  `CREATE TABLE IF NOT EXISTS index_behind (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    since INTEGER NOT NULL
  )`,
  /** The time-remaining estimate's priors per job kind, read once from D1 (or the defaults) when planning ends. */
  `CREATE TABLE IF NOT EXISTS duration_priors (
    kind TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    start_seconds REAL NOT NULL,
    provider_seconds REAL NOT NULL,
    ingest_seconds REAL NOT NULL,
    samples INTEGER NOT NULL,
    source TEXT NOT NULL
  )`,
  /**
   * A counter every write the time-remaining estimate reads moves (timings.ts `currentWork`):
   * a job's status, attempt or place in the DAG, an attempt's times, the priors, the run's plan.
   * Kept by triggers, so no writer can forget it; a lease renewal, an event or a ledger line,
   * most of a run's writes, leave it as it is.
   */
  `CREATE TABLE IF NOT EXISTS work_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
  )`,
  `INSERT OR IGNORE INTO work_revision (id, n) VALUES (1, 0)`,
  ...workTriggers({
    jobs: "kind, status, attempt, depends_on, idx, created_at",
    attempts: "job_id, attempt, kind, model, started_at, predicting_at, predicted_at, provider_seconds, done_at",
    duration_priors: "kind, model, start_seconds, provider_seconds, ingest_seconds",
    run: "request, spec, chunk_plan",
  }),
  /**
   * A token every write of the run's long JSON texts changes (run-row.ts `readRow` keeps them
   * parsed between changes: the row is read on nearly every step, and its texts are most of its
   * bytes). Random rather than counted, so a run stored again from nothing never meets a token
   * of the one before. Kept by triggers, so no writer can forget it.
   */
  `CREATE TABLE IF NOT EXISTS run_texts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token INTEGER NOT NULL
  )`,
  `INSERT OR IGNORE INTO run_texts (id, token) VALUES (1, ${RANDOM_TOKEN})`,
  ...["INSERT", "DELETE", `UPDATE OF ${RUN_TEXTS.join(", ")}`].map(
    (event) => `CREATE TRIGGER IF NOT EXISTS run_texts_${event.split(" ")[0]!.toLowerCase()} AFTER ${event} ON run BEGIN UPDATE run_texts SET token = ${RANDOM_TOKEN} WHERE id = 1; END`,
  ),
];

/** Columns added to `jobs` after the first release: runs stored before them gain them on load. */
const ADDED_JOB_COLUMNS: [string, string][] = [
  ["model", "TEXT"],
  ["estimate_usd", "REAL"],
  ["creating_since", "INTEGER"],
  ["create_uncertain", "INTEGER NOT NULL DEFAULT 0"],
  ["retry_base", "INTEGER NOT NULL DEFAULT 0"],
  ["not_before", "INTEGER"],
];

/** What the run needs of a Durable Object's SQL storage (structural: this module is also read by Node-side code). */
export interface SqlExec {
  exec(query: string, ...bindings: unknown[]): { toArray(): unknown[] };
}

export function migrate(sql: SqlExec): void {
  for (const statement of SCHEMA) sql.exec(statement);
  const present = new Set((sql.exec("PRAGMA table_info(jobs)").toArray() as { name: string }[]).map((c) => c.name));
  for (const [name, type] of ADDED_JOB_COLUMNS) if (!present.has(name)) sql.exec(`ALTER TABLE jobs ADD COLUMN ${name} ${type}`);
}
