import { z } from "zod";
import { AdCopy, ArchetypeId, AspectRatio, CaptionsMode, DurationSeconds, VideoSpec, VoiceName, copyText } from "./spec.ts";
import { ConsistencyReport } from "./consistency.ts";

/** The consistency report lives in its own module; these are part of the API's contract. */
export { ChunkConsistency, ConsistencyReport, SeamFlag, SeamReport, SeamScore, SeamThresholds } from "./consistency.ts";

/** Public HTTP contracts. Field names follow the functional spec (docs/SPEC.md §3). */

export const ASSET_REF_PATTERN = /^asset:([a-z0-9-]{8,64})$/;

function isWebUrl(value: string): boolean {
  try {
    const protocol = new URL(value).protocol;
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}

/**
 * A brand asset: an image URL, or `asset:<id>` for an uploaded one. The schema only checks
 * the shape; whether media-node may fetch a URL (https and public addresses only; the local
 * stack adds the origins it serves itself) is its ingest policy's call, made when
 * `POST /api/generate` admits the request — a refusal is a 422 naming the field and the reason.
 * One refinement rather than a union, so a bad value gets this message rather than "Invalid input".
 */
const AssetRef = z
  .string()
  .max(2048)
  .refine((value) => ASSET_REF_PATTERN.test(value) || isWebUrl(value), "must be an https: URL or asset:<id>")
  .describe("An image URL, or `asset:<id>` from `POST /api/assets`.");

/** `POST /api/assets`: an image validated by decoding and stored as PNG for this tenant. */
export const AssetUploadResponse = z.object({
  asset_id: z.string(),
  /** What to put in `brand_assets` to use it. */
  ref: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  /** Format of the uploaded file; the stored copy is always PNG. */
  format: z.enum(["png", "jpeg", "webp"]),
  /** Size of the stored PNG. */
  bytes: z.number().int(),
});
export type AssetUploadResponse = z.infer<typeof AssetUploadResponse>;

export const BrandAssets = z
  .object({
    product_images: z.array(AssetRef).max(5).default([]),
    character_images: z.array(AssetRef).max(5).default([]),
    logo: AssetRef.nullish(),
  })
  .strict();
export type BrandAssets = z.infer<typeof BrandAssets>;

/** The planner writes the copy from the brief; these replace what it wrote. */
export const CopyOverrides = z
  .object({
    /** Shown on the headline beat. */
    headline: copyText(60).optional(),
    /** Shown on the end card and spoken on the last line. */
    cta: copyText(40).optional(),
  })
  .strict();

export const VoiceoverOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** Default: the voice model's own default voice. */
    voice: VoiceName.optional(),
  })
  .strict();

/**
 * How each chunk's start image is made (docs/SEAMS.md):
 * - `continuity`: a beat's first chunk starts from its storyboard frame; every later chunk from
 *   the previous chunk's exact last frame, so a beat plays as one continuous shot. With a video
 *   model that takes an end frame, a beat's last chunk ends on its storyboard seen from where the
 *   camera arrives.
 * - `composite`: seed 003's blends (SPEC §7.2): 70 % storyboard + 30 % style reference for a
 *   beat's first chunk, 70 % previous last frame + 30 % storyboard for the others.
 */
export const Conditioning = z.enum(["continuity", "composite"], { error: 'must be "continuity" or "composite"' });
export type Conditioning = z.infer<typeof Conditioning>;

