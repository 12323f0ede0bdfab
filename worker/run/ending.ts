import type { EndStatus } from "../../contracts/api.ts";
import { mediaKeys } from "../media/keys.ts";
import { queueCallback } from "./callback.ts";
import { JOB_TRANSITIONS } from "./job-machine.ts";
import { costFields } from "./ledger.ts";
import { endRun } from "./run-state.ts";
import { recordDurations } from "./timings.ts";
import type { RunContext, Running } from "./types.ts";

/**
 * The video ends: complete, failed or cancelled. The end is written first (every open job
 * cancelled, the run's status set), so nothing started meanwhile can run on; then the
 * predictions still running are stopped, the end is announced, indexed, its durations become
 * the next videos' priors, and its `callback_url` is notified.
 */
export async function endVideo(run: RunContext, status: EndStatus, error: string | null): Promise<void> {
  if (run.ended()) return;
  const now = Date.now();
  const running: Running[] = run.jobs.list("status = 'predicting' AND prediction_id IS NOT NULL").map((j) => ({ jobId: j.id, attempt: j.attempt, predictionId: j.prediction_id! }));
  // Predictions still being created are cancelled when their creation is reported (predictions.ts).
  for (const job of run.jobs.inStatus(JOB_TRANSITIONS.cancel.from)) run.jobs.apply("cancel", job, {}, now);
  const from = run.row()?.phase;
  const ended = endRun(run.sql, status, error, now);
  if (!ended) return;
  run.log.info("phase.changed", { phase: status, from });
  // Stop spending: cancel every prediction still running at the provider.
  await run.cancelAtProvider(running);
  const videoId = run.row()!.video_id;
  const createdAt = run.row()!.created_at;
  const final_video_url = status === "complete" ? await run.sign(mediaKeys.final(videoId)) : null;
  const costs = costFields(run.costs());
  const generation_time_seconds = Math.round((now - createdAt) / 100) / 10;
  run.event(status, { status, phase: status, progress: ended.progress, error, ...costs, final_video_url, generation_time_seconds });
  run.log[status === "failed" ? "warn" : "info"]("video.ended", { status, error, ...costs, generation_time_seconds });
  await run.syncIndex();
  // What this video's jobs took becomes the next videos' priors.
  await recordDurations(run.sql, run.env.DB, run.config, run.log, now);
  if (run.state()?.request.callback_url) queueCallback(run.sql, { video_id: videoId, status, final_video_url, error, cost_usd: run.costs().spent });
  // An ended run keeps its alarm only for callback deliveries.
  await run.scheduleAlarm();
}
