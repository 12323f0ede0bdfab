import type { CostEstimate, StatusResponse } from "../../contracts/api.ts";
import type { Config } from "../config.ts";
import { ledgerEntries, ledgerTotals } from "./ledger.ts";
import type { NewJob } from "./dag.ts";
import { isEnded } from "./run-state.ts";
import { plannedJobs, type RemainingWork, remainingSecondsAt, workLeft } from "./timings.ts";
import type { RunContext, RunRow } from "./types.ts";

type StatusRow = Pick<RunRow, "video_id" | "status" | "phase" | "progress" | "error" | "cost_estimate">;

/**
 * What `GET /api/status/{id}` shows, kept between the run's changes: a status poller asks
 * several times a second (under 20 polled videos the status path was most of the Worker's
 * CPU), while the run changes a few times a second at most. The row's fields, the ledger's
 * totals and the remaining work the estimate walks are read again only when the object's
 * storage changed since (SQLite's `total_changes()` on the object's one connection, which
 * every write moves) or the video's settings did; between changes the clock alone ages the
 * jobs in flight, so the answer is the one `snapshotOf` would give at the same moment.
 */
export class StatusView {
  private changes = -1;
  private config: Config | null = null;
  private row: StatusRow | null = null;
  private costs = { spent: 0, pending: 0 };
  private estimate: CostEstimate | null = null;
  private remaining: RemainingWork | null = null;
  /** The jobs the run's request, spec and chunk plan imply, kept until one of those texts (or the settings) changes. */
  private plan: { texts: string; config: Config; jobs: NewJob[] | null } | null = null;
  /** The last answer as sent, kept until the run changes or the clock moves its estimate. */
  private sent: { eta: number | null; json: string } | null = null;

  /** `read`'s answer as the JSON the route sends, serialized once per change of the run or of its estimate. */
  json(run: Pick<RunContext, "sql" | "config" | "jobs">, now = Date.now()): string | null {
    const status = this.read(run, now);
    if (!status) return null;
    if (this.sent?.eta !== status.estimated_time_remaining) this.sent = { eta: status.estimated_time_remaining, json: JSON.stringify(status) };
    return this.sent.json;
  }

  read(run: Pick<RunContext, "sql" | "config" | "jobs">, now = Date.now()): StatusResponse | null {
    const changes = run.sql.exec("SELECT total_changes() AS n").one().n as number;
    if (changes !== this.changes || run.config !== this.config) this.refresh(run, changes);
    const row = this.row;
    if (!row) return null;
    const seconds = isEnded(row.status) || !this.remaining ? null : remainingSecondsAt(this.remaining, now);
    return {
      video_id: row.video_id,
      status: row.status,
      progress: row.progress,
      current_phase: row.phase,
      estimated_time_remaining: isEnded(row.status) ? 0 : seconds === null ? null : Math.max(1, Math.round(seconds)),
      error: row.error,
      cost_usd: this.costs.spent,
      cost_pending_usd: this.costs.pending,
      cost_estimate_usd: this.estimate?.total_usd ?? null,
    };
  }

  private refresh(run: Pick<RunContext, "sql" | "config" | "jobs">, changes: number): void {
    this.changes = changes;
    this.sent = null;
    this.config = run.config;
    // Only the columns shown: the row's request, spec and plan are long JSON texts, parsed only while the estimate needs them.
    this.row = (run.sql.exec("SELECT video_id, status, phase, progress, error, cost_estimate FROM run WHERE id = 1").toArray()[0] as StatusRow | undefined) ?? null;
    if (!this.row) return;
    this.costs = ledgerTotals(ledgerEntries(run.sql));
    this.estimate = this.row.cost_estimate ? (JSON.parse(this.row.cost_estimate) as CostEstimate) : null;
    const planned = isEnded(this.row.status) ? null : this.plannedJobs(run);
    this.remaining = planned ? workLeft(run.sql, run.config, planned, run.jobs.list()) : null;
  }

  /** Parsed again only when the request, spec or chunk plan changed: most changes are a job's. */
  private plannedJobs(run: Pick<RunContext, "sql" | "config">): NewJob[] | null {
    const row = run.sql.exec("SELECT request, spec, chunk_plan FROM run WHERE id = 1").one() as Pick<RunRow, "request" | "spec" | "chunk_plan">;
    const texts = `${row.request}\u0000${row.spec ?? ""}\u0000${row.chunk_plan ?? ""}`;
    if (this.plan?.texts !== texts || this.plan.config !== run.config) {
      const state = { request: JSON.parse(row.request), spec: row.spec ? JSON.parse(row.spec) : null, chunk_plan: row.chunk_plan ? JSON.parse(row.chunk_plan) : null };
      this.plan = { texts, config: run.config, jobs: plannedJobs(run.config, state) };
    }
    return this.plan.jobs;
  }
}
