import { z } from "zod";
import { type ClipContract, clipContractOf, contractOf, maxChunkFramesOf, modelName, modelVersion } from "../contracts/model-contracts.ts";
import { Conditioning } from "../contracts/api.ts";
import { ChunkPreset } from "../contracts/media.ts";
import type { JobKind } from "../contracts/live.ts";
import { type CompositeWeights, DEFAULT_CONDITIONING, DEFAULT_WEIGHTS } from "./chunks/conditioning.ts";
import { DEFAULT_LLM_PRICE, DEFAULT_PRICES, type LlmPrice, Price } from "./pricing/prices.ts";
import { type LogSettings, logSettings } from "./log.ts";
import { MAX_PRESIGNED_TTL_SECONDS, type R2Credentials } from "./media/presigned-url.ts";
import { IMAGE_MODELS } from "./providers/models/image.ts";
import { VIDEO_MODELS } from "./providers/models/clip.ts";
import { MUSIC_MODELS } from "./providers/models/music.ts";
import { SPEECH_MODELS } from "./providers/models/speech.ts";
import { DRAFT_MODEL_SET, MODEL_PRESETS, type ModelConfig, type ModelPreset } from "./providers/presets.ts";

/**
 * The one typed configuration module. Defaults are documented here; deployments override
 * them with Worker vars (wrangler.toml `[vars]`) and secrets (`wrangler secret put`, or
 * `.dev.vars` locally). Nothing else reads `env` for settings.
 */

export type ProviderName = "draft" | "replicate";
export type { ModelConfig, ModelPreset };

/** One model provider as a video uses it: where it is, its credentials and its models. */
export interface ProviderSettings {
  name: ProviderName;
  baseUrl: string;
  token: string;
  /** The `whsec_` secret its webhooks are signed with. */
  webhookSecret: string;
  models: ModelConfig;
}

/** Expected seconds of one job, by stage (run/eta.ts). A job without a prediction spends it all in `start`. */
export interface JobSeconds {
  /** Claimed → prediction created (composite, prompt, upload); the whole job for plan, stitch, mux. */
  start: number;
  /** Prediction created → its end seen: the provider's latency. */
  provider: number;
  /** Prediction ended → output stored (download, normalize, analyse). */
  ingest: number;
}

/**
 * Seconds one job of each kind takes, by stage (start step, provider latency, ingest; see
 * run/eta.ts): the time-remaining estimate's priors until D1's `job_durations` holds a mean
 * observed for the (kind, model) a run uses, and until the run has seen a job of that kind
 * finish. Draft: its own models on the local stack (docs/BENCHMARKS.md), seconds per job.
 * Replicate: image models ~10-30 s, the video model tens of seconds per clip, musicgen ~30 s,
 * a voice line a few seconds. Plan, soundtrack, stitch and mux do not call a provider: all their time is `start`.
 */
export const DEFAULT_JOB_SECONDS: Record<ProviderName, Record<JobKind, JobSeconds>> = {
  draft: {
    plan: { start: 1, provider: 0, ingest: 0 },
    reference: { start: 0.3, provider: 1, ingest: 1 },
    storyboard: { start: 0.5, provider: 1, ingest: 0.5 },
    chunk: { start: 0.5, provider: 1, ingest: 1.5 },
    music: { start: 0.2, provider: 2, ingest: 2.5 },
    voice: { start: 0.2, provider: 1, ingest: 0.2 },
    soundtrack: { start: 2.5, provider: 0, ingest: 0 },
    stitch: { start: 3, provider: 0, ingest: 0 },
    mux: { start: 2, provider: 0, ingest: 0 },
  },
  replicate: {
    plan: { start: 5, provider: 0, ingest: 0 },
    reference: { start: 1, provider: 20, ingest: 2 },
    storyboard: { start: 2, provider: 20, ingest: 1 },
    chunk: { start: 2, provider: 45, ingest: 3 },
    music: { start: 1, provider: 30, ingest: 3 },
    voice: { start: 1, provider: 5, ingest: 1 },
    soundtrack: { start: 4, provider: 0, ingest: 0 },
    stitch: { start: 8, provider: 0, ingest: 0 },
    mux: { start: 5, provider: 0, ingest: 0 },
  },
};

