import type { Prediction } from "../../contracts/prediction.ts";
import type { Config } from "../config.ts";
import { predictionCost, roundMicroUsd as round, worstCase } from "../pricing/estimate.ts";

/**
 * The cost ledger of one run: every prediction gets an `estimate` row when it is created
 * (or first seen) and an `actual` row when it ends — succeeded, failed or cancelled. A
 * prediction counts as spent at its actual cost once known; until then its estimate is shown
 * apart, as pending (ledgerTotals). A cost that is not a prediction (a language model's
 * tokens) is a charge: one line, known exactly.
 */

/** What the ledger may still come to: actual costs, and the worst case of every prediction not yet ended. */
export function exposure(entries: readonly LedgerEntry[], config: Pick<Config, "prices">, deadlineSeconds: number): number {
  return round(entries.reduce((sum, e) => sum + (e.actual_usd ?? worstCase(config, e.model, e.estimate_usd, deadlineSeconds)), 0));
}

/** One prediction's line in the ledger. `usd` is what it counts for: the actual when known, else the estimate. */
export interface LedgerEntry {
  prediction_id: string;
  job_id: string;
  attempt: number;
  phase: string;
  model: string;
  estimate_usd: number;
  actual_usd: number | null;
  usd: number;
  at: number;
}

export interface LedgerBooking {
  jobId: string;
  attempt: number;
  predictionId: string;
  phase: string;
  model: string;
  usd: number;
}

/** The estimate of a prediction; a second booking for the same prediction changes nothing. */
export function bookEstimate(sql: SqlStorage, booking: LedgerBooking): void {
  sql.exec(
    "INSERT OR IGNORE INTO ledger (job_id, attempt, prediction_id, phase, kind, usd, detail, at) VALUES (?, ?, ?, ?, 'estimate', ?, ?, ?)",
    booking.jobId,
    booking.attempt,
    booking.predictionId,
    booking.phase,
    round(booking.usd),
    booking.model,
    Date.now(),
  );
}

/**
 * The actual cost of a prediction that ended. A prediction never booked before (created by a
 * lost consumer, or for an attempt that moved on) first gets the estimate it is known by.
 */
export function bookActual(sql: SqlStorage, config: Pick<Config, "prices">, prediction: Prediction, fallback: Omit<LedgerBooking, "predictionId">): number {
  bookEstimate(sql, { ...fallback, predictionId: prediction.id });
  const estimate = sql.exec("SELECT usd, detail, job_id, attempt, phase FROM ledger WHERE prediction_id = ? AND kind = 'estimate'", prediction.id).one() as {
    usd: number;
    detail: string;
    job_id: string;
    attempt: number;
    phase: string;
  };
  const usd = predictionCost(config, estimate.detail, prediction, estimate.usd);
  sql.exec(
    "INSERT OR IGNORE INTO ledger (job_id, attempt, prediction_id, phase, kind, usd, detail, at) VALUES (?, ?, ?, ?, 'actual', ?, ?, ?)",
    estimate.job_id,
    estimate.attempt,
    prediction.id,
    estimate.phase,
    usd,
    estimate.detail,
    Date.now(),
  );
  return usd;
}

/**
 * A cost that is not a prediction — a language model's tokens, a media-node minute — booked
 * under `phase` as one line whose estimate is its actual. `id` names the line within the run
 * (it stands where a prediction's id does, e.g. `tokens:plan#1`); booking it again changes
 * nothing, so a repeated report never counts it twice.
 */
export interface Charge {
  id: string;
  jobId: string;
  attempt: number;
  phase: string;
  /** What was paid for, shown as the line's `model` (e.g. `gpt-4.1-mini`). */
  detail: string;
  usd: number;
}

