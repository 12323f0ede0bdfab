import { DurableObject } from "cloudflare:workers";
import type { RegenerateOutcome } from "../../contracts/api.ts";
import type { Prediction } from "../../contracts/prediction.ts";
import { type Config, loadConfig, type ProviderSettings, providerFor, type Quality, videoConfig } from "../config.ts";
import { type ProviderClient, providerClient } from "../providers/client.ts";
import type { JobStep } from "../queue/messages.ts";
import type { PlanJobInput } from "../steps/plan.ts";
import type { ClaimedJob } from "../steps/step.ts";
import { deliverCallbacks } from "./callback.ts";
import { type PublishHandOff, claimJob, handBack, handedIngest, renewStepLease, deferStep, jobDone, publishOutput } from "./consumer-protocol.ts";
import { runContext } from "./context.ts";
import { eventFrame, eventsSince, replayFrom, type StoredEvent } from "./event-log.ts";
import { failAttempt } from "./failures.ts";
import { migrate } from "./jobs.ts";
import { beginPrediction, createAborted, deferCreate, predictionCreated, predictionUpdate } from "./predictions.ts";
import { pollOverdue, recoverLost, settleAfterEnd } from "./recovery.ts";
import { regenerateBeat } from "./regenerate.ts";
import { readState } from "./run-row.ts";
import { createRun, snapshotOf } from "./run-state.ts";
import { StatusView } from "./status-view.ts";
import type { PredictionGate, RunContext, Snapshot, StartInput } from "./types.ts";

/**
 * VideoRun: the single writer for one video, and a thin shell. It holds the RPC API (what the
 * Worker's routes, the queue consumers and the webhook route call), the alarm and the live
 * sockets; what each does lives in the run's modules, wired together by context.ts (see
 * docs/ARCHITECTURE.md). Every transition is written to SQLite before its side effects (queue
 * messages, provider calls) are made, so a restart anywhere resumes where it stopped.
 */
