import { z } from "zod";

/**
 * Knobs of the draft model server. The fault knobs exist for tests and benchmarks: they make
 * the local provider misbehave the ways a real one does (slow, failing, throttled, webhooks
 * late, twice or out of order). All of them can be changed at runtime with
 * `POST /v1/_draft/config` (same bearer token; JSON body = any subset of `DraftKnobs`).
 */

/** What the draft model server needs to start (main.ts reads it from the environment). */
export interface DraftConfig {
  /** API token clients must send as `Authorization: Bearer <token>`. */
  token: string;
  /** `whsec_` secret webhooks are signed with. */
  webhookSecret: string;
  /** Base URL this server is reachable at (used in prediction `urls` and output file URLs). */
  publicUrl: string;
  /** Where rendered outputs are kept until they expire. */
  outputDir?: string;
  /** Extra latency added to every prediction, in ms. */
  latencyMs?: number;
  /** Share of predictions that fail, 0..1. */
  failRate?: number;
  /** How many predictions render at once. */
  concurrency?: number;
  /** `replicate`: impersonate the real default models under their published contracts (emulator.ts) instead of serving the draft models. */
  emulate?: "replicate";
}

export const WebhookMode = z.union([
  /** normal: each event once, in order. none: never send. duplicate: send every message twice
   * (same webhook-id, as an at-least-once retry would). shuffle: hold a prediction's events and
   * deliver them newest first once it completes, so `completed` arrives before `start`. */
  z.enum(["normal", "none", "duplicate", "shuffle"]),
  /** Deliver every message this much later (off the render path). */
  z.object({ delayMs: z.number().int().min(0).max(120_000) }).strict(),
]);
export type WebhookMode = z.infer<typeof WebhookMode>;

export const DraftKnobs = z
  .object({
    /**
     * Least wall time per prediction in `processing`, holding a render slot; the render runs
     * within it (a prediction takes max(latencyMs, render)), as a hosted model's latency
     * includes its own run. `predict_time` still reports the render alone.
     */
    latencyMs: z.number().int().min(0).max(600_000),
    /** Share of predictions that end `failed` with error "draft: injected failure". */
    failRate: z.number().min(0).max(1),
    /** Makes failRate and createErrorRate reproducible: decision n depends only on (seed, n). */
    failSeed: z.number().int().nullable(),
    /** Share of create requests answered with HTTP 500 (nothing is created). */
    createErrorRate: z.number().min(0).max(1),
    /** Share of `GET /v1/predictions/{id}` requests answered with HTTP 500. */
    getErrorRate: z.number().min(0).max(1),
    /** Share of create and get answers that are malformed prediction objects (a required field missing, or a status no client knows); the prediction itself is unharmed. */
    malformedRate: z.number().min(0).max(1),
    /** Share of predictions that hang: `processing` forever (no render slot held) until cancelled. */
    hangRate: z.number().min(0).max(1),
    /** Creates allowed per sliding minute; over it → 429 with Retry-After. null = unlimited. */
    rateLimitPerMinute: z.number().int().min(1).nullable(),
    webhookMode: WebhookMode,
    /** Models (`owner/name`) whose predictions always fail. */
    failModels: z.array(z.string().min(1).max(100)).max(20),
    /** A prediction whose input.prompt contains any of these substrings always fails. */
    failInputs: z.array(z.string().min(1).max(400)).max(50),
    /** Predictions rendering at once; the rest wait in `starting`. */
    concurrency: z.number().int().min(1).max(64),
    /** How long rendered outputs stay downloadable. */
    outputTtlMs: z.number().int().min(1000).max(7 * 24 * 3600 * 1000),
  })
  .strict();
export type DraftKnobs = z.infer<typeof DraftKnobs>;

/** Runtime changes: any subset of the knobs. */
export const DraftKnobsPatch = DraftKnobs.partial();
export type DraftKnobsPatch = z.infer<typeof DraftKnobsPatch>;

export interface DraftOptions extends DraftKnobs {
  /** Root for per-render temp directories. */
  tmpDir?: string;
  /** How often expired outputs are swept. */
  sweepIntervalMs: number;
  /** Predictions per page of `GET /v1/predictions` (Replicate uses 100). */
  listPageSize: number;
  /** Webhook delivery attempts per message and the backoff between them (doubling, capped). */
  webhookAttempts: number;
  webhookBackoffMs: number;
  webhookMaxBackoffMs: number;
  /** Per-attempt timeout of a webhook POST. */
  webhookTimeoutMs: number;
}

export const DRAFT_DEFAULTS: DraftOptions = {
  latencyMs: 0,
  failRate: 0,
  failSeed: null,
  createErrorRate: 0,
  getErrorRate: 0,
  malformedRate: 0,
  hangRate: 0,
  rateLimitPerMinute: null,
  webhookMode: "normal",
  failModels: [],
  failInputs: [],
  concurrency: 2,
  outputTtlMs: 3600 * 1000,
  sweepIntervalMs: 60 * 1000,
  listPageSize: 100,
  webhookAttempts: 5,
  webhookBackoffMs: 200,
  webhookMaxBackoffMs: 3000,
  webhookTimeoutMs: 10_000,
};

export type DraftSettings = DraftConfig & Partial<DraftOptions>;

/** Defaults, then the config; knob values are validated like a runtime patch. */
export function resolveDraftOptions(settings: DraftSettings): DraftOptions {
  const merged: DraftOptions = { ...DRAFT_DEFAULTS };
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined && key in DRAFT_DEFAULTS) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (settings.tmpDir !== undefined) merged.tmpDir = settings.tmpDir;
  const knobs = DraftKnobs.safeParse(pickKnobs(merged));
  if (!knobs.success) {
    const issue = knobs.error.issues[0];
    throw new Error(`draft config ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return merged;
}

export function pickKnobs(options: DraftOptions): DraftKnobs {
  const knobs: Record<string, unknown> = {};
  for (const key of Object.keys(DraftKnobs.shape)) knobs[key] = options[key as keyof DraftKnobs];
  return knobs as DraftKnobs;
}
