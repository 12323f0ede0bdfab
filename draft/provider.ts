import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Prediction, type PredictionStatus, TERMINAL_STATUSES, type WebhookEvent } from "../contracts/prediction.ts";
import { newWebhookSecret } from "../contracts/signing.ts";
import { withTempDir } from "../media-node/io.ts";
import { FaultInjector } from "./faults.ts";
import type { ServedModel } from "./catalog.ts";
import { type DraftKnobs, type DraftKnobsPatch, type DraftOptions, type DraftSettings, pickKnobs, resolveDraftOptions } from "./options.ts";
import { OutputStore } from "./outputs.ts";
import { type WebhookTarget, WebhookDispatcher } from "./webhooks.ts";

/**
 * The draft model server's state: predictions in memory, a bounded render queue, outputs on
 * disk, webhooks. HTTP lives in routes.ts; this module is the Replicate lifecycle
 * (starting → processing → succeeded | failed | canceled).
 */

interface PredictionRecord {
  seq: number;
  id: string;
  model: ServedModel;
  /** As the client sent it: Replicate echoes the input, not the defaults it filled in. */
  input: Record<string, unknown>;
  parsed: Record<string, unknown>;
  status: PredictionStatus;
  logs: string;
  output: string | string[] | null;
  outputNames: string[];
  error: string | null;
  dataRemoved: boolean;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  predictTime: number | null;
  baseUrl: string;
  webhook: WebhookTarget | undefined;
  /** Decided at creation (see faults.ts); the render is skipped. */
  injectedFailure: string | null;
  /** Decided at creation (hangRate): stays `processing`, without a render slot, until cancelled. */
  hang: boolean;
  abort: AbortController;
  lastLogsEventAt: number;
}

/** One create request as the server saw it: what tests read back from `GET /v1/_draft/requests`. */
export interface CreateRecord {
  at: string;
  /** `models`: `/v1/models/{owner}/{name}/predictions`; `versions`: `/v1/predictions`. */
  route: "models" | "versions";
  /** The path's `owner/name` or the body's `version`, as sent. */
  reference: string | null;
  /** The model it resolved to, if any. */
  model: string | null;
  input: unknown;
  status: number;
  /** Fields the input check refused (422), empty when it passed. */
  invalid_fields: { type: string; field: string; description: string }[];
  prediction_id: string | null;
}

/** Creates kept for `GET /v1/_draft/requests`, newest last. */
const CREATE_LOG_SIZE = 2000;

export interface CreateRequest {
  model: ServedModel;
  input: Record<string, unknown>;
  parsed: Record<string, unknown>;
  webhook?: string;
  events?: WebhookEvent[];
  baseUrl: string;
}

export interface PredictionPage {
  next: string | null;
  previous: string | null;
  results: Prediction[];
}

export class InvalidCursor extends Error {}

const ALL_EVENTS: WebhookEvent[] = ["start", "output", "logs", "completed"];
/** Predictions are forgotten this long after they finish (outputs go much sooner). */
const RECORD_TTL_MS = 24 * 3600 * 1000;
/** Replicate sends `logs` webhooks at most every 500 ms. */
const LOGS_EVENT_INTERVAL_MS = 500;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function predictionId(): string {
  // 26 base32 characters, the shape of Replicate ids.
  return Array.from(randomBytes(26), (byte) => BASE32[byte & 31]).join("");
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function encodeCursor(cursor: { before: number } | { after: number }): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(cursor: string): { before: number } | { after: number } {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof value.before === "number") return { before: value.before };
    if (typeof value.after === "number") return { after: value.after };
  } catch {
    // fall through
  }
  throw new InvalidCursor(`cursor ${JSON.stringify(cursor.slice(0, 40))} is not one this server issued`);
}

