import { createRoute, z } from "@hono/zod-openapi";
import { type ErrorResponse, GenerateRequest, RenderDryRunResponse, RenderRequest, RenderResponse } from "../../../contracts/api.ts";
import type { LiveSnapshot } from "../../../contracts/live.ts";
import { sha256Hex } from "../../../contracts/signing.ts";
import { type Config, providerFor, videoConfig } from "../../config.ts";
import { priceSpec } from "../../planning/plan.ts";
import { generateLimit, tooManyVideos } from "../limits.ts";
import { API_KEY, apiResponses, errorResponse, jsonBodyWithin, jsonResponse, ownVideo, type RouteContext, retryAfterResponse, UNKNOWN_VIDEO, VideoPath, videoNotFound } from "../router.ts";
import { IdempotencyHeaders, idempotencyKeyOf, insertVideo, keyedVideo, overCostCap, startRefusal, startVideo } from "./generate.ts";

/** POST /api/video/{id}/render — a finished draft, rendered for real from the same spec. */

const MAX_BODY = 16 * 1024;

export const renderRoute = createRoute({
  method: "post",
  path: "/video/{id}/render",
  operationId: "renderVideo",
  tags: ["videos"],
  summary: "Render a draft for real",
  description:
    "Makes a new video from a complete draft's spec and brand assets at `quality: \"standard\"` (the configured hosted models): nothing is planned again, so the real render is the ad the draft previewed. The new video is linked both ways (`rendered_from` on it, `renders` on the draft). Its estimate, at the hosted models' list prices, comes first: with `dry_run: true` only the estimate is returned and nothing is spent; `max_cost_usd` below it is refused, and the run never spends past it.",
  security: API_KEY,
  // Whose video it is is settled first: another tenant's answers 404 whatever else the request holds.
  middleware: [ownVideo, jsonBodyWithin(MAX_BODY)] as const,
  request: {
    params: VideoPath,
    headers: IdempotencyHeaders,
    body: { description: "The quality to render at, and optionally a cost cap, a callback, or `dry_run`.", required: true, content: { "application/json": { schema: RenderRequest } } },
  },
  responses: apiResponses({
    200: jsonResponse(
      z.union([RenderDryRunResponse, RenderResponse]),
      "`dry_run`: the estimate and the spec it prices; nothing was created. Or a repeated `Idempotency-Key` with the same body: the render it already started.",
    ),
    202: jsonResponse(RenderResponse, "The standard video was started, with its estimate."),
    400: errorResponse("The body could not be read."),
    404: UNKNOWN_VIDEO,
    409: errorResponse("The video is not a complete draft (still running, failed or cancelled, or already a standard video)."),
    413: errorResponse("The body is larger than 16 KiB."),
    422: errorResponse("A field is invalid (`quality` other than `standard`, an unknown field, a bad `callback_url`), `max_cost_usd` is below the estimate, or the Idempotency-Key was used with another request; `field` names it."),
    429: retryAfterResponse(
      "Too many requests (`limit: rate_limit`), too many generate or render requests (`limit: generate_rate_limit`), or too many of the tenant's videos queued or processing (`limit: concurrent_videos`). Wait `retry_after_seconds`.",
    ),
    503: errorResponse("The deployment's model configuration has problems (`issues` lists them, as `GET /health` does), or the video could not be started; nothing was created that will run."),
  }),
});

/**
 * The voice a render speaks in: the one asked for, else the draft's when the standard videos'
 * speech model is the draft's, else the model's default (null). A draft's espeak-ng voice is a
 * language code no hosted model has; sending it would fail the render at its first line.
 */
export function renderVoice(config: Config, draftVoice: string | null, asked: string | null | undefined): string | null {
  if (asked) return asked;
  const draftSpeech = config.draft?.models.speech;
  return draftSpeech && providerFor(config, "standard").models.speech === draftSpeech ? draftVoice : null;
}

export async function renderVideo(c: RouteContext<typeof renderRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const config = c.get("config");
  const draft = (await c.get("run").snapshot()) as LiveSnapshot | null;
  if (!draft) return videoNotFound(c, id);
  if (draft.request.quality !== "draft") return c.json({ error: `video ${id} is already a ${draft.request.quality} video; only a draft is rendered for real` } satisfies ErrorResponse, 409);
  if (draft.status !== "complete" || !draft.spec) return c.json({ error: `video ${id} is ${draft.status}: a draft is rendered for real once it is complete` } satisfies ErrorResponse, 409);
  const voice = renderVoice(config, draft.spec.copy.voiceover.voice, body.voice);
  const refused = startRefusal(c, config, body, { name: voice, field: "voice" });
  if (refused) return refused;

  // The draft's request with its admitted brand assets (`asset:<id>`), at the new quality, and
  // its spec with the render's voice.
  const request = GenerateRequest.parse({
    ...draft.request,
    ...(draft.request.voiceover ? { voiceover: { ...draft.request.voiceover, voice } } : {}),
    quality: body.quality,
    dry_run: false,
    max_cost_usd: body.max_cost_usd ?? null,
    callback_url: body.callback_url ?? null,
  });
  const renderSpec = { ...draft.spec, copy: { ...draft.spec.copy, voiceover: { ...draft.spec.copy.voiceover, voice } } };
  const { spec, cost_estimate, chunks } = priceSpec(videoConfig(config, body.quality), request, renderSpec);
  const overCap = overCostCap(c, cost_estimate.total_usd, body.max_cost_usd);
  if (overCap) return overCap;
  const estimate = { rendered_from: id, quality: body.quality, cost_estimate, chunks };
  if (body.dry_run) return c.json({ dry_run: true, ...estimate, spec } satisfies RenderDryRunResponse, 200);

  const limited = await generateLimit(c);
  if (limited) return limited;
  // A retried render (a timeout, a lost answer) must not pay for the same ad twice. The key
  // covers the draft too: the request it hashes is the draft's own, at the new quality.
  const idempotencyKey = idempotencyKeyOf(c);
  const requestHash = await sha256Hex(JSON.stringify({ rendered_from: id, request }));
  const started = (videoId: string) => c.json({ video_id: videoId, status: "queued", message: `Draft ${id} is already rendering for this Idempotency-Key`, ...estimate } satisfies RenderResponse, 200);
  const keyed = await keyedVideo(c, idempotencyKey, requestHash);
  if (keyed instanceof Response) return keyed;
  if (keyed) return started(keyed);
  const videoId = crypto.randomUUID();
  const inserted = await insertVideo(c, { videoId, request, costEstimateUsd: cost_estimate.total_usd, idempotencyKey, requestHash, renderedFrom: id });
  if (!inserted) {
    const raced = await keyedVideo(c, idempotencyKey, requestHash);
    if (raced instanceof Response) return raced;
    return raced ? started(raced) : tooManyVideos(c);
  }
  const failed = await startVideo(c, { video_id: videoId, tenant_id: c.get("principal").tenantId, request, cost_estimate, spec: renderSpec });
  if (failed) return failed;
  return c.json({ video_id: videoId, status: "queued", message: `Rendering draft ${id} at ${body.quality} quality`, ...estimate } satisfies RenderResponse, 202);
}
