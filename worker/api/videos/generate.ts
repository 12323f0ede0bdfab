import { createRoute, z } from "@hono/zod-openapi";
import { drizzle } from "drizzle-orm/d1";
import { and, eq } from "drizzle-orm";
import { DryRunResponse, type ErrorResponse, GenerateRequest, GenerateResponse } from "../../../contracts/api.ts";
import { sha256Hex } from "../../../contracts/signing.ts";
import { type AppContext, invalid, type VideoRunStub } from "../../app.ts";
import { type Config, providerFor, type Quality, qualityProblems, videoConfig } from "../../config.ts";
import { videos } from "../../db/schema.ts";
import { planVideo } from "../../planning/plan.ts";
import { speechVoiceProblem } from "../../providers/models/speech.ts";
import { admitBrandAssets, assetStore } from "../../references/assets.ts";
import { generateLimit, tooManyVideos, underConcurrencyCap } from "../limits.ts";
import { API_KEY, apiResponses, errorResponse, jsonBodyWithin, OUTAGE_RETRY_AFTER_SECONDS, type RouteContext, retryAfterResponse, STORAGE_UNAVAILABLE_MESSAGE } from "../router.ts";

/** POST /api/generate — validate, estimate, admit, and hand the video to its Durable Object. */

const MAX_BODY = 64 * 1024;

/** The header that makes a retried start safe, on every route that starts a video (generate, render). */
export const IdempotencyHeaders = z.object({
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi({ param: { description: "Makes retries safe: the same key and body start one video only; the same key with another body is refused (422). At most 200 characters are used." } }),
});

export const generateRoute = createRoute({
  method: "post",
  path: "/generate",
  operationId: "generateVideo",
  tags: ["videos"],
  summary: "Start a video ad",
  description:
    "Validates the request, plans it with the local planner to estimate its cost, and starts the video. The pipeline runs asynchronously: planning → 3 reference images → storyboard → chunks → stitching → music. With `dry_run: true` only the plan and estimate are returned. A repeated `Idempotency-Key` with the same body returns the first video instead of starting another.",
  security: API_KEY,
  middleware: [jsonBodyWithin(MAX_BODY)] as const,
  request: {
    headers: IdempotencyHeaders,
    body: { description: "The ad to make.", required: true, content: { "application/json": { schema: GenerateRequest } } },
  },
  responses: apiResponses({
    200: { description: "Started (or planned only, for `dry_run`).", content: { "application/json": { schema: z.union([GenerateResponse, DryRunResponse]) } } },
    400: errorResponse("The body could not be read."),
    413: errorResponse("The body is larger than 64 KiB."),
    429: retryAfterResponse(
      "Too many requests (`limit: rate_limit`), too many generate requests (`limit: generate_rate_limit`), or too many of the tenant's videos queued or processing at once (`limit: concurrent_videos`). Wait `retry_after_seconds` (also the `Retry-After` header).",
    ),
    422: errorResponse(
      "A field is invalid, the body is not JSON, `max_cost_usd` is below the estimate, a brand asset cannot be used (not an image, too large, not fetchable), the Idempotency-Key was used with another body, or `quality: \"draft\"` on a deployment without a draft provider (`issues` names `DRAFT_PROVIDER_URL`). `field` names it.",
    ),
    500: errorResponse("A brand asset could not be checked through a fault of ours (media-node refused the request we built, not the asset); `field` names it."),
    503: errorResponse(
      "The video could not be started, or its brand assets cannot be checked right now (media-node unavailable: `field` names the first asset, with `Retry-After`; our media storage failing: said so, with `Retry-After` and no `field`); nothing was created that will run. Try again. Or `quality: \"standard\"` while the deployment's model configuration has problems (`field: quality`, `issues` lists each setting and its problem, as `GET /health` does): the operator's to fix.",
    ),
  }),
});

/**
 * What refuses a new video before anything is planned, for generate and render alike: a
 * `callback_url` it may not call (422), a `quality` this deployment cannot make
 * (qualityProblems: 422 naming the setting for a draft, 503 listing the problems for a standard
 * video), or a voice the quality's speech model cannot speak (422 on `voice.field`). Null when
 * none does.
 */
