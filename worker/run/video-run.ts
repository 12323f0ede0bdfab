import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import type { CostEstimate, GenerateRequest, Phase, ReferenceImage, VideoStatus } from "../../contracts/api.ts";
import { type Prediction, TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import { planChunks, type ChunkPlan } from "../chunks/plan.ts";
import { loadConfig, type Config } from "../config.ts";
import { videos } from "../db/schema.ts";
import { mediaKeys } from "../media/keys.ts";
import { signMediaUrl } from "../media/signed-url.ts";
import { providerClient } from "../providers/client.ts";
import { JobMessage } from "../queue/messages.ts";
import { buildConsistencyContext } from "../references/context.ts";
import { chunkJobs, musicJob, type NewJob, referenceJobs, storyboardJobs } from "./dag.ts";
import { ACTIVE_STATUSES, type JobKind, type JobRow, type JobStatus, PREDICTION_KINDS, SCHEMA } from "./jobs.ts";
import { PHASE_OF_KIND, phaseProgress } from "./progress.ts";
import { predictionCost } from "./ledger.ts";

/**
 * VideoRun: the single writer for one video. Every transition is written to SQLite before
 * its side effects (queue messages) are sent, so a restart anywhere resumes where it stopped;
 * the alarm re-sends work whose message or consumer was lost.
 */

export interface StartInput {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  /** The estimate the request was admitted with (from the local planner). */
  cost_estimate: CostEstimate | null;
}

export interface RunState {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  spec: VideoSpec | null;
  chunk_plan: ChunkPlan[] | null;
  cost_estimate: CostEstimate | null;
  status: VideoStatus;
  phase: Phase;
  progress: number;
  error: string | null;
  consistency_context: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface ClaimedJob {
  video: Pick<RunState, "video_id" | "tenant_id" | "request" | "spec" | "consistency_context">;
  references: ReferenceOutput[];
  job: { id: string; kind: JobKind; beat: number | null; idx: number; attempt: number; input: unknown; prediction_id: string | null };
  /** For `ingest`: the finished prediction. */
  prediction: Prediction | null;
}

export interface ReferenceOutput {
  index: number;
  key: string;
  type: ReferenceImage["type"];
  source: string;
  analysis: ReferenceImage["analysis"];
  palette: { hex: string; share: number; lab: [number, number, number] }[];
}

export interface Snapshot extends RunState {
  cost_usd: number;
  cost_by_phase: Record<string, number>;
  estimated_time_remaining: number | null;
  jobs: { id: string; kind: JobKind; beat: number | null; idx: number; status: JobStatus; attempt: number; error: string | null; errors: string[] }[];
  outputs: Record<string, unknown>;
  last_event: number;
}

interface RunRow {
  video_id: string;
  tenant_id: string;
  request: string;
  spec: string | null;
  chunk_plan: string | null;
  cost_estimate: string | null;
  status: VideoStatus;
  phase: Phase;
  progress: number;
  error: string | null;
  consistency_context: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  last_progress_at: number;
}

const TERMINAL: VideoStatus[] = ["complete", "failed", "cancelled"];
const ALARM_IDLE_MS = 30_000;

export class VideoRun extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: Config;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = loadConfig(env);
    for (const statement of SCHEMA) this.sql.exec(statement);
  }

  // ---------------------------------------------------------------- state access

  private row(): RunRow | null {
    return (this.sql.exec("SELECT * FROM run WHERE id = 1").toArray()[0] as unknown as RunRow | undefined) ?? null;
  }

  private state(): RunState | null {
    const row = this.row();
    if (!row) return null;
    return {
      ...row,
      request: JSON.parse(row.request) as GenerateRequest,
      spec: row.spec ? (JSON.parse(row.spec) as VideoSpec) : null,
      chunk_plan: row.chunk_plan ? (JSON.parse(row.chunk_plan) as ChunkPlan[]) : null,
      cost_estimate: row.cost_estimate ? (JSON.parse(row.cost_estimate) as CostEstimate) : null,
    };
  }

  private jobs(where = "1 = 1", ...params: unknown[]): JobRow[] {
    return this.sql.exec(`SELECT * FROM jobs WHERE ${where} ORDER BY created_at, idx`, ...params).toArray() as unknown as JobRow[];
  }

  private job(id: string): JobRow | null {
    return (this.sql.exec("SELECT * FROM jobs WHERE id = ?", id).toArray()[0] as unknown as JobRow | undefined) ?? null;
  }

  private event(type: string, data: Record<string, unknown>): void {
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
    // Actual cost where the prediction finished, else its estimate: never both for one prediction.
    const rows = this.sql
      .exec(
        `SELECT phase, SUM(usd) AS usd FROM ledger l WHERE kind = 'actual'
           OR (kind = 'estimate' AND NOT EXISTS (SELECT 1 FROM ledger a WHERE a.prediction_id = l.prediction_id AND a.kind = 'actual'))
         GROUP BY phase`,
      )
      .toArray() as { phase: string; usd: number }[];
    const byPhase = Object.fromEntries(rows.map((r) => [r.phase, Math.round(r.usd * 1e6) / 1e6]));
    return { total: Math.round(rows.reduce((s, r) => s + r.usd, 0) * 1e6) / 1e6, byPhase };
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
    const { total, byPhase } = this.costs();
    const jobs = this.jobs();
    const outputs: Record<string, unknown> = {};
    for (const job of jobs) if (job.output) outputs[job.id] = JSON.parse(job.output);
    const last = this.sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").one().seq as number;
    return {
      ...state,
      cost_usd: total,
      cost_by_phase: byPhase,
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

  async cancel(reason = "cancelled by request"): Promise<boolean> {
    const state = this.state();
    if (!state || TERMINAL.includes(state.status)) return false;
    await this.finish("cancelled", reason);
    return true;
  }

  // ---------------------------------------------------------------- RPC: consumers

  /** A consumer takes a job. Null means the message is stale (job moved on): acknowledge and drop it. */
  async claim(jobId: string, attempt: number, step: "start" | "ingest"): Promise<ClaimedJob | null> {
    const state = this.state();
    const job = this.job(jobId);
    if (!state || !job || job.attempt !== attempt || TERMINAL.includes(state.status)) return null;
    const expected: JobStatus[] = step === "start" ? ["queued", "running"] : ["ingesting"];
    if (!expected.includes(job.status)) return null;
    const now = Date.now();
    if (step === "start") this.sql.exec("UPDATE jobs SET status = 'running', lease_until = ?, started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, now, jobId);
    else this.sql.exec("UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, jobId);
    await this.scheduleAlarm();
    const predictionRow = step === "ingest" ? (JSON.parse(job.output ?? "null") as { prediction?: Prediction } | null) : null;
    return {
      video: { video_id: state.video_id, tenant_id: state.tenant_id, request: state.request, spec: state.spec, consistency_context: state.consistency_context },
      references: this.referenceOutputs(),
      job: { id: job.id, kind: job.kind, beat: job.beat, idx: job.idx, attempt: job.attempt, input: JSON.parse(job.input), prediction_id: job.prediction_id },
      prediction: predictionRow?.prediction ?? null,
    };
  }

  /**
   * Idempotency guard before a paid prediction is created. `proceed` is false when this
   * attempt already has (or may have) a prediction: the consumer adopts instead of creating.
   */
  async beginPrediction(jobId: string, attempt: number, estimateUsd: number, costCapUsd: number | null): Promise<{ proceed: boolean; reason?: string }> {
    const job = this.job(jobId);
    if (!job || job.attempt !== attempt) return { proceed: false, reason: "stale" };
    if (job.status === "creating") return { proceed: false, reason: "creating" };
    if (job.status !== "running") return { proceed: false, reason: "stale" };
    if (costCapUsd !== null) {
      const { total } = this.costs();
      if (total + estimateUsd > costCapUsd + 1e-9) {
        await this.finish("failed", `max_cost_usd ${costCapUsd.toFixed(2)} would be exceeded: spent ${total.toFixed(4)}, next prediction (${job.id}) estimated at ${estimateUsd.toFixed(4)}`);
        return { proceed: false, reason: "cost cap" };
      }
    }
    this.sql.exec("UPDATE jobs SET status = 'creating', updated_at = ? WHERE id = ?", Date.now(), jobId);
    return { proceed: true };
  }

  /** Creating the prediction failed before anything was created: the attempt may try again. */
  async predictionAborted(jobId: string, attempt: number): Promise<void> {
    this.sql.exec("UPDATE jobs SET status = 'running', updated_at = ? WHERE id = ? AND attempt = ? AND status = 'creating'", Date.now(), jobId, attempt);
  }

  async predictionCreated(jobId: string, attempt: number, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
    const job = this.job(jobId);
    if (!job || job.attempt !== attempt) {
      // The job moved on while the prediction was being created: do not let it run unpaid-for.
      await this.cancelAtProvider([prediction.id]);
      return;
    }
    const now = Date.now();
    this.sql.exec(
      "UPDATE jobs SET status = 'predicting', prediction_id = ?, poll_at = ?, deadline_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
      prediction.id,
      now + this.config.pollAfterMs,
      now + this.config.predictionDeadlineMs,
      now,
      jobId,
    );
    this.sql.exec(
      "INSERT OR IGNORE INTO ledger (job_id, attempt, prediction_id, phase, kind, usd, detail, at) VALUES (?, ?, ?, ?, 'estimate', ?, ?, ?)",
      jobId,
      attempt,
      prediction.id,
      PHASE_OF_KIND[job.kind],
      estimateUsd,
      model,
      now,
    );
    this.event("job", { job: this.jobView(jobId), cost_usd: this.costs().total });
    await this.scheduleAlarm();
    if (TERMINAL_STATUSES.includes(prediction.status)) await this.onPrediction(jobId, attempt, prediction, null);
  }

  /**
   * A prediction update, from a verified webhook or from polling. Duplicates, late and
   * out-of-order updates are ignored: only the first terminal status of the current
   * attempt's prediction counts.
   */
  async onPrediction(jobId: string, attempt: number, prediction: Prediction, deliveryId: string | null): Promise<{ accepted: boolean }> {
    if (deliveryId) {
      const seen = this.sql.exec("SELECT 1 FROM deliveries WHERE id = ?", deliveryId).toArray().length > 0;
      if (seen) return { accepted: false };
      this.sql.exec("INSERT INTO deliveries (id, at) VALUES (?, ?)", deliveryId, Date.now());
    }
    const job = this.job(jobId);
    if (!job) return { accepted: false };
    // Price a finished prediction even if its job moved on (a late success still cost money).
    if (TERMINAL_STATUSES.includes(prediction.status)) this.recordActualCost(job, attempt, prediction);
    if (job.attempt !== attempt || job.prediction_id !== prediction.id || job.status !== "predicting") return { accepted: false };
    if (!TERMINAL_STATUSES.includes(prediction.status)) return { accepted: true };
    if (prediction.status === "succeeded") {
      const now = Date.now();
      this.sql.exec("UPDATE jobs SET status = 'ingesting', output = ?, poll_at = NULL, deadline_at = NULL, lease_until = ?, updated_at = ? WHERE id = ?", JSON.stringify({ prediction }), now + this.config.jobLeaseMs, now, jobId);
      this.touch();
      this.event("job", { job: this.jobView(jobId) });
      await this.send([{ video_id: this.row()!.video_id, job_id: jobId, attempt, step: "ingest" }]);
      await this.scheduleAlarm();
    } else {
      const reason = prediction.status === "failed" ? `prediction failed: ${describeError(prediction.error)}` : `prediction ${prediction.status}`;
      await this.fail(jobId, attempt, reason, true);
    }
    return { accepted: true };
  }

  async complete(jobId: string, attempt: number, output: unknown): Promise<void> {
    const job = this.job(jobId);
    const state = this.state();
    if (!job || !state || job.attempt !== attempt || job.status === "done" || TERMINAL.includes(state.status)) return;
    const now = Date.now();
    this.sql.exec("UPDATE jobs SET status = 'done', output = ?, error = NULL, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?", JSON.stringify(output ?? null), now, jobId);
    this.touch();
    // Each finished artefact is previewable at once (progressive preview of chunks, boards, references).
    const key = (output as { key?: unknown } | null)?.key;
    const preview_url = typeof key === "string" ? await this.sign(key) : null;
    this.event("job", { job: this.jobView(jobId), output, preview_url });
    await this.advance(job);
  }

  /** A job's attempt failed. Retryable failures get a new attempt while attempts remain. */
  async fail(jobId: string, attempt: number, reason: string, retryable: boolean): Promise<void> {
    const job = this.job(jobId);
    const state = this.state();
    if (!job || !state || job.attempt !== attempt || ["done", "failed", "cancelled"].includes(job.status) || TERMINAL.includes(state.status)) return;
    const errors = [...(JSON.parse(job.errors) as string[]), `attempt ${attempt}: ${reason}`];
    const now = Date.now();
    if (retryable && attempt < this.config.maxAttempts) {
      this.sql.exec(
        "UPDATE jobs SET attempt = ?, status = 'ready', prediction_id = NULL, error = ?, errors = ?, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?",
        attempt + 1,
        reason,
        JSON.stringify(errors),
        now,
        jobId,
      );
      this.event("job_retry", { job: this.jobView(jobId), reason });
      await this.dispatch();
      return;
    }
    this.sql.exec("UPDATE jobs SET status = 'failed', error = ?, errors = ?, lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE id = ?", reason, JSON.stringify(errors), now, jobId);
    this.event("job", { job: this.jobView(jobId) });
    await this.finish("failed", `${describeJob(job, state.spec)} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${reason}`);
  }

  // ---------------------------------------------------------------- the DAG

  private async advance(finished: JobRow): Promise<void> {
    const state = this.state()!;
    switch (finished.kind) {
      case "plan": {
        const output = JSON.parse(this.job("plan")!.output!) as { spec: VideoSpec; cost_estimate: CostEstimate; events?: { type: string; message: string }[] };
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
        // Chunk k+1 of a beat was waiting for chunk k's last frame.
        for (const next of this.jobs("status = 'waiting' AND depends_on = ?", finished.id)) {
          this.sql.exec("UPDATE jobs SET status = 'ready', updated_at = ? WHERE id = ?", Date.now(), next.id);
        }
        await this.maybeStitch();
        break;
      }
      case "music":
        await this.maybeStitch();
        await this.maybeFinalize();
        break;
      case "stitch":
        await this.setPhase("adding_music");
        await this.maybeFinalize();
        break;
      case "finalize":
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

  private async maybeFinalize(): Promise<void> {
    if (this.job("finalize")) return;
    if (this.job("stitch")?.status !== "done" || this.job("music")?.status !== "done") return;
    this.insertJobs([{ id: "finalize", kind: "finalize", beat: null, idx: 0, input: {} }], "ready");
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
    const ready = this.jobs("status = 'ready'");
    if (ready.length === 0) return;
    const inFlight = this.jobs(`status IN (${ACTIVE_STATUSES.map(() => "?").join(",")})`, ...ACTIVE_STATUSES).filter((j) => PREDICTION_KINDS.includes(j.kind)).length;
    let slots = this.config.maxPredictionsPerVideo - inFlight;
    const messages: JobMessage[] = [];
    const now = Date.now();
    for (const job of ready) {
      const paid = PREDICTION_KINDS.includes(job.kind);
      if (paid && slots <= 0) continue;
      if (paid) slots--;
      this.sql.exec("UPDATE jobs SET status = 'queued', lease_until = ?, updated_at = ? WHERE id = ?", now + this.config.jobLeaseMs, now, job.id);
      messages.push({ video_id: state.video_id, job_id: job.id, attempt: job.attempt, step: "start" });
    }
    await this.send(messages);
    await this.scheduleAlarm();
  }

  private async send(messages: JobMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 100) {
      await this.env.JOBS.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
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
    await this.updateProgress(true);
  }

  private async updateProgress(sync = false): Promise<void> {
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
    if (sync) await this.syncIndex({});
  }

  private eta(state: RunState): number | null {
    if (TERMINAL.includes(state.status)) return 0;
    if (state.progress < 5) return null;
    const elapsed = (Date.now() - state.created_at) / 1000;
    return Math.max(1, Math.round((elapsed * (100 - state.progress)) / state.progress));
  }

  private async finish(status: "complete" | "failed" | "cancelled", error: string | null): Promise<void> {
    const row = this.row();
    if (!row || TERMINAL.includes(row.status)) return;
    const now = Date.now();
    // Stop spending: cancel every prediction still running at the provider.
    const running = this.jobs("status IN ('predicting', 'creating') AND prediction_id IS NOT NULL");
    await this.cancelAtProvider(running.map((j) => j.prediction_id!));
    this.sql.exec(
      "UPDATE jobs SET status = 'cancelled', lease_until = NULL, poll_at = NULL, deadline_at = NULL, updated_at = ? WHERE status NOT IN ('done', 'failed')",
      now,
    );
    const phase: Phase = status === "complete" ? "complete" : status;
    this.sql.exec("UPDATE run SET status = ?, phase = ?, progress = ?, error = ?, completed_at = ?, updated_at = ? WHERE id = 1", status, phase, status === "complete" ? 100 : row.progress, error, now, now);
    const final_video_url = status === "complete" ? await this.sign(mediaKeys.final(row.video_id)) : null;
    this.event(status, { status, phase, progress: status === "complete" ? 100 : row.progress, error, cost_usd: this.costs().total, final_video_url, generation_time_seconds: Math.round((now - row.created_at) / 100) / 10 });
    await this.syncIndex({ completedAt: now });
    await this.ctx.storage.deleteAlarm();
  }

  private async cancelAtProvider(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const client = providerClient(this.config.providerBaseUrl, this.config.providerToken);
    await Promise.allSettled(ids.map((id) => client.cancel(id)));
  }

  private recordActualCost(job: JobRow, attempt: number, prediction: Prediction): void {
    const estimate = this.sql.exec("SELECT usd, detail FROM ledger WHERE prediction_id = ? AND kind = 'estimate'", prediction.id).toArray()[0] as { usd: number; detail: string } | undefined;
    const model = estimate?.detail ?? "";
    const usd = predictionCost(this.config, model, prediction, estimate?.usd ?? 0);
    this.sql.exec(
      "INSERT OR IGNORE INTO ledger (job_id, attempt, prediction_id, phase, kind, usd, detail, at) VALUES (?, ?, ?, ?, 'actual', ?, ?, ?)",
      job.id,
      attempt,
      prediction.id,
      PHASE_OF_KIND[job.kind],
      usd,
      model,
      Date.now(),
    );
  }

  /** Keep the D1 index in step with this run (it serves listings; this object stays the truth). */
  private async syncIndex(extra: Partial<typeof videos.$inferInsert>): Promise<void> {
    const state = this.state();
    if (!state) return;
    const { total } = this.costs();
    try {
      await drizzle(this.env.DB)
        .update(videos)
        .set({
          status: state.status,
          currentPhase: state.phase,
          progress: state.progress,
          costUsd: total,
          costEstimateUsd: state.cost_estimate?.total_usd ?? null,
          archetype: state.spec?.archetype ?? null,
          error: state.error,
          finalKey: state.status === "complete" ? mediaKeys.final(state.video_id) : null,
          updatedAt: Date.now(),
          ...extra,
        })
        .where(eq(videos.id, state.video_id));
    } catch (error) {
      // The index is rebuilt on the next transition; the run itself is safe in this object.
      console.error(`D1 index update for ${state.video_id} failed: ${(error as Error).message}`);
    }
  }

  private jobView(id: string): Snapshot["jobs"][number] | null {
    const j = this.job(id);
    return j ? { id: j.id, kind: j.kind, beat: j.beat, idx: j.idx, status: j.status, attempt: j.attempt, error: j.error, errors: JSON.parse(j.errors) as string[] } : null;
  }

  // ---------------------------------------------------------------- alarm: deadlines, polling, lost work

  private async scheduleAlarm(): Promise<void> {
    const row = this.row();
    if (!row || TERMINAL.includes(row.status)) return;
    const next = this.sql
      .exec("SELECT MIN(t) AS t FROM (SELECT MIN(poll_at) AS t FROM jobs WHERE poll_at IS NOT NULL UNION ALL SELECT MIN(lease_until) FROM jobs WHERE lease_until IS NOT NULL)")
      .one().t as number | null;
    const at = Math.min(next ?? Number.POSITIVE_INFINITY, Date.now() + ALARM_IDLE_MS);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at || current < Date.now()) await this.ctx.storage.setAlarm(Math.max(at, Date.now() + 10));
  }

  override async alarm(): Promise<void> {
    const row = this.row();
    if (!row || TERMINAL.includes(row.status)) return;
    const now = Date.now();
    // Predictions whose webhook is late: ask the provider; past the deadline, cancel and retry.
    const client = providerClient(this.config.providerBaseUrl, this.config.providerToken);
    for (const job of this.jobs("status = 'predicting' AND poll_at IS NOT NULL AND poll_at <= ?", now)) {
      if (job.deadline_at !== null && job.deadline_at <= now) {
        await this.cancelAtProvider([job.prediction_id!]);
        await this.fail(job.id, job.attempt, `prediction ${job.prediction_id} exceeded its ${Math.round(this.config.predictionDeadlineMs / 1000)} s deadline`, true);
        continue;
      }
      try {
        const prediction = await client.get(job.prediction_id!);
        this.sql.exec("UPDATE jobs SET poll_at = ? WHERE id = ?", now + Math.min(this.config.pollAfterMs, 10_000), job.id);
        await this.onPrediction(job.id, job.attempt, prediction, null);
      } catch (error) {
        this.sql.exec("UPDATE jobs SET poll_at = ? WHERE id = ?", now + 10_000, job.id);
        this.event("warning", { message: `polling ${job.id} failed: ${(error as Error).message}` });
      }
    }
    // Work whose message or consumer was lost (e.g. a restart): send it again, same attempt.
    const lost = this.jobs("status IN ('queued', 'running', 'ingesting', 'creating') AND lease_until IS NOT NULL AND lease_until <= ?", now);
    const messages: JobMessage[] = [];
    for (const job of lost) {
      if (job.status === "creating") {
        // A consumer died between deciding to create and recording the prediction; the
        // attempt is retried as a new attempt so no prediction is adopted twice.
        await this.fail(job.id, job.attempt, "consumer lost while creating the prediction", true);
        continue;
      }
      const step = job.status === "ingesting" ? "ingest" : "start";
      if (step === "start") this.sql.exec("UPDATE jobs SET status = 'queued' WHERE id = ?", job.id);
      this.sql.exec("UPDATE jobs SET lease_until = ? WHERE id = ?", now + this.config.jobLeaseMs, job.id);
      messages.push({ video_id: row.video_id, job_id: job.id, attempt: job.attempt, step });
    }
    if (messages.length) {
      this.event("warning", { message: `re-sent ${messages.length} job(s) whose worker was lost: ${messages.map((m) => m.job_id).join(", ")}` });
      await this.send(messages);
    }
    const fresh = this.row()!;
    if (!TERMINAL.includes(fresh.status) && now - fresh.last_progress_at > this.config.stallTimeoutMs) {
      await this.finish("failed", `no progress for ${Math.round(this.config.stallTimeoutMs / 60000)} minutes in phase ${fresh.phase}`);
      return;
    }
    await this.scheduleAlarm();
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
