import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { videos } from "../db/schema.ts";
import type { Log } from "../log.ts";
import { mediaKeys } from "../media/keys.ts";
import type { IndexExtra, RunState } from "./types.ts";

/**
 * The run's row in the D1 index (it serves listings; the run's own SQLite stays the truth):
 * status, phase, progress, cost, error and completion time, kept in step on every change.
 * Unchanged state is not written again; a failed write is logged and made good by the next.
 */
export class IndexSync {
  /** What the row was last set to. */
  private written = "";

  constructor(
    private readonly db: D1Database,
    private readonly log: () => Log,
  ) {}

  async sync(state: RunState | null, costUsd: number, extra: IndexExtra = {}): Promise<void> {
    if (!state) return;
    const values = {
      status: state.status,
      currentPhase: state.phase,
      progress: state.progress,
      costUsd,
      costEstimateUsd: state.cost_estimate?.total_usd ?? null,
      archetype: state.spec?.archetype ?? null,
      error: state.error,
      finalKey: state.status === "complete" ? mediaKeys.final(state.video_id) : null,
      completedAt: state.completed_at,
      ...extra,
    };
    const signature = JSON.stringify(values);
    if (signature === this.written) return;
    try {
      await drizzle(this.db)
        .update(videos)
        .set({ ...values, updatedAt: Date.now() })
        .where(eq(videos.id, state.video_id));
      this.written = signature;
    } catch (error) {
      this.log().warn("index.write_failed", { video_id: state.video_id, error });
    }
  }
}