export function startRefusal(
  c: AppContext,
  config: Config,
  request: { quality: Quality; callback_url?: string | null },
  voice?: { name: string | null | undefined; field: string },
): Response | null {
  if (request.callback_url) {
    const problem = callbackUrlProblem(request.callback_url, config.allowHttpCallbacks);
    if (problem) return invalid(c, { field: "callback_url", message: problem });
  }
  const refusal = qualityProblems(config, request.quality);
  if (refusal) {
    const issues = refusal.problems.map((p) => ({ field: p.setting, message: p.problem }));
    return c.json({ error: refusal.error, field: "quality", issues } satisfies ErrorResponse, refusal.status);
  }
  const voiceProblem = voice?.name ? speechVoiceProblem(providerFor(config, request.quality).models.speech ?? "", voice.name) : null;
  return voiceProblem ? invalid(c, { field: voice!.field, message: voiceProblem }) : null;
}

/** A 422 when the estimate is above the request's `max_cost_usd`, else null. */
export function overCostCap(c: AppContext, estimateUsd: number, maxCostUsd: number | null | undefined): Response | null {
  if (!maxCostUsd || estimateUsd <= maxCostUsd) return null;
  return invalid(c, { field: "max_cost_usd", message: `the estimated cost is $${estimateUsd.toFixed(2)}, above max_cost_usd $${maxCostUsd.toFixed(2)}` });
}

/** Why `url` may not be a callback target, or null when it may. */
export function callbackUrlProblem(url: string, allowHttp: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an https: URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials";
  if (parsed.protocol === "https:") return null;
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol === "http:" && allowHttp && loopback) return null;
  return allowHttp ? "must be an https: URL (plain http only to 127.0.0.1 or localhost)" : "must be an https: URL";
}

export async function generate(c: RouteContext<typeof generateRoute>): Promise<Response> {
  const config = c.get("config");
  const principal = c.get("principal");
  const request = c.req.valid("json");
  const refused = startRefusal(c, config, request, { name: request.voiceover?.voice, field: "voiceover.voice" });
  if (refused) return refused;
  const limited = await generateLimit(c);
  if (limited) return limited;

  // The admission estimate always comes from the local planner: instant and deterministic;
  // priced at the models of the video's quality.
  const plan = await planVideo({ ...videoConfig(config, request.quality), planner: "local" }, request);
  const overCap = overCostCap(c, plan.cost_estimate.total_usd, request.max_cost_usd);
  if (overCap) return overCap;
  if (request.dry_run) return c.json({ dry_run: true, spec: plan.spec, cost_estimate: plan.cost_estimate, events: plan.events } satisfies DryRunResponse);

  const idempotencyKey = idempotencyKeyOf(c);
  const requestHash = await sha256Hex(JSON.stringify(request));
  const started = (videoId: string) => c.json({ video_id: videoId, status: "queued", message: "Video generation already started for this Idempotency-Key" } satisfies GenerateResponse);
  const keyed = await keyedVideo(c, idempotencyKey, requestHash);
  if (keyed instanceof Response) return keyed;
  if (keyed) return started(keyed);

  // Brand assets are fetched and validated now, before the video exists, and the run only
  // ever sees the stored copies (`asset:<id>`). A dry run does not touch them.
  if (request.brand_assets) {
    const admission = await admitBrandAssets(assetStore(c.env, config), principal.tenantId, request.brand_assets);
    if (!admission.ok) {
      if ("storage" in admission) {
        // Said as the router says R2 failing the Worker itself (api/routes.ts): one outage, one answer, whichever side met it.
        c.header("retry-after", String(admission.retryAfterSeconds ?? OUTAGE_RETRY_AFTER_SECONDS));
        return c.json({ error: STORAGE_UNAVAILABLE_MESSAGE } satisfies ErrorResponse, 503);
      }
      if (admission.status === 422) return invalid(c, { field: admission.field, message: admission.message });
      // Media-node unreachable or busy: the client is told when to try again, as for every outage of ours.
      if (admission.status === 503) c.header("retry-after", String(admission.retryAfterSeconds ?? OUTAGE_RETRY_AFTER_SECONDS));
      return c.json({ error: admission.message, field: admission.field } satisfies ErrorResponse, admission.status);
    }
    request.brand_assets = admission.brandAssets;
  }

  const videoId = crypto.randomUUID();
  const inserted = await insertVideo(c, { videoId, request, costEstimateUsd: plan.cost_estimate.total_usd, idempotencyKey, requestHash, renderedFrom: null });
  if (!inserted) {
    const raced = await keyedVideo(c, idempotencyKey, requestHash);
    if (raced instanceof Response) return raced;
    return raced ? started(raced) : tooManyVideos(c);
  }
  const failed = await startVideo(c, { video_id: videoId, tenant_id: principal.tenantId, request, cost_estimate: plan.cost_estimate });
  if (failed) return failed;
  return c.json({ video_id: videoId, status: "queued", message: "Video generation started" } satisfies GenerateResponse);
}