export const GenerateRequest = z
  .object({
    prompt: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters"),
    duration_s: DurationSeconds.default(30),
    aspect_ratio: AspectRatio.default("16:9"),
    creativity_level: z.number().min(0).max(1).default(0.5),
    archetype: ArchetypeId.nullish(),
    brand_assets: BrandAssets.nullish(),
    quality: z.enum(["draft", "standard"]).default("draft"),
    max_cost_usd: z.number().positive().max(1000).nullish(),
    /** Plan and estimate only: no video is created. */
    dry_run: z.boolean().default(false),
    /**
     * Notified (signed POST, `CallbackNotification`) when the video ends. HTTPS only; plain
     * http to 127.0.0.1 / localhost only where the deployment sets `ALLOW_HTTP_CALLBACKS=1`.
     */
    callback_url: z
      .string()
      .max(2048)
      .refine((value) => {
        try {
          return ["https:", "http:"].includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, "must be an https: URL")
      .nullish(),
    copy: CopyOverrides.nullish(),
    voiceover: VoiceoverOptions.nullish(),
    /**
     * Default: `burned` with the voiceover on, `none` with it off. Burned, because most social
     * video autoplays muted in feeds (Reels, TikTok, Shorts) that take no caption file, so a
     * narrated ad without captions in the picture loses its words there; the WebVTT sidecar is
     * stored as well in both modes that caption. The price is re-encoding the frames that
     * carry a cue in the stitch (measured in docs/BENCHMARKS.md); `sidecar` keeps the stitch
     * to its transition seams and overlays.
     */
    captions: CaptionsMode.optional(),
    /** Default: the deployment's `CONDITIONING` (`continuity` unless set). */
    conditioning: Conditioning.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if (request.captions && request.captions !== "none" && request.voiceover?.enabled === false) {
      ctx.addIssue({ code: "custom", path: ["captions"], message: `${request.captions} captions need the voiceover: they are timed to the spoken lines (voiceover.enabled is false)` });
    }
  });
export type GenerateRequest = z.infer<typeof GenerateRequest>;
export type GenerateRequestInput = z.input<typeof GenerateRequest>;

export const VideoStatus = z.enum(["queued", "processing", "complete", "failed", "cancelled"]);
export type VideoStatus = z.infer<typeof VideoStatus>;

/**
 * The statuses a run ends in: the one definition the Worker, the CLI, the live page (public/app.js
 * mirrors it) and the benchmarks use. Only `complete` may start again, when a beat is regenerated.
 */
export const EndStatus = VideoStatus.extract(["complete", "failed", "cancelled"]);
export type EndStatus = z.infer<typeof EndStatus>;

export function isEndStatus(status: unknown): status is EndStatus {
  return EndStatus.safeParse(status).success;
}

export const Phase = z.enum([
  "queued",
  "planning",
  "generating_references",
  "storyboarding",
  "generating_chunks",
  "stitching",
  "adding_music",
  "complete",
  "failed",
  "cancelled",
]);
export type Phase = z.infer<typeof Phase>;

export const GenerateResponse = z.object({
  video_id: z.string(),
  status: z.literal("queued"),
  message: z.string(),
});

/**
 * What the planner decided or repaired on the way (fallbacks with their reason, dropped
 * beats, …), forwarded as events under the note's own type. An enum, not a string, so a
 * planner cannot invent a type that clients have never heard of.
 */
export const PlanNoteType = z.enum([
  "archetype_forced",
  "archetype_inferred",
  "creative_variation",
  "beat_dropped",
  "soft_transition",
  "transition_limited",
  "copy_fitted",
  "openai_plan",
  "openai_repair",
  "openai_http_error",
  "openai_fallback",
]);
export type PlanNoteType = z.infer<typeof PlanNoteType>;

export const PlanNote = z.strictObject({
  type: PlanNoteType,
  message: z.string().max(2000),
});
export type PlanNote = z.infer<typeof PlanNote>;

/**
 * Money as clients see it. What was spent never decreases during a run; what is still running
 * is shown apart, at its estimate, so settling an estimate lower never takes a shown number back.
 */
export const SpentUsd = z.number().describe("spent so far, in USD: the actual cost of every prediction that ended (failed and cancelled ones too) and of every other charge; it never decreases");
export const PendingUsd = z.number().describe("what the predictions still running are estimated at, in USD, shown apart from `cost_usd`: it falls as they end, their actual cost moving into `cost_usd`");

export const StatusResponse = z.object({
  video_id: z.string(),
  status: VideoStatus,
  progress: z.number().min(0).max(100),
  current_phase: Phase,
  estimated_time_remaining: z.number().nullable(),
  error: z.string().nullable(),
  cost_usd: SpentUsd,
  cost_pending_usd: PendingUsd,
  cost_estimate_usd: z.number().nullable().describe("the plan's estimate of the whole video, in USD"),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const ReferenceImageAnalysis = z.object({
  character_description: z.string(),
  product_features: z.string(),
  colors: z.array(z.string().regex(/^#[0-9A-F]{6}$/)),
  style: z.string(),
  environment: z.string(),
});
export type ReferenceImageAnalysis = z.infer<typeof ReferenceImageAnalysis>;

export const ReferenceImage = z.object({
  url: z.string(),
  type: z.enum(["character", "product", "environment", "logo"]),
  /** `generated`, the brand asset's original URL, or `asset:<id>` for an uploaded file. */
  source: z.string(),
  /** The tenant asset (`asset:<id>`) this reference was made from; absent when generated. */
  asset: z.string().optional(),
  analysis: ReferenceImageAnalysis.nullable(),
  /** Which analyser wrote `analysis`. */
  analyser: z.enum(["openai", "local"]).optional(),
  /** Why the vision model's analysis was not used (the local one was), when it was asked. */
  analysis_note: z.string().optional(),
});
export type ReferenceImage = z.infer<typeof ReferenceImage>;

/** A reference image the video went on without (SPEC §5.7): it failed every attempt, the fallback image models included. */
export const MissingReference = z.object({
  index: z.number().int().min(0),
  type: ReferenceImage.shape.type,
  /** `generated`, or the brand asset it was to be made from. */
  source: z.string(),
  /** The last attempt's reason. */
  reason: z.string(),
});
export type MissingReference = z.infer<typeof MissingReference>;

export const CostEstimate = z.object({
  total_usd: z.number(),
  by_phase: z.record(z.string(), z.number()),
});
export type CostEstimate = z.infer<typeof CostEstimate>;

/** `POST /api/generate` with `dry_run: true`: the plan and its estimate, nothing created. */
export const DryRunResponse = z.object({
  dry_run: z.literal(true),
  spec: VideoSpec,
  cost_estimate: CostEstimate,
  events: z.array(PlanNote),
});
export type DryRunResponse = z.infer<typeof DryRunResponse>;


/** One prediction in a video's cost ledger: estimated when created, actual once it ended (failed and cancelled ones too). */
export const CostLedgerEntry = z.object({
  prediction_id: z.string(),
  job_id: z.string(),
  attempt: z.number().int(),
  phase: z.string(),
  model: z.string(),
  estimate_usd: z.number(),
  actual_usd: z.number().nullable(),
  /** The actual when known (counted in `cost_usd`), else the estimate (counted in `cost_pending_usd`). */
  usd: z.number(),
});
export type CostLedgerEntry = z.infer<typeof CostLedgerEntry>;

export const VideoResponse = z.object({
  video_id: z.string(),
  status: VideoStatus,
  current_phase: Phase,
  progress: z.number(),
  prompt: z.string(),
  final_video_url: z.string().nullable(),
  stitched_video_url: z.string().nullable(),
  cost_usd: SpentUsd,
  cost_pending_usd: PendingUsd,
  cost_estimate: CostEstimate.nullable(),
  cost_by_phase: z.record(z.string(), z.number()).describe("`cost_usd` by phase"),
  cost_ledger: z.array(CostLedgerEntry).optional().describe("one line per prediction: `cost_usd` is the sum of their `actual_usd`, `cost_pending_usd` of the `estimate_usd` of those without one"),
  generation_time_seconds: z.number().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  error: z.string().nullable(),
  spec: VideoSpec.nullable(),
  storyboard_images: z.array(z.string()),
  chunk_urls: z.array(z.string()),
  chunk_frame_urls: z.array(z.string().nullable()).describe("each finished chunk's last frame (PNG), in the order of `chunk_urls`: a still that stands for the clip"),
  poster_url: z.string().nullable().describe("once complete: a still of the ad for its player (the last chunk's last frame, PNG)"),
  reference_images: z.array(ReferenceImage),
  missing_references: z.array(MissingReference).describe("reference images that failed every attempt (the fallback image models included): the video went on without them, and its consistency context says so"),
  consistency_context: z.string().nullable(),
  consistency: ConsistencyReport.optional(),
  /** `draft` (the draft model server) or `standard` (the configured hosted models). */
  quality: z.enum(["draft", "standard"]),
  /** The draft this video was rendered from (`POST /api/video/{id}/render`), with the draft's spec; null otherwise. */
  rendered_from: z.string().nullable(),
  /** Videos rendered from this one, oldest first. */
  renders: z.array(z.string()),
  /** The ad's copy as planned, with the request's overrides: headline, offer, call to action, the voiceover script, the captions mode. */
  copy: AdCopy.nullable(),
  /** The WebVTT captions of the spoken lines, once the soundtrack is mixed (null without a voiceover or with `captions: none`). */
  captions_url: z.string().nullable(),
  /** The voice track alone (AAC), placed on the beats at its level in the mix, once the soundtrack is mixed. */
  voice_url: z.string().nullable(),
});
export type VideoResponse = z.infer<typeof VideoResponse>;

/**
 * `POST /api/video/{id}/render`: make the finished draft for real. The new video reuses the
 * draft's spec and brand assets (nothing is planned again) and is rendered at `quality`.
 */
export const RenderRequest = z
  .object({
    quality: z.literal("standard", { error: 'must be "standard" (a draft is rendered for real)' }),
    /** The estimate only: no video is created and nothing is spent. */
    dry_run: z.boolean().default(false),
    /** Refused (422) when the estimate is above it; the run stops before passing it. */
    max_cost_usd: GenerateRequest.shape.max_cost_usd,
    callback_url: GenerateRequest.shape.callback_url,
    /**
     * The real speech model's voice (MiniMax's `voice_id`, e.g. `Wise_Woman`). A draft's voice is
     * an espeak-ng language code no hosted model speaks, so it never carries over: without this
     * field the render speaks in the model's default voice.
     */
    voice: VoiceName.nullish(),
  })
  .strict();
export type RenderRequest = z.infer<typeof RenderRequest>;

/** What a render will cost, before anything is spent, and with which models' prices. */
export const RenderEstimate = z.object({
  rendered_from: z.string(),
  quality: z.literal("standard"),
  cost_estimate: CostEstimate,
  /** Predictions the video model will make (one per chunk of the spec at the real model's clip length). */
  chunks: z.number().int(),
});

export const RenderDryRunResponse = RenderEstimate.extend({ dry_run: z.literal(true), spec: VideoSpec });
export type RenderDryRunResponse = z.infer<typeof RenderDryRunResponse>;

export const RenderResponse = RenderEstimate.extend({ video_id: z.string(), status: z.literal("queued"), message: z.string() });
export type RenderResponse = z.infer<typeof RenderResponse>;

export type GenerateResponse = z.infer<typeof GenerateResponse>;

/** A video id in a path: a UUID issued by `POST /api/generate`. */
export const VideoId = z.uuid();

/** Every error answer has this shape; 422s name the offending field and list the first issues. */
export const ErrorResponse = z.object({
  error: z.string(),
  field: z.string().optional(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  /** Only on 500: the internal message, for bug reports. */
  detail: z.string().optional(),
  /** Only on 429: which limit was hit (`rate_limit`, `generate_rate_limit`, `concurrent_videos`), and when to try again. */
  limit: z.string().optional(),
  retry_after_seconds: z.number().optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

export const CancelResponse = z.object({
  video_id: z.string(),
  /** False when the video had already ended (answered with 409). */
  cancelled: z.boolean(),
  status: VideoStatus,
});
export type CancelResponse = z.infer<typeof CancelResponse>;

export const VideoListQuery = z.object({
  status: VideoStatus.optional().describe("Only videos with this status."),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("Page size."),
  cursor: z.coerce.number().int().positive().optional().describe("`next_cursor` of the previous page."),
});

/** One row of `GET /api/videos`: the D1 index, cheap to list (no signed URLs). */
export const VideoSummary = z.object({
  video_id: z.string(),
  status: VideoStatus,
  current_phase: Phase,
  progress: z.number(),
  prompt: z.string(),
  duration_s: z.number().int(),
  aspect_ratio: AspectRatio,
  archetype: z.string().nullable(),
  cost_usd: z.number(),
  cost_estimate_usd: z.number().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export type VideoSummary = z.infer<typeof VideoSummary>;

export const VideoList = z.object({
  videos: z.array(VideoSummary),
  next_cursor: z.string().nullable(),
});
export type VideoList = z.infer<typeof VideoList>;

export const HealthResponse = z.object({
  ok: z.boolean(),
  /** The provider standard videos render with (`draft` or `replicate`). */
  provider: z.string(),
  /** Whether `quality: "draft"` can be rendered here (a draft provider is configured beside the real one). */
  draft_provider: z.boolean(),
  /** Secrets the deployment lacks (answered with 503). */
  missing: z.array(z.string()).optional(),
  /**
   * Settings that would make real runs fail or degrade (a community model without its version,
   * an http PUBLIC_BASE_URL with Replicate…), each with the reason; answered with 503, and
   * `POST /api/generate` refuses standard videos while any is listed. Empty when none.
   */
  problems: z.array(z.object({ setting: z.string(), problem: z.string() })),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const CreateKeyRequest = z
  .object({
    tenant_id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _"),
    name: z.string().min(1).max(80).default("api key"),
  })
  .strict();

/** The key itself appears only here, once. */
export const CreatedApiKey = z.object({ id: z.string(), tenant_id: z.string(), name: z.string(), key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

export const ApiKeyInfo = z.object({ id: z.string(), tenant_id: z.string(), name: z.string(), created_at: z.string(), revoked_at: z.string().nullable() });
export const ApiKeyList = z.object({ keys: z.array(ApiKeyInfo) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;
export const RevokedApiKey = z.object({ id: z.string(), revoked: z.literal(true) });
export type RevokedApiKey = z.infer<typeof RevokedApiKey>;

export const MediaUploadResponse = z.object({ key: z.string(), size: z.number().int() });
export const WebhookReceipt = z.object({ ok: z.literal(true), accepted: z.boolean() });

/** `POST /api/video/{id}/beats/{n}/regenerate`: re-render one beat of a complete video, optionally with a new prompt. */
export const RegenerateBeatRequest = z
  .object({
    prompt: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters").optional(),
  })
  .strict();
export type RegenerateBeatRequest = z.infer<typeof RegenerateBeatRequest>;

export const RegenerateBeatResponse = z.object({
  video_id: z.string(),
  beat: z.number().int(),
  status: z.literal("processing"),
  /** Chunk numbers being rendered again. */
  chunks: z.array(z.number().int()),
  /** The beat's prompt as it is now used (sanitised). */
  prompt: z.string(),
});
export type RegenerateBeatResponse = z.infer<typeof RegenerateBeatResponse>;

/** The video's run answering a regeneration (its `regenerateBeat` RPC): the chunks it redoes, or why it refuses, as an HTTP status. */
export const RegenerateOutcome = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), chunks: z.array(z.number().int()), prompt: z.string() }),
  z.object({ ok: z.literal(false), status: z.union([z.literal(404), z.literal(409), z.literal(422)]), error: z.string(), field: z.string().optional() }),
]);
export type RegenerateOutcome = z.infer<typeof RegenerateOutcome>;

/**
 * The body POSTed to a video's `callback_url` when it ends, signed with Standard Webhooks
 * headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) under `CALLBACK_SECRET`.
 * `final_video_url` is a signed media URL (expires like every other).
 */
export const CallbackNotification = z.object({
  video_id: z.string(),
  status: EndStatus,
  final_video_url: z.string().nullable(),
  error: z.string().nullable(),
  cost_usd: z.number(),
});
export type CallbackNotification = z.infer<typeof CallbackNotification>;