export interface Config {
  provider: ProviderName;
  providerBaseUrl: string;
  providerToken: string;
  webhookSecret: string;
  /** The configured provider's models: `MODEL_PRESET` (premium by default) with per-model overrides. */
  models: ModelConfig;
  /** `MODEL_PRESET`: which hosted models a real run uses (providers/presets.ts). */
  preset: ModelPreset;
  /**
   * The video model plans are timed for (`PLANNING_VIDEO_MODEL`; `none`: 2 s chunks, as specs
   * were planned before clip contracts). Default: the hosted video model standard videos use.
   */
  planningVideoModel: string | null;
  /**
   * The draft provider (adreel's draft model server), beside the real one: a video with
   * `quality: "draft"` renders there (providerFor), whatever MODEL_PROVIDER says. With
   * MODEL_PROVIDER=replicate it is `DRAFT_PROVIDER_URL`; null when that is not set, and then a
   * draft is refused (qualityProblems) rather than sent to an address nothing listens on.
   */
  draft: ProviderSettings | null;
  prices: Record<string, Price>;
  llmPrice: LlmPrice;
  planner: "local" | "openai";
  analyser: "local" | "openai";
  openai: { apiKey: string; baseUrl: string; plannerModel: string; visionModel: string; timeoutMs: number };
  publicBaseUrl: string;
  /** media-node's URL; empty in production, where the Worker reaches it through its container binding. */
  mediaNodeUrl: string;
  /** R2's S3 API credentials: when set, media-node and providers get presigned R2 URLs (media/media-urls.ts). */
  r2: R2Credentials | null;
  /** Lifetime of presigned R2 URLs (`PRESIGNED_URL_TTL_SECONDS`); default 1 h, at most 7 days. */
  presignedUrlTtlSeconds: number;
  mediaNodeSecret: string;
  mediaSigningSecret: string;
  adminToken: string;
  /** Lifetime of signed media URLs handed to clients and to media-node / providers. */
  mediaUrlTtlSeconds: number;
  /** How chunks' start images are made unless a request says (`CONDITIONING`; contracts/api.ts `Conditioning`); default `continuity`. */
  conditioning: Conditioning;
  /** Composite weights of the chunks' conditioning images under `composite` conditioning (SPEC §7.2). */
  weights: CompositeWeights;
  /**
   * Longest chunk the configured video model renders in one prediction, in frames at 24 fps
   * (its clip contract, contracts/model-contracts.ts): Wan 181 (121 frames at 16 fps), draft 720.
   * Specs carry the contract they were planned with; this is for specs planned before that.
   */
  maxChunkFrames: number;
  /** Attempts per job: a failed chunk is retried up to 2 more times (SPEC §7.5, §11.2). */
  maxAttempts: number;
  /** Poll the provider when no webhook arrived for this long after creation. */
  pollAfterMs: number;
  /** Cancel and retry a prediction that runs longer than this. */
  predictionDeadlineMs: number;
  /** A claimed job whose consumer vanished is re-enqueued after this long. */
  jobLeaseMs: number;
  /** A video with no progress at all for this long fails with a stated reason. */
  stallTimeoutMs: number;
  /** Concurrent predictions per video. */
  maxPredictionsPerVideo: number;
  /**
   * Prediction creates per minute across every video (one gate for the whole deployment):
   * Replicate allows 600; staying under it means no 429 storm, and a create that would pass
   * it waits for its turn instead of using up its job's retries.
   */
  providerCreatesPerMinute: number;
  /** Priors of the time-remaining estimate per job kind: DEFAULT_JOB_SECONDS of the provider. */
  jobSeconds: Record<JobKind, JobSeconds>;
  /** Weight of the newest video in D1's exponentially-weighted mean job durations (`JOB_SECONDS_WEIGHT`); default 0.2. */
  jobSecondsWeight: number;
  /** A chunk whose palette is further than this (ΔE2000) from the references is flagged. */
  consistencyDriftThreshold: number;
  /**
   * `ASSEMBLY`: `progressive` (default) renders each transition window as soon as its chunks are
   * normalized and ends with one stream-copy assembly that muxes the music in the same pass;
   * `after_all` stitches every chunk once the last one is done, then muxes (the benchmark's comparison).
   */
  assembly: "progressive" | "after_all";
  /**
   * `WEBHOOK_INGEST` (default on; `0` turns it off): the webhook that reports a prediction
   * succeeded runs its job's ingest step itself (after answering the provider), instead of putting
   * it on the jobs queue for a consumer to claim; the job's lease and the queue stay its fallback.
   */
  webhookIngest: boolean;
  /**
   * `DRAFT_CHUNK_PRESET` (`superfast`, the default, or `veryfast`): x264's preset for a draft's
   * chunks' normalize passes (media-node/video/encoding.ts `chunkEncoding` has the measurements).
   * Standard videos always use CHUNK_ENCODING's `veryfast`.
   */
  draftChunkPreset: ChunkPreset;
  /** Requests per API key per minute on /api/* (sliding window); default 60. */
  rateLimitPerMinute: number;
  /** Accepted `POST /api/generate` bodies per API key per minute (dry runs included); default 10. */
  generateRateLimitPerMinute: number;
  /** Videos a tenant may have queued or processing at once (a beat regeneration counts); default 5. */
  maxConcurrentVideos: number;
  /** Secret signing `callback_url` notifications (Standard Webhooks); without it no callback is sent. */
  callbackSecret: string;
  /** `ALLOW_HTTP_CALLBACKS=1` (local stack only) lets `callback_url` be plain http to 127.0.0.1 / localhost. */
  allowHttpCallbacks: boolean;
  /** Delivery attempts per callback notification before it is given up (recorded as an event); default 5. */
  callbackMaxAttempts: number;
  /** `LOG_LEVEL` (the least level written; default `info`) and `LOG_FORMAT` (`fields`, default; `json` on the local stack): see log.ts. */
  log: LogSettings;
}