/** The request's Idempotency-Key, or null. */
export const idempotencyKeyOf = (c: AppContext): string | null => c.req.header("idempotency-key")?.slice(0, 200) || null;

/**
 * What an Idempotency-Key already started for this tenant: the video's id when the request is
 * the same, a 422 when it is another; null for a new key, or none.
 */
export async function keyedVideo(c: AppContext, key: string | null, requestHash: string): Promise<string | Response | null> {
  if (!key) return null;
  const [found] = await drizzle(c.env.DB)
    .select({ id: videos.id, hash: videos.requestHash })
    .from(videos)
    .where(and(eq(videos.tenantId, c.get("principal").tenantId), eq(videos.idempotencyKey, key)))
    .limit(1);
  if (!found) return null;
  return found.hash === requestHash ? found.id : invalid(c, { field: "Idempotency-Key", message: "was already used with a different request body" });
}

/**
 * The video's index row, taking one of the tenant's slots. One statement, so concurrent requests
 * cannot both pass the tenant's cap (D1 runs each statement atomically), nor create two videos
 * for one Idempotency-Key. False: not inserted (over the cap, or the key was taken meanwhile).
 */
export async function insertVideo(
  c: AppContext,
  video: { videoId: string; request: GenerateRequest; costEstimateUsd: number; idempotencyKey: string | null; requestHash: string; renderedFrom: string | null },
): Promise<boolean> {
  const { request } = video;
  const inserted = await c.env.DB.prepare(
    `INSERT INTO videos (id, tenant_id, status, current_phase, progress, prompt, duration_s, aspect_ratio, quality, cost_estimate_usd, idempotency_key, request_hash, created_at, updated_at, rendered_from)
     SELECT ?1, ?2, 'queued', 'queued', 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?12
     WHERE ${underConcurrencyCap("?2", "?11")}
       AND (?8 IS NULL OR NOT EXISTS (SELECT 1 FROM videos WHERE tenant_id = ?2 AND idempotency_key = ?8))`,
  )
    .bind(video.videoId, c.get("principal").tenantId, request.prompt, request.duration_s, request.aspect_ratio, request.quality, video.costEstimateUsd, video.idempotencyKey, video.requestHash, Date.now(), c.get("config").maxConcurrentVideos, video.renderedFrom)
    .run();
  return inserted.meta.changes === 1;
}

/** Hand the video to its Durable Object; a 503 (and the index row marked failed) when that fails, else null. */
export async function startVideo(c: AppContext, input: Parameters<VideoRunStub["start"]>[0]): Promise<Response | null> {
  try {
    await c.env.VIDEO_RUN.get(c.env.VIDEO_RUN.idFromName(input.video_id)).start(input);
    return null;
  } catch (error) {
    // Never leave an index row that nothing will ever move.
    await drizzle(c.env.DB).update(videos).set({ status: "failed", currentPhase: "failed", error: `could not start: ${(error as Error).message}`, updatedAt: Date.now() }).where(eq(videos.id, input.video_id));
    return c.json({ error: "the video could not be started; try again" } satisfies ErrorResponse, 503);
  }
}
