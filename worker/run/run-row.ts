import type { CostEstimate, GenerateRequest } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import { RUN_TEXTS } from "./jobs.ts";
import type { RunRow, RunState } from "./types.ts";

/** Reading the run's own row (run-state.ts writes it). */

type RunTexts = Pick<RunRow, (typeof RUN_TEXTS)[number]>;
type ParsedTexts = Pick<RunState, "request" | "spec" | "chunk_plan" | "cost_estimate">;

/**
 * The run's long JSON texts (request, spec, plan, estimate, context) as last read, per run
 * storage, with their parse once one is asked for: kept while `run_texts`' token (jobs.ts, moved
 * by a trigger on every write of them) stays. The row is read on nearly every step and claim, and
 * these texts were most of its bytes, read and parsed again each time (kilobytes of strings and
 * objects per read: garbage the Worker's thread collects between requests). The parsed objects
 * are frozen: every reader shares them.
 */
const kept = new WeakMap<SqlStorage, { token: number; texts: RunTexts; parsed: ParsedTexts | null }>();

/** The row's other columns: what changes on every step. */
const ROW_COLUMNS = "video_id, tenant_id, status, phase, progress, error, created_at, updated_at, completed_at, last_progress_at";

function keptTexts(sql: SqlStorage, token: number) {
  let entry = kept.get(sql);
  if (entry?.token !== token) {
    const texts = sql.exec(`SELECT ${RUN_TEXTS.join(", ")} FROM run WHERE id = 1`).toArray()[0] as unknown as RunTexts;
    kept.set(sql, (entry = { token, texts, parsed: null }));
  }
  return entry;
}

export function readRow(sql: SqlStorage): RunRow | null {
  const row = sql.exec(`SELECT ${ROW_COLUMNS}, (SELECT token FROM run_texts WHERE id = 1) AS texts_token FROM run WHERE id = 1`).toArray()[0] as
    | (Omit<RunRow, keyof RunTexts> & { texts_token: number })
    | undefined;
  if (!row) return null;
  const { texts_token: token, ...columns } = row;
  return { ...columns, ...keptTexts(sql, token).texts };
}

export function readState(sql: SqlStorage): RunState | null {
  const row = readRow(sql);
  if (!row) return null;
  const entry = kept.get(sql)!;
  entry.parsed ??= deepFreeze({
    request: JSON.parse(row.request) as GenerateRequest,
    spec: row.spec ? (JSON.parse(row.spec) as VideoSpec) : null,
    chunk_plan: row.chunk_plan ? (JSON.parse(row.chunk_plan) as ChunkPlan[]) : null,
    cost_estimate: row.cost_estimate ? (JSON.parse(row.cost_estimate) as CostEstimate) : null,
  });
  // The row's bookkeeping column stays inside: the snapshot a client sees is exactly the contract's.
  const { last_progress_at: _lastProgress, ...columns } = row;
  return { ...columns, ...entry.parsed };
}

/** Frozen through and through: a parse every reader shares. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
