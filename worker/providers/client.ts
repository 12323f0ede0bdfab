import { contractOf, modelName, modelVersion } from "../../contracts/model-contracts.ts";
import { type CreatePredictionBody, type Prediction, Prediction as PredictionSchema, type WebhookEvent } from "../../contracts/prediction.ts";
import { inputProblems } from "./models/validation.ts";

/**
 * One client for Replicate's predictions API. The `replicate` provider points it at
 * api.replicate.com, the `draft` provider at adreel's local model server: same code, only
 * the base URL and token differ.
 */

export class ProviderError extends Error {
  /** True when trying again later may succeed (5xx, 429, network). */
  readonly retryable: boolean;
  /** Seconds the provider asked us to wait (429 Retry-After). */
  readonly retryAfterSeconds?: number;
  readonly status?: number;
  constructor(message: string, retryable: boolean, retryAfterSeconds?: number, status?: number) {
    super(message);
    this.retryable = retryable;
    this.retryAfterSeconds = retryAfterSeconds;
    this.status = status;
    this.name = "ProviderError";
  }

  /**
   * True when the request may have taken effect although it failed: no answer (network,
   * timeout), a 5xx, or a 2xx we could not read. A create that failed this way may have
   * started a paid prediction, so it is looked up before it is tried again.
   */
  get uncertain(): boolean {
    return this.status === undefined || this.status >= 500;
  }
}

/** `Retry-After` as seconds to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) {
    const seconds = Number(trimmed);
    return seconds > 0 ? seconds : undefined;
  }
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  const seconds = Math.ceil((at - now) / 1000);
  return seconds > 0 ? seconds : undefined;
}

export interface CreateOptions {
  model: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEvents?: WebhookEvent[];
}

export interface ProviderClient {
  create(options: CreateOptions): Promise<Prediction>;
  get(id: string): Promise<Prediction>;
  cancel(id: string): Promise<Prediction>;
  /** Recent predictions, newest first (one page per call; `cursor` from the previous page). */
  list(cursor?: string): Promise<{ results: Prediction[]; next: string | null }>;
}

export function providerClient(baseUrl: string, token: string, fetcher: typeof fetch = fetch): ProviderClient {
  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetcher(path.startsWith("http") ? path : `${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new ProviderError(`provider unreachable: ${(error as Error).message}`, true);
    }
    const text = await response.text();
    if (!response.ok) {
      const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
      let detail = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { detail?: string; title?: string };
        detail = parsed.detail ?? parsed.title ?? detail;
      } catch {
        // Not JSON: keep the raw text.
      }
      const retryable = response.status === 429 || response.status >= 500;
      throw new ProviderError(`provider answered ${response.status}: ${detail}`, retryable, retryAfter, response.status);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError("provider answered with a body that is not JSON", true);
    }
  }

  function prediction(value: unknown): Prediction {
    const parsed = PredictionSchema.safeParse(value);
    if (!parsed.success) throw new ProviderError(`malformed prediction object: ${parsed.error.issues[0]?.message ?? "invalid"}`, true);
    return parsed.data;
  }

  return {
    async create({ model, input, webhook, webhookEvents }) {
      const body: CreatePredictionBody = { input, ...(webhook ? { webhook, webhook_events_filter: webhookEvents ?? ["completed"] } : {}) };
      const route = predictionRoute(model);
      // Refused before any request (status 400: nothing was created, so nothing need be looked up).
      if ("problem" in route) throw new ProviderError(route.problem, false, undefined, 400);
      // An input its model's published schema refuses would only buy a 422: say which field, for free.
      const problems = inputProblems(model, input);
      if (problems.length > 0) throw new ProviderError(`${modelName(model)} input refused by its schema: ${problems.map((p) => `${p.field}: ${p.description}`).join("; ")}`, false, undefined, 422);
      return prediction(await call("POST", route.path, route.version ? { ...body, version: route.version } : body));
    },
    async get(id) {
      return prediction(await call("GET", `/v1/predictions/${encodeURIComponent(id)}`));
    },
    async cancel(id) {
      return prediction(await call("POST", `/v1/predictions/${encodeURIComponent(id)}/cancel`));
    },
    async list(cursor) {
      const page = (await call("GET", cursor ?? "/v1/predictions")) as { results?: unknown[]; next?: string | null };
      return { results: (page.results ?? []).map(prediction), next: page.next ?? null };
    },
  };
}

/**
 * Where Replicate accepts a create for `model` (contracts/models/replicate-api.json): official
 * models on `/v1/models/{owner}/{name}/predictions`, anything pinned to a version on
 * `/v1/predictions` with that version. A community model named without its version has no
 * route: Replicate answers 404 on the model-scoped one, so that is refused before any request.
 */
export function predictionRoute(model: string): { path: string; version?: string } | { problem: string } {
  const name = modelName(model);
  const version = modelVersion(model);
  if (version) return { path: "/v1/predictions", version };
  const contract = contractOf(model);
  if (contract && !contract.official) {
    return { problem: `${name} is a community model: Replicate runs it only by version (configure ${name}:${contract.version ?? "<version>"})` };
  }
  return { path: `/v1/models/${name}/predictions` };
}