export function bookCharge(sql: SqlStorage, charge: Charge): void {
  for (const kind of ["estimate", "actual"]) {
    sql.exec(
      "INSERT OR IGNORE INTO ledger (job_id, attempt, prediction_id, phase, kind, usd, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      charge.jobId,
      charge.attempt,
      charge.id,
      charge.phase,
      kind,
      round(charge.usd),
      charge.detail,
      Date.now(),
    );
  }
}

export function ledgerEntries(sql: SqlStorage): LedgerEntry[] {
  const rows = sql
    .exec(
      `SELECT e.prediction_id, e.job_id, e.attempt, e.phase, e.detail AS model, e.usd AS estimate_usd, a.usd AS actual_usd, e.at
         FROM ledger e LEFT JOIN ledger a ON a.prediction_id = e.prediction_id AND a.kind = 'actual'
        WHERE e.kind = 'estimate' ORDER BY e.seq`,
    )
    .toArray() as unknown as Omit<LedgerEntry, "usd">[];
  return rows.map((row) => ({ ...row, model: row.model ?? "", usd: row.actual_usd ?? row.estimate_usd }));
}

/**
 * What a run has cost, as clients are shown it. `spent` is money that is known: the actual
 * cost of every prediction that ended, and every charge. Rows are only ever added to the
 * ledger, and an ended prediction's actual is booked once, so `spent` never decreases — not
 * even when an estimate settles lower. `pending` is what the predictions still running are
 * estimated at; it falls as they settle, which is why it is never added into `spent`.
 * `byPhase` splits `spent`.
 */
export interface CostTotals {
  spent: number;
  pending: number;
  byPhase: Record<string, number>;
}

export function ledgerTotals(entries: readonly LedgerEntry[]): CostTotals {
  const byPhase: Record<string, number> = {};
  let spent = 0;
  let pending = 0;
  for (const entry of entries) {
    if (entry.actual_usd === null) {
      pending += entry.estimate_usd;
      continue;
    }
    byPhase[entry.phase] = (byPhase[entry.phase] ?? 0) + entry.actual_usd;
    spent += entry.actual_usd;
  }
  for (const phase of Object.keys(byPhase)) byPhase[phase] = round(byPhase[phase]!);
  return { spent: round(spent), pending: round(pending), byPhase };
}

/** The totals of each run's ledger, by the run's storage, with the last line they counted. */
const totalsSeen = new WeakMap<SqlStorage, { last: number; totals: CostTotals }>();

/**
 * `ledgerTotals` of the whole ledger, summed again only when a line was added since: lines are
 * only ever added (INSERT OR IGNORE, never updated or deleted), each with a larger `seq`, so the
 * last `seq` names the ledger's content. Asked on every progress event and every status refresh.
 */
export function currentTotals(sql: SqlStorage): CostTotals {
  const last = sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM ledger").one().seq as number;
  const seen = totalsSeen.get(sql);
  if (seen?.last === last) return seen.totals;
  // Shared by every caller until the next line: frozen, so none can change another's.
  const totals = ledgerTotals(ledgerEntries(sql));
  Object.freeze(totals.byPhase);
  totalsSeen.set(sql, { last, totals: Object.freeze(totals) });
  return totals;
}

/** The cost fields of a live event or an answer: spent so far, and what is still running. */
export function costFields(totals: CostTotals): { cost_usd: number; cost_pending_usd: number } {
  return { cost_usd: totals.spent, cost_pending_usd: totals.pending };
}

/** Predictions booked at their estimate whose end the run has not heard of yet. */
export function unsettledPredictions(sql: SqlStorage): { prediction_id: string; job_id: string; attempt: number }[] {
  return sql
    .exec(
      `SELECT e.prediction_id, e.job_id, e.attempt FROM ledger e
        WHERE e.kind = 'estimate' AND NOT EXISTS (SELECT 1 FROM ledger a WHERE a.prediction_id = e.prediction_id AND a.kind = 'actual')
        ORDER BY e.seq`,
    )
    .toArray() as { prediction_id: string; job_id: string; attempt: number }[];
}
