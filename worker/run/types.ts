import type { CostEstimate, EndStatus, GenerateRequest, Phase, VideoStatus } from "../../contracts/api.ts";
import type { LiveEventData, LiveEventType } from "../../contracts/live.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import type { Config } from "../config.ts";
import type { Log } from "../log.ts";
import type { ProviderClient } from "../providers/client.ts";
import type { JobMessage, JobStep } from "../queue/messages.ts";
import type { JobMachine } from "./job-machine.ts";
import type { JobKind, JobRow, JobStatus } from "./jobs.ts";
import type { CostTotals, LedgerEntry } from "./ledger.ts";
import type { videos } from "../db/schema.ts";

/** The shapes a video's run is read and driven by: its RPC inputs and answers, and its state. */

export interface StartInput {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  /** The estimate the request was admitted with (from the local planner). */
  cost_estimate: CostEstimate | null;
  /** A draft rendered for real: the draft's spec, used as it is (the plan job plans nothing). */
  spec?: VideoSpec;
}

export interface RunState {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  spec: VideoSpec | null;
  chunk_plan: ChunkPlan[] | null;
  cost_estimate: CostEstimate | null;
  status: VideoStatus;
  phase: Phase;
  progress: number;
  error: string | null;
  consistency_context: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface Snapshot extends RunState {
  /** Spent: the actual cost of every prediction that ended, and every charge. Never decreases. */
  cost_usd: number;
  /** The estimates of predictions still running. */
  cost_pending_usd: number;
  cost_by_phase: Record<string, number>;
  /** One line per prediction; `cost_usd` is the sum of their `actual_usd`, `cost_pending_usd` of the open ones' `estimate_usd`. */
  cost_ledger: LedgerEntry[];
  estimated_time_remaining: number | null;
  jobs: { id: string; kind: JobKind; beat: number | null; idx: number; status: JobStatus; attempt: number; error: string | null; errors: string[] }[];
  outputs: Record<string, unknown>;
  last_event: number;
}

/** Answer of the idempotency guard before a paid prediction is created. */
export interface PredictionGate {
  proceed: boolean;
  reason?: "stale" | "creating" | "cost cap";
  /** An earlier create for this attempt failed without an answer: look for its prediction (created since then) before creating. */
  lookupSince?: number;
}

/** A run as stored: RunState with its JSON columns still serialised. */
export type RunRow = Omit<RunState, "request" | "spec" | "chunk_plan" | "cost_estimate"> & {
  request: string;
  spec: string | null;
  chunk_plan: string | null;
  cost_estimate: string | null;
  last_progress_at: number;
};

/** Index columns a run writes besides those it keeps in step on every change (the reference images, once known). */
export type IndexExtra = Partial<typeof videos.$inferInsert>;

/** A prediction to stop at the provider, with the job attempt whose ledger pays for it. */
export interface Running {
  jobId: string;
  attempt: number;
  predictionId: string;
}

/**
 * What the run's modules are handed: the run's storage and settings, and the operations they
 * ask of each other through the run (so no module imports another's internals, and none
 * imports the Durable Object). `VideoRun` implements it.
 */
export interface RunContext {
  readonly sql: SqlStorage;
  readonly env: Env;
  readonly config: Config;
  readonly provider: ProviderClient;
  readonly jobs: JobMachine;
  /** The run's log: every line names the video. */
  readonly log: Log;
  row(): RunRow | null;
  state(): RunState | null;
  ended(): boolean;
  /** Append to the live event log and send it to every viewer. */
  event<T extends LiveEventType>(type: T, data: LiveEventData<T>): void;
  /** A signed, expiring media URL for clients. */
  sign(key: string): Promise<string>;
  costs(): CostTotals;
  /** Send ready jobs, within the per-video cap on predictions in flight; answers the one handed off instead (dispatch.ts). */
  dispatch(handOff?: HandOff): Promise<JobRow | null>;
  /** Onto the queues; `delaySeconds`: delivered no sooner. */
  send(messages: JobMessage[], delaySeconds?: number): Promise<void>;
  scheduleAlarm(): Promise<void>;
  syncIndex(extra?: IndexExtra): Promise<void>;
  fail(jobId: string, attempt: number, reason: string, retryable: boolean, step?: JobStep): Promise<void>;
  finish(status: EndStatus, error: string | null): Promise<void>;
  cancelAtProvider(targets: Running[]): Promise<void>;
}

/**
 * Which chosen job is handed to the consumer that asked (`handOff`) instead of being sent, and
 * answered: a job id, whose ingest just published (a job waiting on it), or a test of the job.
 */
export type HandOff = string | ((job: JobRow) => boolean);
