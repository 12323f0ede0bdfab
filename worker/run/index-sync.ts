import { eq, sql as expr } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { videos } from "../db/schema.ts";
import type { Log } from "../log.ts";
import { mediaKeys } from "../media/keys.ts";
import type { CostEstimate } from "../../contracts/api.ts";
import type { IndexExtra, RunRow } from "./types.ts";

/**
 * The run's row in the D1 index (it serves listings; the run's own SQLite stays the truth):
 * status, phase, progress, cost, error and completion time, kept in step on every change.
 * Unchanged state is not written again. A failed write (D1 unavailable) is remembered in the
 * run's own storage, so the alarm writes it again even after the video ended and the object
 * restarted; a video's listing is never left behind for good.
 */

/** How soon the alarm writes again an index row whose last write failed. */
export const INDEX_RETRY_MS = 5_000;

/** What the index row shows of the run. */
export interface IndexedRun extends Pick<RunRow, "video_id" | "status" | "phase" | "progress" | "error" | "completed_at"> {
  cost_estimate_usd: number | null;
  archetype: string | null;
}

/**
 * The run's fields the index row shows. Read after nearly every change of a run: the spec's
 * archetype is taken out in SQL, not by parsing the request, spec and chunk plan texts.
 */
export function indexedRun(sql: SqlStorage): IndexedRun | null {
  const row = sql
    .exec("SELECT video_id, status, phase, progress, error, completed_at, cost_estimate, json_extract(spec, '$.archetype') AS archetype FROM run WHERE id = 1")
    .toArray()[0] as (Omit<IndexedRun, "cost_estimate_usd"> & { cost_estimate: string | null }) | undefined;
  if (!row) return null;
  const { cost_estimate, ...fields } = row;
  return { ...fields, cost_estimate_usd: cost_estimate ? (JSON.parse(cost_estimate) as CostEstimate).total_usd : null };
}

export class IndexSync {
  /** What the row was last set to. */
  private written = "";
  /** Since when the row is behind (`index_behind`, written only here), once read: null when it is current. */
  private behind: number | null | undefined = undefined;
  private readonly db: D1Database;
  private readonly sql: SqlStorage;
  private readonly log: () => Log;

  constructor(
    db: D1Database,
    sql: SqlStorage,
    log: () => Log,
  ) {
    this.db = db;
    this.sql = sql;
    this.log = log;
  }

  /** When the alarm must write the row again (its last write failed), or null when it is current. */
  retryAt(): number | null {
    if (this.behind === undefined) this.behind = (this.sql.exec("SELECT since FROM index_behind WHERE id = 1").toArray()[0] as { since: number } | undefined)?.since ?? null;
    return this.behind === null ? null : this.behind + INDEX_RETRY_MS;
  }

  async sync(state: IndexedRun | null, costUsd: number, extra: IndexExtra = {}): Promise<void> {
    if (!state) return;
    const values = {
      status: state.status,
      currentPhase: state.phase,
      progress: state.progress,
      costUsd,
      costEstimateUsd: state.cost_estimate_usd,
      archetype: state.archetype,
      error: state.error,
      finalKey: state.status === "complete" ? mediaKeys.final(state.video_id) : null,
      completedAt: state.completed_at,
      ...extra,
    };
    const signature = JSON.stringify(values);
    if (signature === this.written && this.retryAt() === null) return;
    try {
      await drizzle(this.db)
        .update(videos)
        // Writes may land out of order (the run goes on while one is in flight): the listed cost still never falls.
        .set({ ...values, costUsd: expr`max(${videos.costUsd}, ${costUsd})`, updatedAt: Date.now() })
        .where(eq(videos.id, state.video_id));
      this.written = signature;
      if (this.behind !== null) this.sql.exec("DELETE FROM index_behind WHERE id = 1");
      this.behind = null;
    } catch (error) {
      this.behind = Date.now();
      this.sql.exec("INSERT INTO index_behind (id, since) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET since = excluded.since", this.behind);
      this.log().warn("index.write_failed", { video_id: state.video_id, error, retry: "alarm" });
    }
  }
}
