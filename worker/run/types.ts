import type { CostEstimate, GenerateRequest, Phase, VideoStatus } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import type { JobKind, JobStatus } from "./jobs.ts";
import type { LedgerEntry } from "./ledger.ts";

/** The shapes a video's run is read and driven by: its RPC inputs and answers, and its state. */

export interface StartInput {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  /** The estimate the request was admitted with (from the local planner). */
  cost_estimate: CostEstimate | null;
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
  cost_usd: number;
  cost_by_phase: Record<string, number>;
  /** One line per prediction; `cost_usd` is the sum of their `usd`. */
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
