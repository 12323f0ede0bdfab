import type { JobSeconds } from "../config.ts";
import { type JobKind, type JobStatus, PREDICTION_KINDS } from "./jobs.ts";

/**
 * Estimated time remaining of a run: the critical path through the work still to do, each
 * job timed by how long jobs of its kind take. Pure: the run hands in its work (jobs that
 * exist and those its spec will still create) and per-kind durations.
 *
 * The path: plan → references → storyboards → chunks → stitch → mux, with music and the
 * voiceover's lines, then the soundtrack mixing them, running alongside from the end of
 * planning up to mux. Inside a phase jobs run in parallel up
 * to the per-video prediction cap; chunks of one beat are chained, so the chunk phase takes
 * at least its longest remaining chain and at least its remaining chunks spread over the
 * cap's slots. A job in flight counts only what is left of its expected duration (never
 * less than nothing).
 */

export type DurationEstimates = Record<JobKind, JobSeconds>;

/** What one attempt took, stage by stage; null where the stage has not ended (or never ran). */
export interface ObservedAttempt {
  kind: JobKind;
  start: number | null;
  provider: number | null;
  ingest: number | null;
}

export interface WorkItem {
  id: string;
  kind: JobKind;
  /** Job that must be done first (the previous chunk of the beat). */
  dependsOn: string | null;
  /** `planned`: a later phase will create it. */
  status: JobStatus | "planned";
  /** Seconds spent in the current stage: since claimed (running, creating), since the prediction was created (predicting), since it ended (ingesting). */
  elapsed: number;
}

const STAGES = ["start", "provider", "ingest"] as const;
/** Statuses that hold one of the video's prediction slots (as the run's dispatcher counts them). */
const HOLDING: (JobStatus | "planned")[] = ["queued", "running", "creating", "predicting", "ingesting"];
const ENDED: (JobStatus | "planned")[] = ["done", "failed", "cancelled"];

/** Per kind and stage: the mean of this run's observations where there are any, else the prior. */
export function durationEstimates(priors: DurationEstimates, observed: ObservedAttempt[]): DurationEstimates {
  const estimates = {} as DurationEstimates;
  for (const kind of Object.keys(priors) as JobKind[]) {
    const mine = observed.filter((o) => o.kind === kind);
    const seconds = { ...priors[kind] };
    for (const stage of STAGES) {
      const values = mine.map((o) => o[stage]).filter((v): v is number => v !== null && Number.isFinite(v) && v >= 0);
      if (values.length > 0) seconds[stage] = values.reduce((a, b) => a + b, 0) / values.length;
    }
    estimates[kind] = seconds;
  }
  return estimates;
}

/** Seconds a job still needs. */
export function jobRemainder(item: Pick<WorkItem, "status" | "elapsed">, seconds: JobSeconds): number {
  switch (item.status) {
    case "done":
    case "failed":
    case "cancelled":
      return 0;
    case "running":
    case "creating":
      return left(seconds.start, item.elapsed) + seconds.provider + seconds.ingest;
    case "predicting":
      return left(seconds.provider, item.elapsed) + seconds.ingest;
    case "ingesting":
    case "normalizing": // the chain goes on from its published frame; the job itself still ends its ingest
      return left(seconds.ingest, item.elapsed);
    default: // planned, waiting, ready, queued: all of it
      return seconds.start + seconds.provider + seconds.ingest;
  }
}

/** What is left of a stage expected to take `expected` seconds, `elapsed` into it (never less than nothing). */
function left(expected: number, elapsed: number): number {
  return Math.max(0, expected - Math.max(0, elapsed));
}

/**
 * Seconds until every job of one phase is done: the longer of its longest dependency chain
 * and its jobs spread over `slots` parallel slots (jobs in flight keep theirs until they end).
 */
export function phaseSeconds(items: readonly WorkItem[], seconds: JobSeconds, slots: number): number {
  // Asked for every phase each time a status poll's estimate moves (status-view.ts): arrays by
  // position, not maps by id, and a phase without jobs answered at once.
  const n = items.length;
  if (n === 0) return 0;
  const remainder = items.map((item) => jobRemainder(item, seconds));
  const position = items.some((item) => item.dependsOn !== null) ? new Map(items.map((item, i) => [item.id, i])) : null;
  const finish: (number | undefined)[] = new Array(n);
  const chainEnd = (i: number, depth = 0): number => {
    const known = finish[i];
    if (known !== undefined) return known;
    const dependsOn = items[i]!.dependsOn;
    const before = dependsOn === null ? undefined : position?.get(dependsOn);
    const end = remainder[i]! + (before !== undefined && depth < n ? chainEnd(before, depth + 1) : 0);
    finish[i] = end;
    return end;
  };
  let longest = 0;
  for (let i = 0; i < n; i++) longest = Math.max(longest, chainEnd(i));
  if (!Number.isFinite(slots)) return longest;

  // Slots: each in-flight job frees its slot when it ends, the others are free now; each
  // job not started takes the slot that frees first.
  const free: number[] = [];
  for (let i = 0; i < n; i++) if (HOLDING.includes(items[i]!.status)) free.push(remainder[i]!);
  while (free.length < Math.max(1, slots)) free.push(0);
  let spread = Math.max(...free);
  for (let i = 0; i < n; i++) {
    const status = items[i]!.status;
    if (HOLDING.includes(status) || ENDED.includes(status)) continue;
    free.sort((a, b) => a - b);
    free[0] = free[0]! + remainder[i]!;
    spread = Math.max(spread, free[0]!);
  }
  return Math.max(longest, spread);
}

/** Seconds until the run ends, over the whole critical path. */
export function secondsRemaining(work: readonly WorkItem[], estimates: DurationEstimates, maxPredictions: number): number {
  const byKind = new Map<JobKind, WorkItem[]>();
  for (const item of work) {
    const same = byKind.get(item.kind);
    if (same) same.push(item);
    else byKind.set(item.kind, [item]);
  }
  const phase = (kind: JobKind) => phaseSeconds(byKind.get(kind) ?? [], estimates[kind], PREDICTION_KINDS.includes(kind) ? maxPredictions : Number.POSITIVE_INFINITY);
  const main = phase("reference") + phase("storyboard") + phase("chunk") + phase("stitch");
  // The soundtrack mixes the music with every voice line, alongside the main path.
  const soundtrack = Math.max(phase("music"), phase("voice")) + phase("soundtrack");
  return phase("plan") + Math.max(soundtrack, main) + phase("mux");
}
