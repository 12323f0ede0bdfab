import { MODEL_CONTRACTS } from "../../../contracts/model-contracts.ts";
import { type Prediction, type PredictionStatus, TERMINAL_STATUSES } from "../../../contracts/prediction.ts";

/** Versions the double knows: the pinned ones of the vendored contracts (community models). */
const VERSIONS = new Map(Object.values(MODEL_CONTRACTS).flatMap((c) => (c.version ? [[c.version, c.model] as const] : [])));
const COMMUNITY = new Set(Object.values(MODEL_CONTRACTS).filter((c) => !c.official).map((c) => c.model));
import { type ProviderClient, providerClient } from "../../../worker/providers/client.ts";

/**
 * A stand-in for Replicate's predictions HTTP API, for Worker tests: workerd cannot listen on
 * a port, so the real client (client.ts) is handed this object's `fetch`. It answers like the
 * documented API (https://replicate.com/docs/reference/http): model-scoped and versioned
 * create, get, cancel, and the newest-first paginated list; prediction objects carry
 * `webhook`. Tests move predictions along by hand and can make the next calls fail the ways
 * the real service does (429 with Retry-After, 5xx, an answer lost after the create applied).
 */

export type CallFailure =
  | { kind: "rate-limited"; retryAfter: string }
  | { kind: "server-error" }
  /** The request is applied, then the connection drops before the answer arrives. */
  | { kind: "answer-lost" }
  | { kind: "unreachable" };

interface Stored {
  prediction: Prediction;
  seq: number;
}

export interface DoubleOptions {
  /** Results per page of GET /v1/predictions (Replicate uses 100). */
  pageSize: number;
  /** Whether prediction objects carry `webhook` (set false to model a provider that omits it). */
  reportWebhook: boolean;
  /** GPU seconds billed to a prediction cancelled while running. */
  cancelPredictTime: number;
}

export class ReplicateDouble {
  /** Where it answers and the token it wants: a second double (another base) plays the draft model server, which speaks the same API. */
  readonly base: string;
  readonly token: string;
  readonly options: DoubleOptions;
  /** Every request, in order: `METHOD /path`. */
  readonly calls: string[] = [];
  private readonly stored = new Map<string, Stored>();
  private readonly failures: { route: "create" | "any"; failure: CallFailure }[] = [];
  private seq = 0;

  constructor(options: Partial<DoubleOptions> = {}, endpoint: { base: string; token: string } = { base: "https://api.replicate.test", token: "r8_double_token" }) {
    this.options = { pageSize: 100, reportWebhook: true, cancelPredictTime: 0, ...options };
    this.base = endpoint.base;
    this.token = endpoint.token;
  }

  client(): ProviderClient {
    return providerClient(this.base, this.token, this.fetch);
  }

  /** The next `count` creates (or any calls) fail this way. */
  failNext(failure: CallFailure, count = 1, route: "create" | "any" = "create"): void {
    for (let i = 0; i < count; i++) this.failures.push({ route, failure });
  }

  /** Every prediction created, oldest first. */
  all(): Prediction[] {
    return [...this.stored.values()].sort((a, b) => a.seq - b.seq).map((s) => this.view(s.prediction.id));
  }

  /** The webhook URL a prediction was created with (whether or not `reportWebhook` shows it). */
  webhookOf(id: string): string | null {
    return this.stored.get(id)?.prediction.webhook ?? null;
  }

  /** Predictions whose webhook names this job (and attempt, if given). */
  forJob(jobId: string, attempt?: number): Prediction[] {
    return this.all().filter((p) => {
      const webhook = this.webhookOf(p.id);
      if (!webhook) return false;
      const query = new URL(webhook).searchParams;
      return query.get("job") === jobId && (attempt === undefined || query.get("attempt") === String(attempt));
    });
  }

  view(id: string): Prediction {
    const stored = this.stored.get(id);
    if (!stored) throw new Error(`the double has no prediction ${id}`);
    const copy = structuredClone(stored.prediction);
    if (!this.options.reportWebhook) {
      delete copy.webhook;
      delete copy.webhook_events_filter;
    }
    return copy;
  }

  /** A prediction somebody else created (other apps share the account), `ageMs` ago. */
  addForeign(ageMs: number): Prediction {
    const created = new Date(Date.now() - ageMs).toISOString();
    return this.insert({ model: "someone/else", input: {}, webhook: null, createdAt: created });
  }

  processing(id: string): Prediction {
    return this.update(id, { status: "processing", started_at: new Date().toISOString(), logs: "running\n" });
  }