export class DraftProvider {
  readonly options: DraftOptions;
  readonly webhookSecret: string;
  readonly outputs: OutputStore;
  readonly faults: FaultInjector;
  private readonly webhooks: WebhookDispatcher;
  private readonly records = new Map<string, PredictionRecord>();
  private readonly pending: PredictionRecord[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;
  /** Every create request (accepted or refused), oldest first, bounded. */
  readonly creates: CreateRecord[] = [];
  private closed: Promise<void> | null = null;

  constructor(settings: DraftSettings, log: (message: string) => void = () => undefined) {
    this.options = resolveDraftOptions(settings);
    // No secret configured: make one; clients read it from /v1/webhooks/default/secret.
    this.webhookSecret = settings.webhookSecret || newWebhookSecret();
    if (!/^whsec_[A-Za-z0-9+/]+=*$/.test(this.webhookSecret)) throw new Error("draft webhookSecret must look like whsec_<base64>");
    this.outputs = new OutputStore(settings.outputDir);
    this.faults = new FaultInjector(() => this.options);
    this.webhooks = new WebhookDispatcher(this.webhookSecret, () => this.options, log);
    this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweeper.unref(); // expiry must never keep the process alive
  }

  get knobs(): DraftKnobs {
    return pickKnobs(this.options);
  }

  configure(patch: DraftKnobsPatch): DraftKnobs {
    Object.assign(this.options, patch);
    if (["failSeed", "failRate", "createErrorRate", "getErrorRate", "malformedRate", "hangRate"].some((knob) => knob in patch)) this.faults.reset();
    this.pump();
    return this.knobs;
  }

  create(request: CreateRequest): Prediction {
    const id = predictionId();
    const record: PredictionRecord = {
      seq: ++this.seq,
      id,
      model: request.model,
      input: request.input,
      parsed: request.parsed,
      status: "starting",
      logs: "",
      output: null,
      outputNames: [],
      error: null,
      dataRemoved: false,
      createdAt: Date.now(),
      startedAt: null,
      completedAt: null,
      predictTime: null,
      baseUrl: request.baseUrl,
      webhook: request.webhook ? { url: request.webhook, events: new Set(request.events ?? ALL_EVENTS) } : undefined,
      injectedFailure: this.faults.failure(request.model.name, request.input),
      hang: this.faults.hang(),
      abort: new AbortController(),
      lastLogsEventAt: 0,
    };
    this.records.set(id, record);
    this.pending.push(record);
    this.emit(record, "start");
    // Taken before the queue may start it: a new prediction is always answered as `starting`.
    const created = this.snapshot(record);
    this.pump();
    return created;
  }

  recordCreate(record: CreateRecord): void {
    this.creates.push(record);
    if (this.creates.length > CREATE_LOG_SIZE) this.creates.splice(0, this.creates.length - CREATE_LOG_SIZE);
  }

  get(id: string): Prediction | null {
    const record = this.records.get(id);
    return record ? this.snapshot(record) : null;
  }

  /** Replicate's cancel: queued or running → canceled; finished ones are returned unchanged. */
  cancel(id: string): Prediction | null {
    const record = this.records.get(id);
    if (!record) return null;
    if (!TERMINAL_STATUSES.includes(record.status)) {
      const queued = this.pending.indexOf(record);
      if (queued >= 0) this.pending.splice(queued, 1);
      record.abort.abort();
      this.log(record, "prediction canceled");
      this.finish(record, "canceled");
    }
    return this.snapshot(record);
  }

  /** Resolves when the prediction is terminal or `ms` have passed (Prefer: wait). */
  async waitFor(id: string, ms: number): Promise<void> {
    const record = this.records.get(id);
    if (!record || TERMINAL_STATUSES.includes(record.status) || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const waiters = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Answer every pending `Prefer: wait` now (the server is shutting down). */
  releaseWaiters(): void {
    for (const waiters of this.waiters.values()) for (const wake of waiters) wake();
    this.waiters.clear();
  }

  list(cursor: string | undefined, baseUrl: string): PredictionPage {
    const size = this.options.listPageSize;
    const all = [...this.records.values()]; // ascending seq: insertion order
    let page: PredictionRecord[];
    if (cursor === undefined) page = all.slice(-size).reverse();
    else {
      const position = decodeCursor(cursor);
      page =
        "before" in position
          ? all.filter((r) => r.seq < position.before).slice(-size).reverse()
          : all.filter((r) => r.seq > position.after).slice(0, size).reverse();
    }
    const link = (c: { before: number } | { after: number }) => `${baseUrl}/v1/predictions?cursor=${encodeCursor(c)}`;
    const oldest = page.at(-1);
    const newest = page[0];
    return {
      next: oldest && all.some((r) => r.seq < oldest.seq) ? link({ before: oldest.seq }) : null,
      previous: newest && all.some((r) => r.seq > newest.seq) ? link({ after: newest.seq }) : null,
      results: page.map((r) => this.snapshot(r)),
    };
  }

  private snapshot(record: PredictionRecord): Prediction {
    this.expireOutput(record);
    const base = `${record.baseUrl}/v1/predictions/${record.id}`;
    const finished = TERMINAL_STATUSES.includes(record.status) && record.completedAt !== null;
    return {
      id: record.id,
      model: record.model.name,
      version: record.model.version,
      input: record.dataRemoved ? {} : record.input,
      logs: record.logs,
      output: record.output,
      data_removed: record.dataRemoved,
      error: record.error,
      status: record.status,
      source: "api",
      created_at: iso(record.createdAt),
      started_at: iso(record.startedAt),
      completed_at: iso(record.completedAt),
      urls: { get: base, cancel: `${base}/cancel`, web: base },
      // Replicate echoes these; clients use them to find a prediction whose create answer was lost.
      webhook: record.webhook?.url ?? null,
      webhook_events_filter: record.webhook ? [...record.webhook.events] : null,
      metrics: finished
        ? {
            ...(record.predictTime !== null ? { predict_time: record.predictTime } : {}),
            total_time: round3((record.completedAt! - record.createdAt) / 1000),
          }
        : {},
    };
  }

  private emit(record: PredictionRecord, event: WebhookEvent): void {
    this.webhooks.notify(record.webhook, event, this.snapshot(record));
  }

  private log(record: PredictionRecord, line: string): void {
    record.logs += `${line}\n`;
    const now = Date.now();
    if (now - record.lastLogsEventAt >= LOGS_EVENT_INTERVAL_MS && !TERMINAL_STATUSES.includes(record.status)) {
      record.lastLogsEventAt = now;
      this.emit(record, "logs");
    }
  }

  private finish(record: PredictionRecord, status: "succeeded" | "failed" | "canceled", error: string | null = null): void {
    record.status = status;
    record.error = error;
    record.completedAt = Date.now();
    this.emit(record, "completed");
    for (const wake of this.waiters.get(record.id) ?? []) wake();
    this.waiters.delete(record.id);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.options.concurrency && this.pending.length > 0) {
      const record = this.pending.shift()!;
      if (record.hang) {
        // A stuck GPU worker: it never ends by itself, and it does not hold up anyone else's render.
        record.status = "processing";
        record.startedAt = Date.now();
        this.log(record, `${record.model.name}: started (hangs until cancelled: hangRate)`);
        continue;
      }
      const job = this.run(record).finally(() => {
        this.running.delete(job);
        this.pump();
      });
      this.running.add(job);
    }
  }

  private async run(record: PredictionRecord): Promise<void> {
    record.status = "processing";
    record.startedAt = Date.now();
    this.log(record, `${record.model.name}: started (${this.running.size + 1} rendering, ${this.pending.length} queued)`);
    try {
      const { latencyMs } = this.options;
      // The latency is the least time a prediction takes, render included — as a hosted
      // model's latency includes its own run. Settled to a flag so a cancel cannot leave a
      // rejection unobserved while the render is still going.
      const latency = latencyMs > 0 ? sleep(latencyMs, undefined, { signal: record.abort.signal }).then(() => true, () => false) : Promise.resolve(true);
      if (record.injectedFailure) {
        await latency;
        throw new Error(record.injectedFailure);
      }
      const began = performance.now();
      let array = false;
      await withTempDir(this.options.tmpDir, async (dir) => {
        const rendered = await record.model.render(record.parsed, { dir, log: (line) => this.log(record, line) });
        const predictTime = rendered.predictTime ?? round3((performance.now() - began) / 1000);
        await latency;
        if (record.status !== "processing") return; // canceled meanwhile: the temp dir takes the file
        record.predictTime = predictTime;
        for (const output of rendered.outputs) record.outputNames.push(await this.outputs.keep(output.path, output.extension));
        array = rendered.array;
      });
      if (record.status !== "processing") return;
      const urls = record.outputNames.map((name) => `${record.baseUrl}/v1/files/${name}`);
      record.output = array ? urls : (urls[0] ?? null);
      this.log(record, `rendered in ${record.predictTime} s`);
      this.emit(record, "output");
      this.finish(record, "succeeded");
    } catch (error) {
      if (record.status !== "processing") return;
      const message = (error as Error).message;
      this.log(record, `error: ${message}`);
      this.finish(record, "failed", message);
    }
  }

  private expireOutput(record: PredictionRecord, now = Date.now()): void {
    if (record.outputNames.length > 0 && record.completedAt !== null && now - record.completedAt > this.options.outputTtlMs) {
      record.output = null;
      record.outputNames = [];
      record.dataRemoved = true;
    }
  }

  /** Remove expired output files and forget long-finished predictions. */
  async sweep(now = Date.now()): Promise<void> {
    for (const [id, record] of this.records) {
      this.expireOutput(record, now);
      if (record.completedAt !== null && now - record.completedAt > RECORD_TTL_MS) this.records.delete(id);
    }
    await this.outputs.sweep(this.options.outputTtlMs, now);
  }

  /** Stop the sweep, webhooks and queue; wait for renders in flight; drop owned files. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.sweeper);
      this.releaseWaiters();
      for (const record of this.pending.splice(0)) record.abort.abort();
      for (const record of this.records.values()) record.abort.abort();
      await Promise.allSettled([...this.running]);
      await this.webhooks.close();
      await this.outputs.close();
    })();
    return this.closed;
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
