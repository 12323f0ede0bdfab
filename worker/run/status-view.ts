import type { CostEstimate, StatusResponse } from "../../contracts/api.ts";
import type { Config } from "../config.ts";
import { currentTotals } from "./ledger.ts";
import { isEnded } from "./run-state.ts";
import { currentWork, estimateHoldMs, type RemainingWork, remainingSecondsAt } from "./timings.ts";
import type { RunContext, RunRow } from "./types.ts";

type StatusRow = Pick<RunRow, "video_id" | "status" | "phase" | "progress" | "error" | "cost_estimate">;
const SHOWN: readonly (keyof StatusRow)[] = ["video_id", "status", "phase", "progress", "error", "cost_estimate"];

/**
 * What `GET /api/status/{id}` shows, kept between the run's changes: a status poller asks
 * several times a second (under 20 polled videos the status path was most of the Worker's
 * CPU), while the run changes a few times a second at most. The row's fields, the ledger's
 * totals and the remaining work the estimate walks are read again only when the object's
 * storage changed since (SQLite's `total_changes()` on the object's one connection, which
 * every write moves) or the video's settings did, the remaining work only when what it is made
 * of did (timings.ts `currentWork`); between changes the clock alone ages the
 * jobs in flight, so the answer is the one `snapshotOf` would give at the same moment.
 */
export class StatusView {
  private changes = -1;
  private config: Config | null = null;
  private row: StatusRow | null = null;
  private costs = { spent: 0, pending: 0 };
  private estimate: CostEstimate | null = null;
  private remaining: RemainingWork | null = null;
  /** The estimate shown at `from`, and until when the clock alone cannot change it (timings.ts `estimateHoldMs`). */
  private held: { from: number; until: number; shown: number } | null = null;
  /** The last answer as sent, kept until the run changes or the clock moves its estimate. */
  private sent: { eta: number | null; json: string } | null = null;

  /** `read`'s answer as the JSON the route sends, serialized once per change of the run or of its estimate. */
  json(run: Pick<RunContext, "sql" | "config">, now = Date.now()): string | null {
    const status = this.read(run, now);
    if (!status) return null;
    if (this.sent?.eta !== status.estimated_time_remaining) this.sent = { eta: status.estimated_time_remaining, json: JSON.stringify(status) };
    return this.sent.json;
  }

  read(run: Pick<RunContext, "sql" | "config">, now = Date.now()): StatusResponse | null {
    const changes = run.sql.exec("SELECT total_changes() AS n").one().n as number;
    if (changes !== this.changes || run.config !== this.config) this.refresh(run, changes);
    const row = this.row;
    if (!row) return null;
    return {
      video_id: row.video_id,
      status: row.status,
      progress: row.progress,
      current_phase: row.phase,
      estimated_time_remaining: isEnded(row.status) ? 0 : this.estimateAt(now),
      error: row.error,
      cost_usd: this.costs.spent,
      cost_pending_usd: this.costs.pending,
      cost_estimate_usd: this.estimate?.total_usd ?? null,
    };
  }

  /** The estimate as shown at `now`, computed again only once the clock may have moved it: a poller reads it several times a second. */
  private estimateAt(now: number): number | null {
    if (!this.remaining) return null;
    const held = this.held;
    if (held && now >= held.from && now <= held.until) return held.shown;
    const seconds = remainingSecondsAt(this.remaining, now);
    const shown = Math.max(1, Math.round(seconds));
    this.held = { from: now, until: now + estimateHoldMs(this.remaining, now, seconds), shown };
    return shown;
  }

  private refresh(run: Pick<RunContext, "sql" | "config">, changes: number): void {
    this.changes = changes;
    // Only the columns shown: the row's request, spec and plan are long JSON texts, parsed only while the estimate needs them.
    const row = (run.sql.exec("SELECT video_id, status, phase, progress, error, cost_estimate FROM run WHERE id = 1").toArray()[0] as StatusRow | undefined) ?? null;
    const costs = row ? currentTotals(run.sql) : { spent: 0, pending: 0 };
    const remaining = row && !isEnded(row.status) ? currentWork(run.sql, run.config).remaining : null;
    // Most writes (a lease renewed, an event told, a poll time moved) change nothing an answer
    // shows: the estimate held and the JSON sent stay. The totals and the remaining work are
    // kept objects (currentTotals, currentWork), the same until what they are made of changes.
    if (remaining !== this.remaining || run.config !== this.config) this.held = null;
    const shown = row !== null && this.row !== null && SHOWN.every((field) => row[field] === this.row![field]) && costs === this.costs;
    if (!shown) this.sent = null;
    if (row?.cost_estimate !== this.row?.cost_estimate) this.estimate = row?.cost_estimate ? (JSON.parse(row.cost_estimate) as CostEstimate) : null;
    this.config = run.config;
    this.row = row;
    this.costs = costs;
    this.remaining = remaining;
  }
}
