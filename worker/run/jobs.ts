import { z } from "zod";

/** The job table of one video run: what each unit of work is and where it stands. */

export const JobKind = z.enum(["plan", "reference", "storyboard", "chunk", "music", "stitch", "finalize"]);
export type JobKind = z.infer<typeof JobKind>;

export const JobStatus = z.enum([
  "waiting", // dependencies not done yet
  "ready", // may run, waiting for a prediction slot
  "queued", // message sent
  "running", // claimed by a consumer
  "creating", // prediction being created (idempotency guard)
  "predicting", // prediction running at the provider
  "ingesting", // output being stored / normalized
  "done",
  "failed",
  "cancelled",
]);
export type JobStatus = z.infer<typeof JobStatus>;

/** Jobs that hold a provider prediction slot while in these states. */
export const ACTIVE_STATUSES: JobStatus[] = ["queued", "running", "creating", "predicting", "ingesting"];

export const PREDICTION_KINDS: JobKind[] = ["reference", "storyboard", "chunk", "music"];

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
  lease_until: number | null;
  poll_at: number | null;
  deadline_at: number | null;
  started_at: number | null;
  updated_at: number;
  created_at: number;
}

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
];