function text(env: Record<string, unknown>, name: string, fallback = ""): string {
  const value = env[name];
  return typeof value === "string" && value !== "" ? value : fallback;
}

function number(env: Record<string, unknown>, name: string, fallback: number): number {
  const value = Number(text(env, name, ""));
  return Number.isFinite(value) && text(env, name, "") !== "" ? value : fallback;
}

export function loadConfig(env: Env): Config {
  const vars = env as unknown as Record<string, unknown>;
  const provider: ProviderName = text(vars, "MODEL_PROVIDER", "draft") === "replicate" ? "replicate" : "draft";
  const preset: ModelPreset = text(vars, "MODEL_PRESET") === "budget" ? "budget" : "premium";
  const defaults = provider === "replicate" ? MODEL_PRESETS[preset] : DRAFT_MODEL_SET;
  const models: ModelConfig = {
    image: text(vars, "IMAGE_MODEL", defaults.image),
    imageFallbacks: text(vars, "IMAGE_MODEL_FALLBACKS", defaults.imageFallbacks.join(",")).split(",").filter(Boolean),
    video: text(vars, "VIDEO_MODEL", defaults.video),
    videoResolution: text(vars, "VIDEO_RESOLUTION") === "480p" ? "480p" : text(vars, "VIDEO_RESOLUTION") === "720p" ? "720p" : defaults.videoResolution,
    music: text(vars, "MUSIC_MODEL", defaults.music),
    speech: text(vars, "SPEECH_MODEL", defaults.speech ?? ""),
  };
  const draftUrl = (provider === "draft" ? text(vars, "PROVIDER_BASE_URL") || text(vars, "DRAFT_PROVIDER_URL", "http://127.0.0.1:8789") : "") || text(vars, "DRAFT_PROVIDER_URL");
  const draft: ProviderSettings | null = draftUrl === "" ? null : {
    name: "draft",
    baseUrl: draftUrl.replace(/\/$/, ""),
    token: text(vars, "DRAFT_PROVIDER_TOKEN"),
    // The local stack gives the draft server the Worker's secret; a separate one may be set.
    webhookSecret: text(vars, "DRAFT_WEBHOOK_SECRET", text(vars, "WEBHOOK_SECRET")),
    models: provider === "draft" ? models : DRAFT_MODEL_SET,
  };
  return {
    provider,
    providerBaseUrl: text(vars, "PROVIDER_BASE_URL", provider === "replicate" ? "https://api.replicate.com" : "http://127.0.0.1:8789").replace(/\/$/, ""),
    providerToken: text(vars, provider === "replicate" ? "REPLICATE_API_TOKEN" : "DRAFT_PROVIDER_TOKEN"),
    webhookSecret: text(vars, "WEBHOOK_SECRET"),
    models,
    preset,
    draft,
    planningVideoModel: planningModel(text(vars, "PLANNING_VIDEO_MODEL"), provider === "replicate" ? models.video : MODEL_PRESETS[preset].video),
    prices: { ...DEFAULT_PRICES, ...parsePrices(text(vars, "MODEL_PRICES_JSON")) },
    llmPrice: DEFAULT_LLM_PRICE,
    planner: text(vars, "PLANNER", "local") === "openai" && text(vars, "OPENAI_API_KEY") ? "openai" : "local",
    analyser: text(vars, "ANALYSER", "local") === "openai" && text(vars, "OPENAI_API_KEY") ? "openai" : "local",
    openai: {
      apiKey: text(vars, "OPENAI_API_KEY"),
      baseUrl: text(vars, "OPENAI_BASE_URL", "https://api.openai.com/v1"),
      plannerModel: text(vars, "OPENAI_PLANNER_MODEL", "gpt-4.1-mini"),
      visionModel: text(vars, "OPENAI_VISION_MODEL", "gpt-4.1-mini"),
      timeoutMs: number(vars, "OPENAI_TIMEOUT_MS", 30_000),
    },
    publicBaseUrl: text(vars, "PUBLIC_BASE_URL", "http://127.0.0.1:8787").replace(/\/$/, ""),
    mediaNodeUrl: text(vars, "MEDIA_NODE_URL").replace(/\/$/, ""),
    r2: r2Credentials(vars),
    presignedUrlTtlSeconds: Math.min(MAX_PRESIGNED_TTL_SECONDS, Math.max(60, number(vars, "PRESIGNED_URL_TTL_SECONDS", 3600))),
    mediaNodeSecret: text(vars, "MEDIA_NODE_SECRET"),
    mediaSigningSecret: text(vars, "MEDIA_SIGNING_SECRET"),
    adminToken: text(vars, "ADMIN_TOKEN"),
    mediaUrlTtlSeconds: number(vars, "MEDIA_URL_TTL_SECONDS", 6 * 3600),
    conditioning: Conditioning.catch(DEFAULT_CONDITIONING).parse(text(vars, "CONDITIONING", DEFAULT_CONDITIONING)),
    weights: {
      storyboard: number(vars, "WEIGHT_STORYBOARD", DEFAULT_WEIGHTS.storyboard),
      style: number(vars, "WEIGHT_STYLE", DEFAULT_WEIGHTS.style),
      previousFrame: number(vars, "WEIGHT_PREVIOUS_FRAME", DEFAULT_WEIGHTS.previousFrame),
      storyboardAfterFirst: number(vars, "WEIGHT_STORYBOARD_AFTER_FIRST", DEFAULT_WEIGHTS.storyboardAfterFirst),
    },
    maxChunkFrames: number(vars, "MAX_CHUNK_FRAMES", maxChunkFramesOf(models.video)),
    maxAttempts: number(vars, "MAX_ATTEMPTS", 3),
    pollAfterMs: number(vars, "POLL_AFTER_MS", provider === "replicate" ? 60_000 : 15_000),
    predictionDeadlineMs: number(vars, "PREDICTION_DEADLINE_MS", provider === "replicate" ? 15 * 60_000 : 3 * 60_000),
    jobLeaseMs: number(vars, "JOB_LEASE_MS", 90_000),
    stallTimeoutMs: number(vars, "STALL_TIMEOUT_MS", 20 * 60_000),
    maxPredictionsPerVideo: number(vars, "MAX_PREDICTIONS_PER_VIDEO", 8),
    providerCreatesPerMinute: number(vars, "PROVIDER_CREATES_PER_MINUTE", 600),
    jobSeconds: DEFAULT_JOB_SECONDS[provider],
    jobSecondsWeight: Math.min(1, Math.max(0.01, number(vars, "JOB_SECONDS_WEIGHT", 0.2))),
    consistencyDriftThreshold: number(vars, "CONSISTENCY_DRIFT_THRESHOLD", 20),
    assembly: text(vars, "ASSEMBLY", "progressive") === "after_all" ? "after_all" : "progressive",
    webhookIngest: text(vars, "WEBHOOK_INGEST", "1") !== "0",
    draftChunkPreset: ChunkPreset.catch("superfast").parse(text(vars, "DRAFT_CHUNK_PRESET", "superfast")),
    rateLimitPerMinute: number(vars, "RATE_LIMIT_PER_MINUTE", 60),
    generateRateLimitPerMinute: number(vars, "GENERATE_RATE_LIMIT_PER_MINUTE", 10),
    maxConcurrentVideos: number(vars, "MAX_CONCURRENT_VIDEOS", 5),
    callbackSecret: text(vars, "CALLBACK_SECRET"),
    allowHttpCallbacks: text(vars, "ALLOW_HTTP_CALLBACKS") === "1",
    callbackMaxAttempts: number(vars, "CALLBACK_MAX_ATTEMPTS", 5),
    log: logSettings(text(vars, "LOG_LEVEL", "info"), text(vars, "LOG_FORMAT", "fields")),
  };
}