  /** End a prediction. `predictTime` is the GPU time the provider reports (what per-second models bill). */
  finish(id: string, outcome: { status: Extract<PredictionStatus, "succeeded" | "failed" | "canceled">; output?: unknown; error?: string; predictTime?: number }): Prediction {
    const now = new Date().toISOString();
    return this.update(id, {
      status: outcome.status,
      output: outcome.status === "succeeded" ? (outcome.output ?? `https://replicate.delivery/double/${id}/output.png`) : null,
      error: outcome.status === "failed" ? (outcome.error ?? "CUDA out of memory") : null,
      started_at: this.stored.get(id)?.prediction.started_at ?? now,
      completed_at: now,
      metrics: { predict_time: outcome.predictTime ?? 1.5, total_time: (outcome.predictTime ?? 1.5) + 0.2 },
    });
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const path = url.pathname;
    this.calls.push(`${request.method} ${path}`);
    if (url.origin !== this.base) return problem(404, `no such host ${url.origin}`);
    if (request.headers.get("authorization") !== `Bearer ${this.token}`) return problem(401, "Invalid token.");
    const isCreate = request.method === "POST" && (path === "/v1/predictions" || /^\/v1\/models\/[^/]+\/[^/]+\/predictions$/.test(path));
    const index = this.failures.findIndex((f) => f.route === "any" || (f.route === "create" && isCreate));
    const failure = index >= 0 ? this.failures.splice(index, 1)[0]!.failure : null;
    if (failure?.kind === "unreachable") throw new TypeError("Network connection lost.");
    if (failure?.kind === "rate-limited") return problem(429, "Request was throttled.", { "retry-after": failure.retryAfter });
    if (failure?.kind === "server-error") return problem(500, "Internal server error");

    let answer: Response;
    if (isCreate) {
      const body = (await request.json()) as { version?: string; input?: Record<string, unknown>; webhook?: string; webhook_events_filter?: string[] };
      if (!body.input || typeof body.input !== "object") return problem(422, "input is required");
      let model: string;
      if (path === "/v1/predictions") {
        // Replicate's rules (contracts/models/replicate-api.json): a version is required, and one it does not know is a 422.
        const version = body.version?.includes(":") ? body.version.slice(body.version.indexOf(":") + 1) : body.version;
        if (!version) return problem(422, "- version is required\n", {}, "Input validation failed");
        const known = VERSIONS.get(version);
        if (!known) return problem(422, "The specified version does not exist (or perhaps you don't have permission to use it?)", {}, "Invalid version or not permitted");
        model = known;
      } else {
        model = path.split("/").slice(3, 5).join("/");
        // A community model on the model-scoped route: Replicate answers 404 (replicate-javascript#347).
        if (COMMUNITY.has(model)) return Response.json({ detail: "The requested resource could not be found.", status: 404 }, { status: 404 });
      }
      const created = this.insert({ model, input: body.input, webhook: body.webhook ?? null, filter: body.webhook_events_filter, createdAt: new Date().toISOString() });
      answer = Response.json(this.view(created.id), { status: 201 });
    } else if (request.method === "GET" && path === "/v1/predictions") {
      answer = Response.json(this.page(url.searchParams.get("cursor")));
    } else {
      const match = path.match(/^\/v1\/predictions\/([^/]+)(\/cancel)?$/);
      const stored = match ? this.stored.get(match[1]!) : undefined;
      if (!match || !stored) return problem(404, "Not found.");
      if (match[2] && request.method === "POST") {
        if (!TERMINAL_STATUSES.includes(stored.prediction.status)) {
          this.update(stored.prediction.id, { status: "canceled", completed_at: new Date().toISOString(), metrics: { predict_time: this.options.cancelPredictTime } });
        }
      } else if (request.method !== "GET") return problem(405, "Method not allowed.");
      answer = Response.json(this.view(stored.prediction.id));
    }
    if (failure?.kind === "answer-lost") throw new TypeError("Network connection lost.");
    return answer;
  };

  private insert(fields: { model: string; input: Record<string, unknown>; webhook: string | null; filter?: string[]; createdAt: string }): Prediction {
    const id = `dbl${(++this.seq).toString(36).padStart(6, "0")}${crypto.randomUUID().slice(0, 8)}`;
    const get = `${this.base}/v1/predictions/${id}`;
    const prediction: Prediction = {
      id,
      model: fields.model,
      version: "hidden",
      input: fields.input,
      logs: "",
      output: null,
      data_removed: false,
      error: null,
      status: "starting",
      source: "api",
      created_at: fields.createdAt,
      started_at: null,
      completed_at: null,
      urls: { get, cancel: `${get}/cancel`, web: `https://replicate.com/p/${id}` },
      metrics: {},
      webhook: fields.webhook,
      webhook_events_filter: fields.webhook ? (fields.filter ?? ["start", "output", "logs", "completed"]) : null,
    };
    this.stored.set(id, { prediction, seq: this.seq });
    return prediction;
  }

  private update(id: string, fields: Partial<Prediction>): Prediction {
    const stored = this.stored.get(id);
    if (!stored) throw new Error(`the double has no prediction ${id}`);
    stored.prediction = { ...stored.prediction, ...fields };
    return this.view(id);
  }

  /** Newest first, `pageSize` per page; `next` is an absolute URL, as Replicate returns it. */
  private page(cursor: string | null): { next: string | null; previous: string | null; results: Prediction[] } {
    const newestFirst = [...this.stored.values()].sort((a, b) => b.seq - a.seq);
    const before = cursor ? Number(atob(cursor)) : Number.POSITIVE_INFINITY;
    const rest = newestFirst.filter((s) => s.seq < before);
    const page = rest.slice(0, this.options.pageSize);
    const oldest = page.at(-1);
    const next = oldest && rest.length > page.length ? `${this.base}/v1/predictions?cursor=${btoa(String(oldest.seq))}` : null;
    return { next, previous: null, results: page.map((s) => this.view(s.prediction.id)) };
  }
}

function problem(status: number, detail: string, headers: Record<string, string> = {}, title = detail): Response {
  return Response.json({ title, detail, status }, { status, headers });
}