export class VideoRun extends DurableObject<Env> {
  /** The deployment's settings (config.ts). A test may give a run another deployment's before it starts. */
  deployment: Config;
  /** A client for a provider. Tests bind it to in-memory Replicates, since workerd cannot listen on a port. */
  clientFor = (settings: ProviderSettings): ProviderClient => providerClient(settings.baseUrl, settings.token);
  /**
   * The video's settings: the deployment's with the provider and models of the video's quality
   * (videoConfig), once the run knows its request. Tests adjust them on a live instance through `runInDurableObject`.
   */
  config: Config;
  /** The video's model provider. Tests bind it to an in-memory Replicate, since workerd cannot listen on a port. */
  provider: ProviderClient;
  /** Sends `callback_url` notifications. Tests bind it to a recorder, since workerd cannot listen on a port. */
  notify: typeof fetch = (input, init) => fetch(input, init);
  /** The run's modules, wired (context.ts). Tests may watch its job machine through `runInDurableObject`. */
  readonly run: RunContext;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.deployment = loadConfig(env);
    migrate(ctx.storage.sql);
    this.config = this.deployment;
    this.provider = this.clientFor(providerFor(this.deployment, "standard"));
    const request = readState(ctx.storage.sql)?.request;
    try {
      if (request) this.renderWith(request.quality);
    } catch {
      // The video's provider is gone from the configuration (a draft without DRAFT_PROVIDER_URL):
      // the consumer fails its jobs saying so (queue/consumer.ts), so the run ends instead of hanging.
    }
    this.run = runContext({ storage: ctx.storage, env, config: () => this.config, provider: () => this.provider, sockets: () => this.ctx.getWebSockets() });
  }

  /** The video renders with its quality's provider (a draft on the draft provider), from its start to its end. */
  private renderWith(quality: Quality): void {
    this.config = videoConfig(this.deployment, quality);
    this.provider = this.clientFor(providerFor(this.deployment, quality));
  }

  // ---------------------------------------------------------------- RPC: the Worker's API routes

  async start(input: StartInput): Promise<void> {
    if (!createRun(this.run.sql, input)) return; // idempotent: a retried start changes nothing
    this.renderWith(input.request.quality);
    this.run.log.info("phase.changed", { phase: "queued", tenant_id: input.tenant_id, duration_s: input.request.duration_s });
    this.run.event("queued", { status: "queued", phase: "queued", progress: 0 });
    this.run.jobs.insert([{ id: "plan", kind: "plan", beat: null, idx: 0, input: (input.spec ? { spec: input.spec } : {}) satisfies PlanJobInput }]);
    await this.run.dispatch();
  }

  async snapshot(): Promise<Snapshot | null> {
    return snapshotOf(this.run);
  }

  private readonly statusView = new StatusView();

  /**
   * The status fields alone (what a poller asks several times a second), without the snapshot's
   * jobs and outputs, as the JSON the route sends: a string crosses the RPC boundary cheaper
   * than an object, and is kept between the run's changes (status-view.ts).
   */
  async status(): Promise<string | null> {
    return this.statusView.json(this.run);
  }

  /** Events after `since` (0: from the first), one page. */
  async events(since: number): Promise<StoredEvent[]> {
    return eventsSince(this.run.sql, since);
  }

  /** Stop the video: every prediction still running is cancelled at the provider. */
  async cancel(reason = "cancelled by request"): Promise<boolean> {
    if (this.run.ended()) return false;
    await this.run.finish("cancelled", reason);
    return true;
  }

  /** Re-render one beat of a complete video (regenerate.ts). */
  async regenerateBeat(beat: number, prompt: string | null): Promise<RegenerateOutcome> {
    return regenerateBeat(this.run, beat, prompt);
  }

  // ---------------------------------------------------------------- RPC: queue consumers (consumer-protocol.ts, predictions.ts)

  /** A consumer takes a job's step. Null means the message is stale (the job moved on): acknowledge and drop it. */
  async claim(jobId: string, attempt: number, step: JobStep): Promise<ClaimedJob | null> {
    return claimJob(this.run, jobId, attempt, step);
  }

  /** A working step's heartbeat: its lease renewed (the new one), or null when the job moved on and the step must drop its result. */
  async renewLease(jobId: string, attempt: number, step: JobStep): Promise<number | null> {
    return renewStepLease(this.run, jobId, attempt, step);
  }

  /** The idempotency guard before a paid prediction is created (and the cost cap's check). */
  async beginPrediction(jobId: string, attempt: number, estimateUsd: number, model: string): Promise<PredictionGate> {
    return beginPrediction(this.run, jobId, attempt, estimateUsd, model);
  }

  /**
   * media-node is busy: the step is sent again in `seconds`, spending no attempt and no delivery;
   * or, a chunk's normalize pass the video now waits on (and was not flagged so: `endedPhase`),
   * claimed again for the refused consumer to send at once as the phase's end (consumer-protocol.ts).
   */
  async deferStep(jobId: string, attempt: number, step: JobStep, seconds: number, endedPhase = false): Promise<ClaimedJob | null> {
    return deferStep(this.run, jobId, attempt, step, seconds, endedPhase);
  }

  /** The provider's create gate is full: the job waits `seconds` without using a retry. */
  async defer(jobId: string, attempt: number, seconds: number): Promise<void> {
    await deferCreate(this.run, jobId, attempt, seconds);
  }

  async predictionAborted(jobId: string, attempt: number, uncertain: boolean, retryAfterSeconds = 0): Promise<void> {
    await createAborted(this.run, jobId, attempt, uncertain, retryAfterSeconds);
  }

  async predictionCreated(jobId: string, attempt: number, prediction: Prediction, estimateUsd: number, model: string): Promise<void> {
    await predictionCreated(this.run, jobId, attempt, prediction, estimateUsd, model);
  }

  /** A step finished its job. With `handOff`, the assembly's next piece claimed for this consumer, if that made one ready (consumer-protocol.ts). */
  async jobDone(jobId: string, attempt: number, output: unknown, handOff = false): Promise<ClaimedJob | null> {
    return jobDone(this.run, jobId, attempt, output, handOff);
  }

  /** An ingest published what the job's dependents need; its `normalize` step completes it. With `handOff`, the dependent claimed for this consumer, if it may start now. */
  async publish(jobId: string, attempt: number, output: unknown, handOff: PublishHandOff = false): Promise<ClaimedJob | null> {
    return publishOutput(this.run, jobId, attempt, output, handOff);
  }

  /** A handed-off start step its consumer could not finish: sent on the queue in `delaySeconds`. */
  async handBack(jobId: string, attempt: number, delaySeconds: number, step: JobStep = "start"): Promise<void> {
    await handBack(this.run, jobId, attempt, delaySeconds, step);
  }

  /** A job's attempt failed: retried while attempts remain, else the video fails (failures.ts). */
  async fail(jobId: string, attempt: number, reason: string, retryable: boolean, step?: JobStep): Promise<void> {
    await failAttempt(this.run, jobId, attempt, reason, retryable, step);
  }

  // ---------------------------------------------------------------- RPC: the provider's webhooks

  /**
   * A prediction update from a verified webhook: acted on once, only by the attempt that owns it.
   * With `handOff`, a success's ingest step is claimed for the webhook to run (`ingest`) in place
   * of a queue message (predictions.ts `settle`).
   */
  async onPrediction(jobId: string, attempt: number, prediction: Prediction, deliveryId: string | null, handOff = false): Promise<{ accepted: boolean; ingest?: ClaimedJob }> {
    const intake = await predictionUpdate(this.run, jobId, attempt, prediction, deliveryId, handOff);
    const ingest = intake.handedIngest ? handedIngest(this.run, jobId, attempt) : null;
    return ingest ? { accepted: intake.accepted, ingest } : { accepted: intake.accepted };
  }

  // ---------------------------------------------------------------- the alarm: callbacks, polling, lost work, stalls (recovery.ts)

  override async alarm(): Promise<void> {
    const now = Date.now();
    await deliverCallbacks(this.run, this.notify, now);
    if (this.run.ended()) {
      await settleAfterEnd(this.run);
      await this.run.scheduleAlarm();
      return;
    }
    await pollOverdue(this.run, now);
    await recoverLost(this.run, now);
    // Jobs the create gate deferred are due.
    await this.run.dispatch();
    const row = this.run.row()!;
    if (!this.run.ended() && now - row.last_progress_at > this.config.stallTimeoutMs) {
      await this.run.finish("failed", `no progress for ${Math.round(this.config.stallTimeoutMs / 60000)} minutes in phase ${row.phase}`);
      return;
    }
    await this.run.scheduleAlarm();
    await this.run.syncIndex();
  }

  // ---------------------------------------------------------------- live status over WebSockets (event-log.ts)

  /**
   * A viewer connects: it gets the snapshot, then, when it names the last event it saw
   * (`since`; 0 for the whole log), the events after it, then every event as it happens.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") !== "websocket") return new Response("expected a websocket upgrade", { status: 426 });
    const since = replayFrom(new URL(request.url));
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const snapshot = snapshotOf(this.run);
    server.send(JSON.stringify({ id: snapshot?.last_event ?? 0, type: "snapshot", snapshot }));
    if (since !== null) for (const event of eventsSince(this.run.sql, since)) server.send(eventFrame(event));
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