/** `MODEL_PRICES_JSON='{"owner/model":{"unit":"per_image","usd":0.1}}'` overrides or adds prices. */
function parsePrices(json: string): Record<string, Price> {
  if (!json) return {};
  try {
    const parsed = z.record(z.string(), Price).safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

const R2_SETTINGS = ["R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET"] as const;

function r2Credentials(vars: Record<string, unknown>): R2Credentials | null {
  const [accountId, accessKeyId, secretAccessKey, bucket] = R2_SETTINGS.map((name) => text(vars, name));
  if (!accountId || !accessKeyId || !secretAccessKey || !bucket) return null;
  return { accountId, accessKeyId, secretAccessKey, bucket, endpoint: text(vars, "R2_S3_ENDPOINT") || undefined };
}

/** Settings whose absence makes the product unusable are refused loudly at the first request. */
export function missingSecrets(config: Config, env?: Env): string[] {
  const missing: string[] = [];
  if (env) {
    if (!config.mediaNodeUrl && !env.MEDIA_NODE_CONTAINER) missing.push("MEDIA_NODE_URL (or the MEDIA_NODE_CONTAINER binding)");
    // Some R2 credentials without the others is a half-done production setup, not a local one.
    const vars = env as unknown as Record<string, unknown>;
    const r2Set = R2_SETTINGS.filter((name) => text(vars, name));
    if (r2Set.length > 0 && r2Set.length < R2_SETTINGS.length) missing.push(...R2_SETTINGS.filter((name) => !text(vars, name)));
  }
  if (!config.mediaNodeSecret) missing.push("MEDIA_NODE_SECRET");
  if (!config.mediaSigningSecret) missing.push("MEDIA_SIGNING_SECRET");
  if (!config.webhookSecret) missing.push("WEBHOOK_SECRET");
  if (!config.providerToken) missing.push(config.provider === "replicate" ? "REPLICATE_API_TOKEN" : "DRAFT_PROVIDER_TOKEN");
  return missing;
}

/** A setting that would make real runs fail or degrade, named with the reason. */
export interface ConfigProblem {
  setting: string;
  problem: string;
}

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;

/**
 * What is wrong with a configuration, found before any video is spent on it (pure: /health and
 * generate report it). A community model without its version would answer every create with
 * Replicate's 404/422, so it is refused here instead of failing each video three times.
 */
export function configProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (setting: string, model: string, known: readonly string[]) => {
    const contract = contractOf(model);
    if (!known.includes(modelName(model))) problems.push({ setting, problem: `no adapter for ${modelName(model)}; known models: ${known.join(", ")}` });
    else if (contract && !contract.official && !modelVersion(model)) {
      problems.push({ setting, problem: `${modelName(model)} is a community model: Replicate runs it only by version, so name it as ${contract.model}:${contract.version ?? "<version>"}` });
    } else if (modelVersion(model) !== undefined && !/^[0-9a-f]{64}$/.test(modelVersion(model)!)) {
      problems.push({ setting, problem: `${model}: a version is 64 hexadecimal characters` });
    }
  };
  for (const settings of [{ prefix: "", models: config.models }, ...(config.provider === "draft" || !config.draft ? [] : [{ prefix: "DRAFT ", models: config.draft.models }])]) {
    const { models, prefix } = settings;
    check(`${prefix}IMAGE_MODEL`, models.image, IMAGE_MODELS);
    models.imageFallbacks.forEach((model) => check(`${prefix}IMAGE_MODEL_FALLBACKS`, model, IMAGE_MODELS));
    check(`${prefix}VIDEO_MODEL`, models.video, VIDEO_MODELS);
    check(`${prefix}MUSIC_MODEL`, models.music, MUSIC_MODELS);
    if (models.speech) check(`${prefix}SPEECH_MODEL`, models.speech, SPEECH_MODELS);
  }
  if (config.provider === "replicate") {
    // Replicate posts webhooks to this URL and fetches inputs from it. A loopback address is
    // fine only when the provider is itself local (a Replicate-compatible server on this machine).
    const local = LOOPBACK.test(config.providerBaseUrl) && LOOPBACK.test(config.publicBaseUrl);
    if (!local && !config.publicBaseUrl.startsWith("https://")) {
      problems.push({ setting: "PUBLIC_BASE_URL", problem: `must be an https URL Replicate can reach (got ${config.publicBaseUrl || "nothing"}); a loopback URL only works with a local PROVIDER_BASE_URL` });
    } else if (!local && LOOPBACK.test(config.publicBaseUrl)) {
      problems.push({ setting: "PUBLIC_BASE_URL", problem: `${config.publicBaseUrl} is a loopback address ${config.providerBaseUrl} cannot reach` });
    }
  }
  return problems;
}

/**
 * The clip contract plans are timed for: the hosted video model standard videos render with
 * (the preset's, when the configured provider is the draft one), so a draft preview's spec can
 * be rendered for real unchanged (docs/PLANNING.md). The draft video model renders any of its clips.
 */
export function planningClip(config: Config): ClipContract | undefined {
  return config.planningVideoModel ? clipContractOf(config.planningVideoModel) : undefined;
}

function planningModel(setting: string, fallback: string): string | null {
  if (setting === "none") return null;
  return setting || fallback;
}

/**
 * The provider and models a video renders with (SPEC §12 `quality`): a draft renders on the
 * local draft provider whatever is configured; a standard video on the configured provider
 * (which is the draft one too when MODEL_PROVIDER=draft).
 */
export function providerFor(config: Config, quality: Quality): ProviderSettings {
  if (quality === "draft" || config.provider === "draft") {
    if (!config.draft) throw new Error(DRAFT_UNSET);
    return config.draft;
  }
  return { name: config.provider, baseUrl: config.providerBaseUrl, token: config.providerToken, webhookSecret: config.webhookSecret, models: config.models };
}

export type Quality = "draft" | "standard";

const DRAFT_UNSET = 'quality "draft" renders on the draft model server, and this deployment names none (DRAFT_PROVIDER_URL is not set): ask for quality "standard", or set DRAFT_PROVIDER_URL';

/**
 * Why a video of `quality` cannot be made here, before anything is spent: a draft needs the
 * draft provider (422: the client can ask for a standard video instead); a standard video needs
 * a configuration without problems (503: the operator's to fix, so the client is told what is
 * wrong and that it is not its request).
 */
export function qualityProblems(config: Config, quality: Quality): { status: 422 | 503; error: string; problems: ConfigProblem[] } | null {
  if (quality === "draft" && !config.draft) return { status: 422, error: DRAFT_UNSET, problems: [{ setting: "DRAFT_PROVIDER_URL", problem: "not set" }] };
  if (quality === "draft" || config.provider === "draft") return null;
  const problems = configProblems(config);
  if (problems.length === 0) return null;
  return { status: 503, error: `standard videos cannot be made until the deployment's configuration is fixed: ${problems.map((p) => `${p.setting}: ${p.problem}`).join("; ")}`, problems };
}

/**
 * The secret a prediction webhook is verified with: that of the provider the webhook URL names
 * (webhookUrl puts it there), which is the one that made the prediction. Null: no such provider here.
 */
export function webhookSecretOf(config: Config, provider: string | undefined): string | null {
  if (provider === "draft") return config.draft?.webhookSecret ?? null;
  if (provider === undefined || provider === config.provider) return config.webhookSecret;
  return null;
}

/**
 * The configuration one video runs under: the global one with the provider, models and
 * provider-dependent timings of `providerFor(config, quality)`. The run and the steps then
 * read `config.models` / `config.providerBaseUrl` as they do today.
 */
export function videoConfig(config: Config, quality: Quality): Config {
  const chosen = providerFor(config, quality);
  if (chosen.name === config.provider && chosen.baseUrl === config.providerBaseUrl) return config;
  return {
    ...config,
    provider: chosen.name,
    providerBaseUrl: chosen.baseUrl,
    providerToken: chosen.token,
    webhookSecret: chosen.webhookSecret,
    models: chosen.models,
    maxChunkFrames: maxChunkFramesOf(chosen.models.video),
    pollAfterMs: chosen.name === "replicate" ? config.pollAfterMs : Math.min(config.pollAfterMs, 15_000),
    predictionDeadlineMs: chosen.name === "replicate" ? config.predictionDeadlineMs : Math.min(config.predictionDeadlineMs, 3 * 60_000),
    jobSeconds: DEFAULT_JOB_SECONDS[chosen.name],
  };
}
