import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { type CostEstimate, EndStatus, type GenerateRequest, type Phase, type ReferenceImage, type RegenerateOutcome, type VideoStatus } from "../../contracts/api.ts";
import { type Prediction, TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { planChunks, type ChunkPlan } from "../chunks/plan.ts";
import { loadConfig, type Config } from "../config.ts";
import { videos } from "../db/schema.ts";
import { mediaKeys } from "../media/keys.ts";
import { signMediaUrl } from "../media/signed-url.ts";
import { type ProviderClient, providerClient } from "../providers/client.ts";
import { findPredictionByWebhook, type PredictionLookup } from "../providers/lookup.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { JobMessage, type JobStep, queueOf } from "../queue/messages.ts";
import { buildConsistencyContext } from "../references/context.ts";
import { chunkJobs, musicJob, type NewJob, referenceJobs, storyboardJobs } from "./dag.ts";
import { ACTIVE_STATUSES, type JobKind, type JobRow, type JobStatus, PREDICTION_KINDS, migrate } from "./jobs.ts";
import { bookActual, bookEstimate, exposure, type LedgerEntry, ledgerEntries, ledgerTotals } from "./ledger.ts";
import { worstCase } from "../pricing/estimate.ts";
import type { ClaimedJob, ReferenceOutput } from "../steps/step.ts";
import { PHASE_OF_KIND, phaseProgress } from "./progress.ts";
import { callbackBackoffMs, deliverCallback } from "./callback.ts";
import { attemptDone, attemptStarted, estimateSecondsRemaining, loadDurationPriors, predictionEnded, predictionStarted, recordDurations } from "./timings.ts";
import { BEAT_PROMPT_MAX_WORDS, limitWords, sanitiseSlot } from "../planning/prompts.ts";
import type { CallbackNotification } from "../../contracts/api.ts";
import type { PredictionGate, RunState, Snapshot, StartInput } from "./types.ts";
import { chunkJobId, type LiveEventData, type LiveEventType, liveEventIssues, type PlanNote } from "../../contracts/live.ts";

/**
 * VideoRun: the single writer for one video. Every transition is written to SQLite before
 * its side effects (queue messages, provider calls) are made, so a restart anywhere resumes
 * where it stopped; the alarm re-sends work whose message or consumer was lost, polls
 * predictions whose webhook is late and stops those past their deadline.
 */

/** A run as stored: RunState with its JSON columns still serialised. */
type RunRow = Omit<RunState, "request" | "spec" | "chunk_plan" | "cost_estimate"> & {
  request: string;
  spec: string | null;
  chunk_plan: string | null;
  cost_estimate: string | null;
  last_progress_at: number;
};

/** A prediction to stop at the provider, with the job attempt whose ledger pays for it. */
interface Running {
  jobId: string;
  attempt: number;
  predictionId: string;
}

const TERMINAL: readonly VideoStatus[] = EndStatus.options;
const ALARM_IDLE_MS = 30_000;
/** Polling cadence once a prediction's webhook is overdue, and back-off when the provider cannot be reached. */
const REPOLL_MS = 10_000;

export class VideoRun extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Settings (config.ts). Tests adjust them on a live instance through `runInDurableObject`. */
  readonly config: Config;
  /** The model provider. Tests bind it to an in-memory Replicate, since workerd cannot listen on a port. */
  provider: ProviderClient;
  /** Sends `callback_url` notifications. Tests bind it to a recorder, since workerd cannot listen on a port. */
  notify: typeof fetch = (input, init) => fetch(input, init);
  /** What the D1 index was last set to, so unchanged state is not written again. */
  private indexed = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = loadConfig(env);
    this.provider = providerClient(this.config.providerBaseUrl, this.config.providerToken);
    migrate(this.sql);
  }

  // ---------------------------------------------------------------- state access

  private row(): RunRow | null {
    return (this.sql.exec("SELECT * FROM run WHERE id = 1").toArray()[0] as unknown as RunRow | undefined) ?? null;
  }

  private state(): RunState | null {
    const row = this.row();
    if (!row) return null;
    // The row's bookkeeping columns stay inside: the snapshot a client sees is exactly the contract's.
    const { id: _id, last_progress_at: _lastProgress, ...columns } = row as RunRow & { id?: number };
    return {
      ...columns,
      request: JSON.parse(row.request) as GenerateRequest,
      spec: row.spec ? (JSON.parse(row.spec) as VideoSpec) : null,
      chunk_plan: row.chunk_plan ? (JSON.parse(row.chunk_plan) as ChunkPlan[]) : null,
      cost_estimate: row.cost_estimate ? (JSON.parse(row.cost_estimate) as CostEstimate) : null,
    };
  }

  private ended(): boolean {
    const row = this.row();
    return !row || TERMINAL.includes(row.status);
  }

  private jobs(where = "1 = 1", ...params: unknown[]): JobRow[] {
    return this.sql.exec(`SELECT * FROM jobs WHERE ${where} ORDER BY created_at, idx`, ...params).toArray() as unknown as JobRow[];
  }

  private job(id: string): JobRow | null {
    return (this.sql.exec("SELECT * FROM jobs WHERE id = ?", id).toArray()[0] as unknown as JobRow | undefined) ?? null;
  }

  /**
   * Typed by contracts/live.ts, so a call with a wrong or missing field fails to compile. It is
   * also checked at run time, always: the types cannot see data that arrives through JSON.parse
   * casts (stored job outputs, planner notes), and a safeParse costs microseconds against a
   * SQLite write and a send per socket. A mismatch is logged and the event still goes out:
   * a contract slip must never stop a run or leave a hole in its log.
   */
  private event<T extends LiveEventType>(type: T, data: LiveEventData<T>): void {
    const issues = liveEventIssues({ ...data, type });
    if (issues) console.error(`live event ${type} does not match contracts/live.ts: ${issues}`);
    const at = Date.now();
    const seq = this.sql.exec("INSERT INTO events (type, data, at) VALUES (?, ?, ?) RETURNING seq", type, JSON.stringify(data), at).one().seq as number;
    const message = JSON.stringify({ id: seq, type, at, ...data });
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(message);
      } catch {
        // A socket closing mid-send is cleaned up by webSocketClose.
      }
    }
  }

  private sign(key: string): Promise<string> {
    return signMediaUrl(this.config.publicBaseUrl, this.config.mediaSigningSecret, key, "get", this.config.mediaUrlTtlSeconds);
  }

  private costs(): { total: number; byPhase: Record<string, number> } {
    return ledgerTotals(ledgerEntries(this.sql));
  }

  private webhookFor(job: Pick<JobRow, "id" | "attempt">): Promise<string> {
    return webhookUrl(this.config, this.row()!.video_id, job.id, job.attempt);
  }

  // ---------------------------------------------------------------- RPC: lifecycle

  async start(input: StartInput): Promise<void> {
    if (this.row()) return; // idempotent: a retried start changes nothing
    const now = Date.now();
    this.sql.exec(
      `INSERT INTO run (id, video_id, tenant_id, request, spec, chunk_plan, cost_estimate, status, phase, progress, created_at, updated_at, last_progress_at)
       VALUES (1, ?, ?, ?, NULL, NULL, ?, 'queued', 'queued', 0, ?, ?, ?)`,
      input.video_id,
      input.tenant_id,
      JSON.stringify(input.request),
      input.cost_estimate ? JSON.stringify(input.cost_estimate) : null,
      now,
      now,
      now,
    );
    this.event("queued", { status: "queued", phase: "queued", progress: 0 });
    this.insertJobs([{ id: "plan", kind: "plan", beat: null, idx: 0, input: {} }], "ready");
    await this.dispatch();
  }

  async snapshot(): Promise<Snapshot | null> {
    const state = this.state();
    if (!state) return null;
    const ledger = ledgerEntries(this.sql);
    const { total, byPhase } = ledgerTotals(ledger);
    const jobs = this.jobs();
    const outputs: Record<string, unknown> = {};
    for (const job of jobs) if (job.output) outputs[job.id] = JSON.parse(job.output);
    const last = this.sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").one().seq as number;
    return {
      ...state,
      cost_usd: total,
      cost_by_phase: byPhase,
      cost_ledger: ledger,
      estimated_time_remaining: this.eta(state),
      jobs: jobs.map((j) => ({ id: j.id, kind: j.kind, beat: j.beat, idx: j.idx, status: j.status, attempt: j.attempt, error: j.error, errors: JSON.parse(j.errors) as string[] })),
      outputs,
      last_event: last,
    };
  }

  async events(since: number): Promise<{ id: number; type: string; at: number; data: unknown }[]> {
    return (this.sql.exec("SELECT seq, type, data, at FROM events WHERE seq > ? ORDER BY seq LIMIT 1000", since).toArray() as { seq: number; type: string; data: string; at: number }[]).map((e) => ({
      id: e.seq,
      type: e.type,
      at: e.at,
      data: JSON.parse(e.data),
    }));
  }

  /** Stop the video: every prediction still running is cancelled at the provider. */
  async cancel(reason = "cancelled by request"): Promise<boolean> {
    if (this.ended()) return false;
    await this.finish("cancelled", reason);
    return true;
  }

  /**
   * Re-render one beat of a complete video: only that beat's chunks get a new attempt (new
   * predictions, booked in the ledger like any others), then stitch and mux run again.
   * References, storyboards, music and every other chunk are reused. A new prompt replaces
   * the beat's prompt in the spec; its storyboard frame is kept (it sets composition and
   * palette, which the new prompt then steers), so a prompt change costs chunks only.
   * Progress restarts from the chunk phase: it rises again within this new pass.
   */
  async regenerateBeat(beat: number, prompt: string | null): Promise<RegenerateOutcome> {
    const state = this.state();
    if (!state) return { ok: false, status: 404, error: "video not found" };
    if (state.status !== "complete" || !state.spec || !state.chunk_plan) {
      return { ok: false, status: 409, error: `the video is ${state.status}; only a complete video's beats can be regenerated` };
    }
    if (!state.spec.beats.some((b) => b.index === beat)) {
      return { ok: false, status: 422, field: "n", error: `n: beat ${beat} does not exist (this video has beats 0 to ${state.spec.beats.length - 1})` };
    }
    let spec = state.spec;
    if (prompt !== null) {
      const cleaned = limitWords(sanitiseSlot(prompt, 600), BEAT_PROMPT_MAX_WORDS);
      if (!cleaned) return { ok: false, status: 422, field: "prompt", error: "prompt: nothing usable is left after removing quotes, brackets and control characters" };
      spec = VideoSpec.parse({ ...spec, beats: spec.beats.map((b) => (b.index === beat ? { ...b, prompt: cleaned } : b)) });
    }
    const plan = planChunks(spec, { maxChunkFrames: this.config.maxChunkFrames });
    const redo = plan.filter((c) => c.beat_index === beat);
    const now = Date.now();
    for (const chunk of redo) {
      this.sql.exec(
        `UPDATE jobs SET attempt = attempt + 1, retry_base = attempt, status = ?, input = ?, output = NULL, prediction_id = NULL, model = NULL, estimate_usd = NULL,
           creating_since = NULL, create_uncertain = 0, error = NULL, lease_until = NULL, poll_at = NULL, deadline_at = NULL, started_at = NULL, updated_at = ? WHERE id = ?`,
        chunk.first_in_beat ? "ready" : "waiting",
        JSON.stringify(chunk),
        now,
        chunkJobId(chunk.chunk_num),
      );
    }
    // Stitch and mux are created afresh once every chunk is done again (maybeStitch / maybeMux).
    this.sql.exec("DELETE FROM jobs WHERE id IN ('stitch', 'mux')");
    const progress = Math.round(phaseProgress("generating_chunks", this.jobs()) * 10) / 10;
    this.sql.exec(
      "UPDATE run SET spec = ?, chunk_plan = ?, status = 'processing', phase = 'generating_chunks', progress = ?, error = NULL, completed_at = NULL, last_progress_at = ?, updated_at = ? WHERE id = 1",
      JSON.stringify(spec),
      JSON.stringify(plan),
      progress,
      now,
      now,
    );
    const beatPrompt = spec.beats.find((b) => b.index === beat)!.prompt;
    this.event("regenerate", { beat, prompt: beatPrompt, prompt_changed: prompt !== null, chunk_nums: redo.map((c) => c.chunk_num), status: "processing", phase: "generating_chunks" });
    if (prompt !== null) this.event("spec", { spec, cost_estimate: state.cost_estimate, chunks: plan.length });
    this.event("phase", { phase: "generating_chunks", status: "processing" });
    this.event("progress", { progress, phase: "generating_chunks", cost_usd: this.costs().total, estimated_time_remaining: this.eta(this.state()!) });
    await this.syncIndex();
    await this.dispatch();
    return { ok: true, chunks: redo.map((c) => c.chunk_num), prompt: beatPrompt };
  }

  // ---------------------------------------------------------------- RPC: consumers

  /** A consumer takes a job. Null means the message is stale (job moved on): acknowledge and drop it. */
  async claim(jobId: string, attempt: number, step: JobStep): Promise<ClaimedJob | null> {
    const state = this.state();
    const job = this.job(jobId);
    if (!state || !job || job.attempt !== attempt || TERMINAL.includes(state.status)) return null;
    const expected: JobStatus[] = step === "start" ? ["queued", "running"] : step === "ingest" ? ["ingesting"] : ["normalizing"];
    if (!expected.includes(job.status)) return null;
    const now = Date.now();
    if (step === "start") {
      this.sql.exec("UPDATE jobs SET status = 'running', lease_until = ?, started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, now, jobId);
      attemptStarted(this.sql, this.config, job, now);
    } else this.sql.exec("UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, jobId);
    // The planner starting is the run's first phase change a client can see.
    if (step === "start" && job.kind === "plan") await this.setPhase("planning");
    await this.scheduleAlarm();
    const predictionRow = step !== "start" ? (JSON.parse(job.output ?? "null") as { prediction?: Prediction; published?: unknown } | null) : null;
    return {
      video: { video_id: state.video_id, tenant_id: state.tenant_id, request: state.request, spec: state.spec, consistency_context: state.consistency_context },
      references: this.referenceOutputs(),
      job: { id: job.id, kind: job.kind, beat: job.beat, idx: job.idx, attempt: job.attempt, input: JSON.parse(job.input), prediction_id: job.prediction_id },
      prediction: predictionRow?.prediction ?? null,
      published: predictionRow?.published ?? null,
    };
  }

  /**
   * Idempotency guard before a paid prediction is created. Only one consumer at a time gets
   * `proceed` for an attempt; the attempt stays `creating` until the prediction is recorded,
   * so a redelivered message never creates a second one. The cost cap is checked here,
   * counting what is spent, what is running and what other consumers are about to create.
   */
  async beginPrediction(jobId: string, attempt: number, estimateUsd: number, model: string): Promise<PredictionGate> {
    const state = this.state();
    const job = this.job(jobId);
    if (!state || TERMINAL.includes(state.status) || !job || job.attempt !== attempt) return { proceed: false, reason: "stale" };
    if (job.status === "creating") return { proceed: false, reason: "creating" };
    if (job.status !== "running") return { proceed: false, reason: "stale" };
    const cap = state.request.max_cost_usd ?? null;
    if (cap !== null) {
      // Committed: what ended cost, what runs at its worst case, what other consumers are starting.
      const deadlineS = this.config.predictionDeadlineMs / 1000;
      const running = exposure(ledgerEntries(this.sql), this.config, deadlineS);
      const starting = this.jobs("status = 'creating'").reduce((sum, j) => sum + worstCase(this.config, j.model ?? "", j.estimate_usd ?? 0, deadlineS), 0);
      const needed = worstCase(this.config, model, estimateUsd, deadlineS);
      if (running + starting + needed > cap + 1e-9) {
        const committed = `$${(running + starting).toFixed(4)} spent or committed`;
        const price = needed > estimateUsd ? `estimated at $${estimateUsd.toFixed(4)}, billed by running time up to $${needed.toFixed(4)}` : `estimated at $${estimateUsd.toFixed(4)}`;
        await this.finish("failed", `max_cost_usd $${cap.toFixed(2)} reached (${committed}): ${describeJob(job, state.spec)} was not started, its prediction is ${price}`);
        return { proceed: false, reason: "cost cap" };
      }
    }
    const now = Date.now();
    this.sql.exec(
      "UPDATE jobs SET status = 'creating', model = ?, estimate_usd = ?, creating_since = COALESCE(creating_since, ?), lease_until = ?, updated_at = ? WHERE id = ?",
      model,
      estimateUsd,
      now,
      now + this.config.jobLeaseMs,
      now,
      jobId,
    );
    await this.scheduleAlarm();
    return job.create_uncertain === 1 ? { proceed: true, lookupSince: job.creating_since ?? now } : { proceed: true };
  }

  /**
   * The deployment's create gate is full (`providerCreatesPerMinute`): the job gives its slot
   * back and is sent again once the gate has room. Not a failure, so no retry is used up.
   */
  async defer(jobId: string, attempt: number, seconds: number): Promise<void> {
    const job = this.job(jobId);
    if (!job || this.ended() || job.attempt !== attempt || !["queued", "running", "creating"].includes(job.status)) return;
    const now = Date.now();
    const wait = Math.max(1, seconds);
    this.sql.exec("UPDATE jobs SET status = 'ready', not_before = ?, lease_until = NULL, updated_at = ? WHERE id = ?", now + wait * 1000, now, jobId);
    this.event("job", { job: this.jobView(jobId)! });
    // Said out loud, so a waiting job does not look stuck.
    this.event("warning", { message: `${jobId} waits ${wait} s: the provider's ${this.config.providerCreatesPerMinute} prediction creates per minute are taken`, job_id: jobId });
    // No dispatch: the other ready jobs would meet the same full gate; the alarm sends them when it has room.
    await this.scheduleAlarm();
  }

  /**
   * Creating the prediction failed. `uncertain` when the provider may have created it anyway
   * (no answer, 5xx): the next try looks for it first instead of creating blindly.
   * `retryAfterSeconds` (a 429's Retry-After) holds the lease that long, so the alarm does not
   * re-send the job before the provider said it may be asked again.
   */
  async predictionAborted(jobId: string, attempt: number, uncertain: boolean, retryAfterSeconds = 0): Promise<void> {
    const now = Date.now();
    this.sql.exec(
      "UPDATE jobs SET status = 'running', create_uncertain = MAX(create_uncertain, ?), lease_until = ?, updated_at = ? WHERE id = ? AND attempt = ? AND status = 'creating'",
      uncertain ? 1 : 0,
      now + this.config.jobLeaseMs + retryAfterSeconds * 1000,
      now,
      jobId,
      attempt,
    );
    await this.scheduleAlarm();
  }

  async predictionCreated(jobId: string, attempt: number, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
    const job = this.job(jobId);
    if (!job || !this.row()) return;
    const booking = { jobId, attempt, predictionId: prediction.id, phase: PHASE_OF_KIND[job.kind], model, usd: estimateUsd };
    if (job.attempt === attempt && job.prediction_id === prediction.id) {
      // Its webhook came first and the run adopted it already.
      bookEstimate(this.sql, booking);
      return;
    }
    if (this.ended() || job.attempt !== attempt || job.status !== "creating") {
      // The job moved on (or the video ended) while the prediction was being created: it is
      // ours to pay for, so it is booked, and stopped before it costs more.
      bookEstimate(this.sql, booking);
      await this.cancelAtProvider([{ jobId, attempt, predictionId: prediction.id }]);
      await this.syncIndex();
      return;
    }
    await this.adopt(job, prediction, estimateUsd, model);
    await this.syncIndex();
  }

  /**
   * A prediction update, from a verified webhook or from polling. Repeated deliveries (same
   * `webhook-id`) and repeated updates (same prediction and status) are acted on once; late
   * and out-of-order ones change nothing but the ledger: only the current attempt's
   * prediction moves its job, and only while the job is waiting for it.
   */
  async onPrediction(jobId: string, attempt: number, prediction: Prediction, deliveryId: string | null): Promise<{ accepted: boolean }> {
    if (deliveryId) {
      const fresh = this.sql.exec("INSERT INTO deliveries (id, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id", deliveryId, Date.now()).toArray().length > 0;
      if (!fresh) return { accepted: false };
    }
    const job = this.job(jobId);
    const run = this.row();
    if (!job || !run) return { accepted: false };
    if (this.sql.exec("SELECT 1 FROM prediction_updates WHERE prediction_id = ? AND status = ?", prediction.id, prediction.status).toArray().length > 0) return { accepted: false };
    const terminal = TERMINAL_STATUSES.includes(prediction.status);
    const known = job.attempt === attempt && job.prediction_id === prediction.id;
    // While `creating` (or after a create that failed without an answer) the attempt has no
    // prediction id yet; a signed update for this very attempt names it.
    const adoptable =
      !TERMINAL.includes(run.status) &&
      job.attempt === attempt &&
      job.prediction_id === null &&
      (job.status === "creating" || (job.create_uncertain === 1 && ["queued", "running"].includes(job.status)));

    if (adoptable) {
      // The provider's webhook beat the create call's answer: take the prediction now.
      if (prediction.webhook && prediction.webhook !== (await this.webhookFor(job))) return { accepted: false };
      this.markUpdate(prediction);
      await this.adopt(job, prediction, job.estimate_usd ?? 0, job.model ?? prediction.model ?? "");
      await this.syncIndex();
      return { accepted: true };
    }

    this.markUpdate(prediction);
    const fallback = { jobId, attempt, phase: PHASE_OF_KIND[job.kind], model: job.model ?? prediction.model ?? "", usd: job.estimate_usd ?? 0 };
    if (!known || TERMINAL.includes(run.status) || job.status !== "predicting") {
      // Not what the job waits for: a finished one is priced, a running one is an orphan
      // (an abandoned attempt, a duplicate) and is stopped.
      if (terminal) bookActual(this.sql, this.config, prediction, fallback);
      else if (!known || TERMINAL.includes(run.status)) {
        bookEstimate(this.sql, { ...fallback, predictionId: prediction.id });
        await this.cancelAtProvider([{ jobId, attempt, predictionId: prediction.id }]);
      }
      await this.enforceCap();
      await this.syncIndex();
      return { accepted: false };
    }
    if (!terminal) {
      // The provider is talking to us: polling can wait.
      this.sql.exec("UPDATE jobs SET poll_at = ?, updated_at = ? WHERE id = ?", Date.now() + this.config.pollAfterMs, Date.now(), jobId);
      await this.scheduleAlarm();
      return { accepted: true };
    }
    await this.settle(job, prediction);
    await this.syncIndex();
    return { accepted: true };
  }

  async jobDone(jobId: string, attempt: number, output: unknown): Promise<void> {
    const job = this.job(jobId);
    const state = this.state();
    if (!job || !state || job.attempt !== attempt || !["running", "ingesting", "normalizing"].includes(job.status) || TERMINAL.includes(state.status)) return;
    const now = Date.now();
    this.sql.exec("UPDATE jobs SET status = 'done', output = ?, error = NULL, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?", JSON.stringify(output ?? null), now, jobId);
    attemptDone(this.sql, jobId, attempt, now);
    this.touch();
    // Each finished artefact is previewable at once (progressive preview of chunks, boards, references).
    const key = (output as { key?: unknown } | null)?.key;
    const preview_url = typeof key === "string" ? await this.sign(key) : null;
    this.event("job", { job: this.jobView(jobId)!, output, preview_url });
    await this.advance(job);
    await this.syncIndex();
  }

  /**
   * An ingest published what the job's dependents need (a chunk's last frame) ahead of its
   * heavy part: they may start now, and the job's `normalize` step completes it.
   */
  async publish(jobId: string, attempt: number, output: unknown): Promise<void> {
    const job = this.job(jobId);
    const state = this.state();
    if (!job || !state || job.attempt !== attempt || job.status !== "ingesting" || TERMINAL.includes(state.status)) return;
    const stored = JSON.parse(job.output ?? "null") as { prediction?: Prediction } | null;
    const now = Date.now();
    this.sql.exec(
      "UPDATE jobs SET status = 'normalizing', output = ?, lease_until = ?, updated_at = ? WHERE id = ?",
      JSON.stringify({ prediction: stored?.prediction ?? null, published: output ?? null }),
      now + this.config.jobLeaseMs,
      now,
      jobId,
    );
    this.touch();
    const frameKey = (output as { last_frame_key?: unknown } | null)?.last_frame_key;
    this.event("job", { job: this.jobView(jobId)!, ...(typeof frameKey === "string" ? { frame_url: await this.sign(frameKey) } : {}) });
    this.releaseDependents(jobId);
    await this.send([{ video_id: state.video_id, job_id: jobId, attempt, step: "normalize" }]);
    await this.updateProgress();
    await this.dispatch();
  }

  /**
   * A job's attempt failed. Retryable failures get a new attempt while attempts remain; every
   * reason is kept in the job's `errors`. `step` names what the reporting consumer was doing:
   * a report about a step the job has already moved past changes nothing.
   */
  async fail(jobId: string, attempt: number, reason: string, retryable: boolean, step?: JobStep): Promise<void> {
    const job = this.job(jobId);
    const state = this.state();
    if (!job || !state || job.attempt !== attempt || ["done", "failed", "cancelled"].includes(job.status) || TERMINAL.includes(state.status)) return;
    if (step === "start" && !["queued", "running"].includes(job.status)) return;
    if (step === "ingest" && job.status !== "ingesting") return;
    if (step === "normalize" && job.status !== "normalizing") return;
    // A prediction still running when its attempt is given up is stopped (one that ended has its actual cost booked).
    const abandoned: Running[] = this.stillRunning(job) ? [{ jobId, attempt, predictionId: job.prediction_id! }] : [];
    // Chunks already started from this attempt's published last frame start again from the next one's.
    if (job.status === "normalizing") abandoned.push(...this.restartDependents(jobId));
    const errors = [...(JSON.parse(job.errors) as string[]), `attempt ${attempt}: ${reason}`];
    const now = Date.now();
    if (retryable && attempt - job.retry_base < this.config.maxAttempts) {
      this.sql.exec(
        `UPDATE jobs SET attempt = ?, status = 'ready', prediction_id = NULL, model = NULL, estimate_usd = NULL, creating_since = NULL, create_uncertain = 0,
           error = ?, errors = ?, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?`,
        attempt + 1,
        reason,
        JSON.stringify(errors),
        now,
        jobId,
      );
      this.event("job_retry", { job: this.jobView(jobId)!, reason });
      // A prediction that is given up on must not keep running (and billing).
      await this.cancelAtProvider(abandoned);
      await this.dispatch();
      await this.syncIndex();
      return;
    }
    this.sql.exec("UPDATE jobs SET status = 'failed', error = ?, errors = ?, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?", reason, JSON.stringify(errors), now, jobId);
    this.event("job", { job: this.jobView(jobId)! });
    await this.cancelAtProvider(abandoned);
    const used = attempt - job.retry_base;
    await this.finish("failed", `${describeJob(job, state.spec)} failed after ${used} attempt${used === 1 ? "" : "s"}: ${reason}`);
  }

  /** The attempt's prediction runs at the provider and has not been priced as ended. */
  private stillRunning(job: JobRow): boolean {
    if (job.status !== "predicting" || !job.prediction_id) return false;
    return this.sql.exec("SELECT 1 FROM ledger WHERE prediction_id = ? AND kind = 'actual'", job.prediction_id).toArray().length === 0;
  }

  /** Chunk k+1 of a beat waits for chunk k's last frame: once it is published, it may start. */
  private releaseDependents(jobId: string): void {
    this.sql.exec("UPDATE jobs SET status = 'ready', updated_at = ? WHERE status = 'waiting' AND depends_on = ?", Date.now(), jobId);
  }

  /**
   * The job is rendered again, so whatever started from its published output must start again
   * too, from the new one: dependents go back to waiting with a fresh attempt that does not
   * count against their retries (recursively down the beat). Their running predictions are
   * returned to be stopped.
   */
  private restartDependents(jobId: string): Running[] {
    const stopped: Running[] = [];
    const now = Date.now();
    for (const next of this.jobs("depends_on = ? AND status NOT IN ('waiting', 'failed', 'cancelled')", jobId)) {
      if (this.stillRunning(next)) stopped.push({ jobId: next.id, attempt: next.attempt, predictionId: next.prediction_id! });
      const reason = `${jobId} is rendered again, so this chunk starts again from its new last frame`;
      const errors = [...(JSON.parse(next.errors) as string[]), `attempt ${next.attempt}: ${reason}`];
      this.sql.exec(
        `UPDATE jobs SET status = 'waiting', attempt = attempt + 1, retry_base = retry_base + 1, prediction_id = NULL, model = NULL, estimate_usd = NULL,
           creating_since = NULL, create_uncertain = 0, output = NULL, errors = ?, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?`,
        JSON.stringify(errors),
        now,
        next.id,
      );
      this.event("job_retry", { job: this.jobView(next.id)!, reason });
      stopped.push(...this.restartDependents(next.id));
    }
    return stopped;
  }

  // ---------------------------------------------------------------- predictions

  /** The job's attempt now owns this prediction: book its estimate and wait for its outcome. */
  private async adopt(job: JobRow, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
    const now = Date.now();
    this.sql.exec(
      `UPDATE jobs SET status = 'predicting', prediction_id = ?, model = ?, estimate_usd = ?, create_uncertain = 0,
         poll_at = ?, deadline_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
      prediction.id,
      model,
      estimateUsd,
      now + this.config.pollAfterMs,
      now + this.config.predictionDeadlineMs,
      now,
      job.id,
    );
    predictionStarted(this.sql, job.id, job.attempt, model, now);
    bookEstimate(this.sql, { jobId: job.id, attempt: job.attempt, predictionId: prediction.id, phase: PHASE_OF_KIND[job.kind], model, usd: estimateUsd });
    this.event("job", { job: this.jobView(job.id)!, prediction_id: prediction.id, cost_usd: this.costs().total });
    await this.scheduleAlarm();
    if (TERMINAL_STATUSES.includes(prediction.status)) {
      this.markUpdate(prediction);
      await this.settle(this.job(job.id)!, prediction);
    }
  }

  /** The awaited prediction ended: price it, then ingest its output or fail the attempt. */
  private async settle(job: JobRow, prediction: Prediction): Promise<void> {
    const usd = bookActual(this.sql, this.config, prediction, {
      jobId: job.id,
      attempt: job.attempt,
      phase: PHASE_OF_KIND[job.kind],
      model: job.model ?? "",
      usd: job.estimate_usd ?? 0,
    });
    if (await this.enforceCap()) return;
    if (prediction.status === "succeeded") {
      const now = Date.now();
      predictionEnded(this.sql, job.id, job.attempt, prediction, now);
      this.sql.exec(
        "UPDATE jobs SET status = 'ingesting', output = ?, poll_at = NULL, deadline_at = NULL, lease_until = ?, updated_at = ? WHERE id = ?",
        JSON.stringify({ prediction }),
        now + this.config.jobLeaseMs,
        now,
        job.id,
      );
      this.touch();
      this.event("job", { job: this.jobView(job.id)!, prediction_usd: usd, cost_usd: this.costs().total });
      await this.updateProgress();
      await this.send([{ video_id: this.row()!.video_id, job_id: job.id, attempt: job.attempt, step: "ingest" }]);
      await this.scheduleAlarm();
      return;
    }
    const reason = prediction.status === "failed" ? `prediction ${prediction.id} failed: ${describeError(prediction.error)}` : `prediction ${prediction.id} ${prediction.status}`;
    await this.fail(job.id, job.attempt, reason, true);
  }

  private markUpdate(prediction: Prediction): void {
    this.sql.exec("INSERT OR IGNORE INTO prediction_updates (prediction_id, status, at) VALUES (?, ?, ?)", prediction.id, prediction.status, Date.now());
  }

  /**
   * Stop predictions at the provider. A cancel answer that is already final is priced at
   * once (a GPU-time model bills the seconds it ran); otherwise its `canceled` webhook is.
   */
  private async cancelAtProvider(targets: Running[]): Promise<void> {
    if (targets.length === 0) return;
    const results = await Promise.allSettled(targets.map((t) => this.provider.cancel(t.predictionId)));
    results.forEach((result, i) => {
      const target = targets[i]!;
      if (result.status === "rejected") {
        this.event("warning", { message: `cancelling prediction ${target.predictionId} failed: ${(result.reason as Error).message}` });
        return;
      }
      if (!TERMINAL_STATUSES.includes(result.value.status)) return;
      const job = this.job(target.jobId);
      this.markUpdate(result.value);
      bookActual(this.sql, this.config, result.value, {
        jobId: target.jobId,
        attempt: target.attempt,
        phase: job ? PHASE_OF_KIND[job.kind] : "unknown",
        model: job?.model ?? result.value.model ?? "",
        usd: job?.estimate_usd ?? 0,
      });
    });
  }

  /**
   * Models billed by running time can end above their estimate. Should the ledger ever pass
   * max_cost_usd, the video stops at once rather than spend more.
   */
  private async enforceCap(): Promise<boolean> {
    const state = this.state();
    const cap = state?.request.max_cost_usd;
    if (!state || !cap || TERMINAL.includes(state.status)) return false;
    const { total } = this.costs();
    if (total <= cap + 1e-9) return false;
    await this.finish("failed", `max_cost_usd $${cap.toFixed(2)} exceeded: predictions billed by running time brought the cost to $${total.toFixed(4)}`);
    return true;
  }

  // ---------------------------------------------------------------- the DAG

  private async advance(finished: JobRow): Promise<void> {
    const state = this.state()!;
    switch (finished.kind) {
      case "plan": {
        const output = JSON.parse(this.job("plan")!.output!) as { spec: VideoSpec; cost_estimate: CostEstimate; events?: PlanNote[] };
        const spec = VideoSpec.parse(output.spec);
        const chunkPlan = planChunks(spec, { maxChunkFrames: this.config.maxChunkFrames });
        this.sql.exec("UPDATE run SET spec = ?, chunk_plan = ?, cost_estimate = ?, updated_at = ? WHERE id = 1", JSON.stringify(spec), JSON.stringify(chunkPlan), JSON.stringify(output.cost_estimate), Date.now());
        for (const e of output.events ?? []) this.event(e.type, { message: e.message });
        this.event("spec", { spec, cost_estimate: output.cost_estimate, chunks: chunkPlan.length });
        const cap = state.request.max_cost_usd;
        if (cap && output.cost_estimate.total_usd > cap) {
          await this.finish("failed", `the planned ad is estimated at $${output.cost_estimate.total_usd.toFixed(2)}, over max_cost_usd $${cap.toFixed(2)}`);
          return;
        }
        // The time-remaining estimate's priors, read once (D1's observed means, else defaults).
        await loadDurationPriors(this.sql, this.env.DB, this.config);
        // Music depends only on the spec: it runs alongside everything else, off the critical path.
        this.insertJobs([...referenceJobs(state.request), musicJob()], "ready");
        await this.setPhase("generating_references");
        break;
      }
      case "reference": {
        if (this.jobs("kind = 'reference' AND status != 'done'").length > 0) break;
        const references = this.referenceOutputs();
        const context = buildConsistencyContext(references.map((r) => ({ type: r.type, analysis: r.analysis })), state.spec!);
        this.sql.exec("UPDATE run SET consistency_context = ?, updated_at = ? WHERE id = 1", context, Date.now());
        this.event("reference_images_ready", {
          message: "Using these 3 reference images for visual consistency across all scenes",
          images: await Promise.all(references.map(async (r) => ({ index: r.index, type: r.type, source: r.source, url: await this.sign(r.key), analysis: r.analysis }))),
          consistency_context: context,
        });
        await this.syncIndex({ referenceImages: JSON.stringify(references.map((r) => ({ type: r.type, source: r.source, key: r.key, analysis: r.analysis }))) });
        this.insertJobs(storyboardJobs(state.spec!), "ready");
        await this.setPhase("storyboarding");
        break;
      }
      case "storyboard": {
        if (this.jobs("kind = 'storyboard' AND status != 'done'").length > 0) break;
        const plan = state.chunk_plan!;
        const jobs = chunkJobs(plan);
        this.insertJobs(jobs.filter((j) => !j.dependsOn), "ready");
        this.insertJobs(jobs.filter((j) => j.dependsOn), "waiting");
        await this.setPhase("generating_chunks");
        break;
      }
      case "chunk": {
        const chunk = JSON.parse(this.job(finished.id)!.output!) as ChunkOutput;
        if (chunk.reference_drift !== null && chunk.reference_drift > this.config.consistencyDriftThreshold) {
          this.event("warning", { message: `${finished.id}: colours drifted from the references (ΔE2000 ${chunk.reference_drift})`, job_id: finished.id });
        }
        // Usually released when the last frame was published; a chunk done in one step releases them now.
        this.releaseDependents(finished.id);
        await this.maybeStitch();
        break;
      }
      case "music":
        await this.maybeStitch();
        await this.maybeMux();
        break;
      case "stitch":
        await this.setPhase("adding_music");
        await this.maybeMux();
        break;
      case "mux":
        await this.finish("complete", null);
        return;
    }
    await this.updateProgress();
    await this.dispatch();
  }

  private async maybeStitch(): Promise<void> {
    if (this.job("stitch")) return;
    const chunks = this.jobs("kind = 'chunk'");
    if (chunks.length === 0 || chunks.some((c) => c.status !== "done")) return;
    const ordered = [...chunks].sort((a, b) => a.idx - b.idx);
    const input = { chunks: ordered.map((c) => JSON.parse(c.input) as ChunkPlan), outputs: ordered.map((c) => JSON.parse(c.output!) as unknown) };
    this.insertJobs([{ id: "stitch", kind: "stitch", beat: null, idx: 0, input }], "ready");
    await this.setPhase("stitching");
  }

  private async maybeMux(): Promise<void> {
    if (this.job("mux")) return;
    if (this.job("stitch")?.status !== "done" || this.job("music")?.status !== "done") return;
    this.insertJobs([{ id: "mux", kind: "mux", beat: null, idx: 0, input: {} }], "ready");
  }

  private insertJobs(jobs: NewJob[], status: JobStatus): void {
    const now = Date.now();
    for (const job of jobs) {
      this.sql.exec(
        `INSERT OR IGNORE INTO jobs (id, kind, phase, beat, idx, attempt, status, input, depends_on, updated_at, created_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
        job.id,
        job.kind,
        PHASE_OF_KIND[job.kind],
        job.beat,
        job.idx,
        status,
        JSON.stringify(job.input),
        job.dependsOn ?? null,
        now,
        now,
      );
    }
  }

  /** Send ready jobs, honouring the per-video cap on predictions in flight. */
  private async dispatch(): Promise<void> {
    const state = this.row();
    if (!state || TERMINAL.includes(state.status)) return;
    const now = Date.now();
    const ready = this.jobs("status = 'ready' AND (not_before IS NULL OR not_before <= ?)", now);
    if (ready.length === 0) return;
    // Longest chain first: when slots are short, a chunk with more of its beat still behind it
    // goes before one with less (list scheduling by critical path), so the longest beat does
    // not start last. Other jobs keep their order, ahead of chunks (they gate whole phases).
    const chunks = this.jobs("kind = 'chunk'");
    const chainLeft = (job: JobRow) => (job.kind === "chunk" ? chunks.filter((c) => c.beat === job.beat && c.idx >= job.idx).length : Number.POSITIVE_INFINITY);
    ready.sort((a, b) => chainLeft(b) - chainLeft(a) || 0);
    const inFlight = this.jobs(`status IN (${ACTIVE_STATUSES.map(() => "?").join(",")})`, ...ACTIVE_STATUSES).filter((j) => PREDICTION_KINDS.includes(j.kind)).length;
    let slots = this.config.maxPredictionsPerVideo - inFlight;
    const messages: JobMessage[] = [];
    for (const job of ready) {
      const paid = PREDICTION_KINDS.includes(job.kind);
      if (paid && slots <= 0) continue;
      if (paid) slots--;
      this.sql.exec("UPDATE jobs SET status = 'queued', not_before = NULL, lease_until = ?, updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, job.id);
      messages.push({ video_id: state.video_id, job_id: job.id, attempt: job.attempt, step: "start" });
    }
    await this.send(messages);
    await this.scheduleAlarm();
  }

  /** Onto the queue each step travels on (queue/messages.ts: encodes apart from hand-offs). */
  private async send(messages: JobMessage[]): Promise<void> {
    const queues = { jobs: this.env.JOBS, media: this.env.MEDIA_JOBS };
    for (const name of ["jobs", "media"] as const) {
      const mine = messages.filter((m) => queueOf(this.job(m.job_id)?.kind ?? "plan", m.step) === name);
      for (let i = 0; i < mine.length; i += 100) {
        await queues[name].sendBatch(mine.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
      }
    }
  }

  private referenceOutputs(): ReferenceOutput[] {
    return this.jobs("kind = 'reference' AND status = 'done'").map((j) => JSON.parse(j.output!) as ReferenceOutput).sort((a, b) => a.index - b.index);
  }

  // ---------------------------------------------------------------- phase, progress, end

  private touch(): void {
    this.sql.exec("UPDATE run SET last_progress_at = ?, updated_at = ? WHERE id = 1", Date.now(), Date.now());
  }

  private async setPhase(phase: Phase): Promise<void> {
    const row = this.row()!;
    if (row.phase === phase) return;
    this.sql.exec("UPDATE run SET phase = ?, status = 'processing', updated_at = ? WHERE id = 1", phase, Date.now());
    this.event("phase", { phase, status: "processing" });
    await this.updateProgress();
  }

  private async updateProgress(): Promise<void> {
    const row = this.row()!;
    if (TERMINAL.includes(row.status)) return;
    const computed = phaseProgress(row.phase, this.jobs());
    // Never move backwards: a retried job does not undo the work that was shown.
    const progress = Math.max(row.progress, Math.min(99, Math.round(computed * 10) / 10));
    if (progress !== row.progress) {
      this.sql.exec("UPDATE run SET progress = ? WHERE id = 1", progress);
      const state = this.state()!;
      this.event("progress", { progress, phase: row.phase, cost_usd: this.costs().total, estimated_time_remaining: this.eta(state) });
    }
  }

  /** Seconds left: the critical path of the remaining work, timed by observed job durations (timings.ts, eta.ts). */
  private eta(state: RunState): number | null {
    if (TERMINAL.includes(state.status)) return 0;
    const seconds = estimateSecondsRemaining(this.sql, this.config, state, this.jobs(), Date.now());
    return seconds === null ? null : Math.max(1, Math.round(seconds));
  }

  private async finish(status: EndStatus, error: string | null): Promise<void> {
    const row = this.row();
    if (!row || TERMINAL.includes(row.status)) return;
    const now = Date.now();
    const running: Running[] = this.jobs("status = 'predicting' AND prediction_id IS NOT NULL").map((j) => ({ jobId: j.id, attempt: j.attempt, predictionId: j.prediction_id! }));
    // The end is written first, so nothing started meanwhile can run on; predictions still
    // being created are cancelled when their creation is reported (predictionCreated).
    this.sql.exec(
      "UPDATE jobs SET status = 'cancelled', lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE status NOT IN ('done', 'failed')",
      now,
    );
    const phase: Phase = status === "complete" ? "complete" : status;
    const progress = status === "complete" ? 100 : row.progress;
    this.sql.exec("UPDATE run SET status = ?, phase = ?, progress = ?, error = ?, completed_at = ?, updated_at = ? WHERE id = 1", status, phase, progress, error, now, now);
    await this.ctx.storage.deleteAlarm();
    // Stop spending: cancel every prediction still running at the provider.
    await this.cancelAtProvider(running);
    const final_video_url = status === "complete" ? await this.sign(mediaKeys.final(row.video_id)) : null;
    this.event(status, { status, phase: status, progress, error, cost_usd: this.costs().total, final_video_url, generation_time_seconds: Math.round((now - row.created_at) / 100) / 10 });
    await this.syncIndex();
    // What this video's jobs took becomes the next videos' priors.
    await recordDurations(this.sql, this.env.DB, this.config, now);
    await this.queueCallback({ video_id: row.video_id, status, final_video_url, error, cost_usd: this.costs().total });
  }

  // ---------------------------------------------------------------- callback_url notifications

  /** Record the notification and let the alarm deliver it: the end of the video never waits on the receiver. */
  private async queueCallback(notification: CallbackNotification): Promise<void> {
    const url = this.state()?.request.callback_url;
    if (!url) return;
    const seq = this.sql.exec("SELECT COUNT(*) AS n FROM callbacks").one().n as number;
    const now = Date.now();
    this.sql.exec("INSERT INTO callbacks (id, body, attempt, status, next_at, created_at) VALUES (?, ?, 0, 'pending', ?, ?)", `cb_${notification.video_id}_${seq + 1}`, JSON.stringify(notification), now, now);
    await this.scheduleAlarm();
  }

  private nextCallbackAt(): number | null {
    return this.sql.exec("SELECT MIN(next_at) AS t FROM callbacks WHERE status = 'pending'").one().t as number | null;
  }

  /** Deliver due notifications; failures are retried with back-off up to `callbackMaxAttempts`, each recorded as an event. */
  private async deliverCallbacks(now: number): Promise<void> {
    const url = this.state()?.request.callback_url;
    const due = this.sql.exec("SELECT id, body, attempt FROM callbacks WHERE status = 'pending' AND next_at <= ? ORDER BY created_at", now).toArray() as { id: string; body: string; attempt: number }[];
    for (const callback of due) {
      if (!url || !this.config.callbackSecret) {
        this.sql.exec("UPDATE callbacks SET status = 'skipped', next_at = NULL WHERE id = ?", callback.id);
        this.event("callback_failed", { callback_id: callback.id, attempt: callback.attempt, message: "not sent: CALLBACK_SECRET is not configured" });
        continue;
      }
      const attempt = callback.attempt + 1;
      const outcome = await deliverCallback(this.notify, url, this.config.callbackSecret, callback.id, JSON.parse(callback.body) as CallbackNotification);
      if (outcome.ok) {
        this.sql.exec("UPDATE callbacks SET status = 'delivered', attempt = ?, next_at = NULL WHERE id = ?", attempt, callback.id);
        this.event("callback", { callback_id: callback.id, attempt, message: `notified ${new URL(url).origin} (${outcome.detail})` });
      } else if (attempt >= this.config.callbackMaxAttempts) {
        this.sql.exec("UPDATE callbacks SET status = 'failed', attempt = ?, next_at = NULL WHERE id = ?", attempt, callback.id);
        this.event("callback_failed", { callback_id: callback.id, attempt, message: `callback to ${new URL(url).origin} failed ${attempt} times, giving up: ${outcome.detail}` });
      } else {
        const next = Date.now() + callbackBackoffMs(attempt);
        this.sql.exec("UPDATE callbacks SET attempt = ?, next_at = ? WHERE id = ?", attempt, next, callback.id);
        this.event("warning", { message: `callback attempt ${attempt} to ${new URL(url).origin} failed (${outcome.detail}); retrying in ${Math.round((next - Date.now()) / 1000)} s`, callback_id: callback.id });
      }
    }
  }

  /**
   * Keep the D1 index in step with this run: status, phase, progress, cost, error and
   * completion time (it serves listings; this object stays the truth). Unchanged state is
   * not written again.
   */
  private async syncIndex(extra: Partial<typeof videos.$inferInsert> = {}): Promise<void> {
    const state = this.state();
    if (!state) return;
    const { total } = this.costs();
    const values = {
      status: state.status,
      currentPhase: state.phase,
      progress: state.progress,
      costUsd: total,
      costEstimateUsd: state.cost_estimate?.total_usd ?? null,
      archetype: state.spec?.archetype ?? null,
      error: state.error,
      finalKey: state.status === "complete" ? mediaKeys.final(state.video_id) : null,
      completedAt: state.completed_at,
      ...extra,
    };
    const signature = JSON.stringify(values);
    if (signature === this.indexed) return;
    try {
      await drizzle(this.env.DB)
        .update(videos)
        .set({ ...values, updatedAt: Date.now() })
        .where(eq(videos.id, state.video_id));
      this.indexed = signature;
    } catch (error) {
      // The index is rewritten on the next transition; the run itself is safe in this object.
      console.error(`D1 index update for ${state.video_id} failed: ${(error as Error).message}`);
    }
  }

  private jobView(id: string): Snapshot["jobs"][number] | null {
    const j = this.job(id);
    return j ? { id: j.id, kind: j.kind, beat: j.beat, idx: j.idx, status: j.status, attempt: j.attempt, error: j.error, errors: JSON.parse(j.errors) as string[] } : null;
  }

  // ---------------------------------------------------------------- alarm: deadlines, polling, lost work

  private async scheduleAlarm(): Promise<void> {
    const callbackAt = this.nextCallbackAt();
    if (this.ended()) {
      // An ended run keeps its alarm only for callback deliveries.
      if (callbackAt === null) return;
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > callbackAt || current < Date.now()) await this.ctx.storage.setAlarm(Math.max(callbackAt, Date.now() + 10));
      return;
    }
    const next = this.sql
      .exec(
        `SELECT MIN(t) AS t FROM (
           SELECT MIN(poll_at) AS t FROM jobs WHERE status = 'predicting'
           UNION ALL SELECT MIN(deadline_at) FROM jobs WHERE status = 'predicting'
           UNION ALL SELECT MIN(lease_until) FROM jobs WHERE lease_until IS NOT NULL
           UNION ALL SELECT MIN(not_before) FROM jobs WHERE status = 'ready' AND not_before IS NOT NULL)`,
      )
      .one().t as number | null;
    const at = Math.min(next ?? Number.POSITIVE_INFINITY, callbackAt ?? Number.POSITIVE_INFINITY, Date.now() + ALARM_IDLE_MS);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at || current < Date.now()) await this.ctx.storage.setAlarm(Math.max(at, Date.now() + 10));
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.deliverCallbacks(now);
    if (this.ended()) {
      await this.scheduleAlarm();
      return;
    }
    await this.pollOverdue(now);
    await this.recoverLost(now);
    // Jobs the create gate deferred are due.
    await this.dispatch();
    const fresh = this.row()!;
    if (!TERMINAL.includes(fresh.status) && now - fresh.last_progress_at > this.config.stallTimeoutMs) {
      await this.finish("failed", `no progress for ${Math.round(this.config.stallTimeoutMs / 60000)} minutes in phase ${fresh.phase}`);
      return;
    }
    await this.scheduleAlarm();
    await this.syncIndex();
  }

  /**
   * Predictions whose webhook is overdue are asked for; one past its deadline is asked once
   * more (it may have finished unannounced), then cancelled and its attempt retried.
   */
  private async pollOverdue(now: number): Promise<void> {
    const due = this.jobs("status = 'predicting' AND ((poll_at IS NOT NULL AND poll_at <= ?) OR (deadline_at IS NOT NULL AND deadline_at <= ?))", now, now);
    for (const job of due) {
      if (this.ended()) return;
      let polled: Prediction | null = null;
      try {
        polled = await this.provider.get(job.prediction_id!);
      } catch (error) {
        this.event("warning", { message: `polling ${job.id} (prediction ${job.prediction_id}) failed: ${(error as Error).message}` });
      }
      if (polled) await this.onPrediction(job.id, job.attempt, polled, null);
      const after = this.job(job.id);
      if (!after || after.status !== "predicting" || after.prediction_id !== job.prediction_id || after.attempt !== job.attempt) continue;
      if (after.deadline_at !== null && after.deadline_at <= now) {
        // fail() cancels the prediction at the provider before the next attempt starts.
        await this.fail(job.id, job.attempt, `prediction ${job.prediction_id} exceeded its ${Math.round(this.config.predictionDeadlineMs / 1000)} s deadline and was cancelled`, true);
        continue;
      }
      this.sql.exec("UPDATE jobs SET poll_at = ? WHERE id = ?", now + Math.min(this.config.pollAfterMs, REPOLL_MS), job.id);
    }
  }

  /** Work whose message or consumer was lost (e.g. a restart): send it again, same attempt. */
  private async recoverLost(now: number): Promise<void> {
    const row = this.row()!;
    const lost = this.jobs("status IN ('queued', 'running', 'ingesting', 'normalizing', 'creating') AND lease_until IS NOT NULL AND lease_until <= ?", now);
    const messages: JobMessage[] = [];
    for (const job of lost) {
      if (job.status === "creating") {
        await this.recoverCreation(job, now);
        continue;
      }
      const step: JobStep = job.status === "ingesting" ? "ingest" : job.status === "normalizing" ? "normalize" : "start";
      if (step === "start") this.sql.exec("UPDATE jobs SET status = 'queued' WHERE id = ?", job.id);
      this.sql.exec("UPDATE jobs SET lease_until = ? WHERE id = ?", now + this.config.jobLeaseMs, job.id);
      messages.push({ video_id: row.video_id, job_id: job.id, attempt: job.attempt, step });
    }
    if (messages.length && !this.ended()) {
      this.event("warning", { message: `re-sent ${messages.length} job(s) whose worker was lost: ${messages.map((m) => m.job_id).join(", ")}` });
      await this.send(messages);
    }
  }

  /**
   * A consumer vanished between deciding to create a prediction and recording it. Whether
   * the provider created it is settled by its prediction list (the webhook URL names this
   * attempt): found → adopted; surely absent → the same attempt starts again; unknowable →
   * a new attempt, and should the old one's prediction surface, its webhook gets it cancelled.
   */
  private async recoverCreation(job: JobRow, now: number): Promise<void> {
    const since = job.creating_since ?? job.updated_at;
    let lookup: PredictionLookup;
    try {
      lookup = await findPredictionByWebhook(this.provider, await this.webhookFor(job), since);
    } catch (error) {
      const reason = `could not list the provider's predictions: ${(error as Error).message}`;
      if (now - since > this.config.predictionDeadlineMs) {
        await this.fail(job.id, job.attempt, `consumer lost while creating the prediction; ${reason}`, true);
      } else {
        this.sql.exec("UPDATE jobs SET lease_until = ? WHERE id = ? AND status = 'creating'", now + REPOLL_MS, job.id);
        this.event("warning", { message: `${job.id}: ${reason}; asking again` });
      }
      return;
    }
    const fresh = this.job(job.id);
    if (!fresh || fresh.status !== "creating" || fresh.attempt !== job.attempt || this.ended()) return; // settled meanwhile
    switch (lookup.kind) {
      case "found":
        this.event("warning", { message: `${job.id}: adopted prediction ${lookup.prediction.id}, created by a consumer that was lost` });
        await this.adopt(fresh, lookup.prediction, fresh.estimate_usd ?? 0, fresh.model ?? lookup.prediction.model ?? "");
        return;
      case "absent":
        this.sql.exec("UPDATE jobs SET status = 'queued', create_uncertain = 0, lease_until = ?, updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, job.id);
        this.event("warning", { message: `${job.id}: its consumer was lost before the prediction was created; starting the attempt again` });
        await this.send([{ video_id: this.row()!.video_id, job_id: job.id, attempt: job.attempt, step: "start" }]);
        return;
      case "unknown":
        await this.fail(job.id, job.attempt, `consumer lost while creating the prediction, and whether it exists is unknown (${lookup.reason})`, true);
    }
  }

  // ---------------------------------------------------------------- live status over WebSockets

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") !== "websocket") return new Response("expected a websocket upgrade", { status: 426 });
    const since = Number(new URL(request.url).searchParams.get("since") ?? "0");
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const snapshot = await this.snapshot();
    server.send(JSON.stringify({ id: snapshot?.last_event ?? 0, type: "snapshot", snapshot }));
    // A reconnecting client replays what it missed before the snapshot's live stream.
    if (Number.isInteger(since) && since > 0) for (const e of await this.events(since)) server.send(JSON.stringify({ id: e.id, type: e.type, at: e.at, ...(e.data as object) }));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "ping") socket.send("pong");
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }
}

function describeError(error: unknown): string {
  if (typeof error === "string") return error.slice(0, 500);
  if (error === null || error === undefined) return "no error message";
  return JSON.stringify(error).slice(0, 500);
}

function describeJob(job: JobRow, spec: VideoSpec | null): string {
  if (job.kind === "chunk") {
    const input = JSON.parse(job.input) as ChunkPlan;
    const beat = spec?.beats[input.beat_index];
    return `chunk ${input.chunk_num} (beat ${input.beat_index}${beat ? ` "${beat.name}"` : ""}, part ${input.index_in_beat + 1})`;
  }
  if (job.kind === "storyboard") return `storyboard frame for beat ${job.beat}`;
  if (job.kind === "reference") return `reference image ${job.idx + 1}`;
  return `${job.kind} step`;
}
