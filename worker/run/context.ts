import type { Config } from "../config.ts";
import { type Log, workerLog } from "../log.ts";
import { signMediaUrl } from "../media/signed-url.ts";
import type { ProviderClient } from "../providers/client.ts";
import { nextCallbackAt } from "./callback.ts";
import { dispatch, sendMessages } from "./dispatch.ts";
import { endVideo } from "./ending.ts";
import { appendEvent } from "./event-log.ts";
import { failAttempt } from "./failures.ts";
import { IndexSync, indexedRun } from "./index-sync.ts";
import { JobMachine, type TransitionObserver } from "./job-machine.ts";
import { currentTotals } from "./ledger.ts";
import { cancelAtProvider } from "./predictions.ts";
import { nextDueAt, nextSettleAt } from "./recovery.ts";
import { readRow, readState } from "./run-row.ts";
import { isEnded } from "./run-state.ts";
import type { RunContext, RunRow } from "./types.ts";

/** What a run is built from: its Durable Object's storage and sockets, and the outside world. */
export interface RunParts {
  storage: DurableObjectStorage;
  env: Env;
  /** The video's settings (videoConfig: its quality's provider and models), read on every use: they are known once the run starts. */
  config: () => Config;
  /** Read on every use, so a test may bind another provider to a live run. */
  provider: () => ProviderClient;
  sockets: () => WebSocket[];
}

/** The run's modules wired to one another through one RunContext (types.ts), so none imports another's internals. */
export function runContext(parts: RunParts): RunContext {
  const { storage, env } = parts;
  const sql = storage.sql;
  const base = workerLog(parts.config().log);
  let videoLog: Log | null = null;
  // Every status change of a job is a line of the video's story.
  const logTransition: TransitionObserver = (event, before, after, params) =>
    run.log.info("job.transition", {
      job_id: after.id,
      kind: after.kind,
      attempt: after.attempt,
      transition: event,
      from: before.status,
      to: after.status,
      prediction_id: after.prediction_id ?? undefined,
      reason: "reason" in params ? params.reason : undefined,
    });
  const index = new IndexSync(env.DB, sql, () => run.log);
  const run: RunContext = {
    sql,
    env,
    get config() {
      return parts.config();
    },
    get provider() {
      return parts.provider();
    },
    jobs: new JobMachine(sql, logTransition),
    // Bound to the video once its row exists (the object learns its video from `start`).
    get log() {
      if (videoLog) return videoLog;
      const videoId = readRow(sql)?.video_id;
      return videoId ? (videoLog = base.with({ video_id: videoId })) : base;
    },
    row: () => readRow(sql),
    state: () => readState(sql),
    ended: () => {
      // The status alone: asked on nearly every report and claim, where the row's long JSON texts (request, spec, plan) are not needed.
      const row = sql.exec("SELECT status FROM run WHERE id = 1").toArray()[0] as Pick<RunRow, "status"> | undefined;
      return !row || isEnded(row.status);
    },
    event: (type, data) => appendEvent(sql, parts.sockets(), type, data, run.log),
    sign: (key) => signMediaUrl(run.config.publicBaseUrl, run.config.mediaSigningSecret, key, "get", run.config.mediaUrlTtlSeconds),
    costs: () => currentTotals(sql),
    dispatch: (handOff) => dispatch(run, handOff),
    send: (messages, delaySeconds) => sendMessages(run, messages, delaySeconds),
    syncIndex: (extra) => index.sync(indexedRun(sql), run.costs().spent, extra),
    fail: (jobId, attempt, reason, retryable, step) => failAttempt(run, jobId, attempt, reason, retryable, step),
    finish: (status, error) => endVideo(run, status, error),
    cancelAtProvider: (targets) => cancelAtProvider(run, targets),
    /** The alarm fires at the earliest due time; an ended run keeps it only for callbacks, its last costs and its index row. */
    async scheduleAlarm() {
      const now = Date.now();
      const afterEnd = earliest(nextCallbackAt(sql), index.retryAt());
      // The columns it reads, not the row's long JSON texts: asked on every dispatch and claim.
      const row = sql.exec("SELECT status, completed_at FROM run WHERE id = 1").toArray()[0] as Pick<RunRow, "status" | "completed_at"> | undefined;
      const at = !row || isEnded(row.status) ? earliest(afterEnd, nextSettleAt(sql, row?.completed_at ?? now, now)) : nextDueAt(sql, afterEnd, now);
      if (at === null) {
        await storage.deleteAlarm();
        return;
      }
      const current = await storage.getAlarm();
      if (current === null || current > at || current < now) await storage.setAlarm(Math.max(at, now + 10));
    },
  };
  return run;
}

function earliest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length ? Math.min(...known) : null;
}
