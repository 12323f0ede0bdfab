import { z } from "zod";
import {
  ApiKeyList,
  AssetUploadResponse,
  CallbackNotification,
  CancelResponse,
  CostEstimate,
  CreatedApiKey,
  CreateKeyRequest,
  ErrorResponse,
  GenerateRequest,
  GenerateResponse,
  HealthResponse,
  MediaUploadResponse,
  ReferenceImage,
  RegenerateBeatRequest,
  RegenerateBeatResponse,
  RevokedApiKey,
  StatusResponse,
  VideoId,
  VideoList,
  VideoListQuery,
  VideoResponse,
  WebhookReceipt,
} from "../../contracts/api.ts";
import { Prediction } from "../../contracts/prediction.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import { PlanEvent } from "../planning/request.ts";
import { JobView, LiveMessage, LiveSnapshot } from "../../contracts/live.ts";

/**
 * adreel's HTTP API as an OpenAPI 3.1 document, generated from the same zod schemas the
 * handlers parse and answer with, so the reference cannot drift from the code. This module
 * stays free of `cloudflare:*` imports: Node tests and tools build the document directly.
 */

/** `POST /api/generate` with `dry_run: true`: the plan and its estimate, nothing created. */
export const DryRunResponse = z.object({
  dry_run: z.literal(true),
  spec: VideoSpec,
  cost_estimate: CostEstimate,
  events: z.array(PlanEvent),
});
export type DryRunResponse = z.infer<typeof DryRunResponse>;

/**
 * Every frame type of the live socket is a component of its own (named by its schema's title),
 * so `LiveMessage` reads as a oneOf of them rather than one object with every field optional.
 */
const LIVE_FRAMES = LiveMessage.options.map((schema) => {
  const { title, description } = schema.meta() ?? {};
  if (!title) throw new Error("every LiveMessage variant needs a title (contracts/live.ts)");
  return { name: title, schema, io: "output" as const, description: description ?? title };
});

// ---------------------------------------------------------------- named schemas (components)

type Io = "input" | "output";

/** Every body a route accepts or answers is a named component, converted for its direction. */
const COMPONENTS: { name: string; schema: z.ZodType; io: Io; description: string }[] = [
  { name: "GenerateRequest", schema: GenerateRequest, io: "input", description: "What to make. Only `prompt` is required; defaults are shown." },
  { name: "CreateKeyRequest", schema: CreateKeyRequest, io: "input", description: "A new API key for a tenant (the tenant is created on first use)." },
  { name: "RegenerateBeatRequest", schema: RegenerateBeatRequest, io: "input", description: "A new prompt for the beat; omitted (or an empty body), the beat's prompt is kept." },
  { name: "Prediction", schema: Prediction, io: "input", description: "A Replicate prediction, as delivered by the provider's webhook." },
  { name: "GenerateResponse", schema: GenerateResponse, io: "output", description: "The video was accepted; follow it with the status, video or live routes." },
  { name: "DryRunResponse", schema: DryRunResponse, io: "output", description: "The plan and cost estimate for a `dry_run` request; no video was created." },
  { name: "StatusResponse", schema: StatusResponse, io: "output", description: "Where a video stands, cheap to poll." },
  { name: "VideoResponse", schema: VideoResponse, io: "output", description: "The whole record of a video, with signed media URLs." },
  { name: "VideoList", schema: VideoList, io: "output", description: "One page of the tenant's videos, newest first." },
  { name: "RegenerateBeatResponse", schema: RegenerateBeatResponse, io: "output", description: "The beat is being rendered again; follow the video as usual." },
  { name: "CallbackNotification", schema: CallbackNotification, io: "output", description: "Sent to a video's `callback_url` when it ends." },
  { name: "CancelResponse", schema: CancelResponse, io: "output", description: "Whether the video was cancelled by this request." },
  { name: "ErrorResponse", schema: ErrorResponse, io: "output", description: "Every error: `error` says what went wrong; 422s name the `field` and list `issues`." },
  { name: "HealthResponse", schema: HealthResponse, io: "output", description: "Whether the deployment has what it needs to run." },
  { name: "CreatedApiKey", schema: CreatedApiKey, io: "output", description: "A new API key; `key` is shown only once." },
  { name: "ApiKeyList", schema: ApiKeyList, io: "output", description: "API keys (never the keys themselves)." },
  { name: "RevokedApiKey", schema: RevokedApiKey, io: "output", description: "The key no longer authenticates." },
  { name: "AssetUploadResponse", schema: AssetUploadResponse, io: "output", description: "The stored brand image; put `ref` in `brand_assets`." },
  { name: "MediaUploadResponse", schema: MediaUploadResponse, io: "output", description: "The stored object." },
  { name: "WebhookReceipt", schema: WebhookReceipt, io: "output", description: "The delivery was verified; `accepted` is false for duplicates and stale updates." },
  { name: "LiveMessage", schema: LiveMessage, io: "output", description: "A frame of the live WebSocket: the snapshot first, then the run's events as they happen. Narrow on `type`." },
  ...LIVE_FRAMES,
  { name: "LiveSnapshot", schema: LiveSnapshot, io: "output", description: "The whole run as it stands. Ignore fields not described here." },
  { name: "JobView", schema: JobView, io: "output", description: "A job of the run: one unit of work (plan, a reference, a storyboard frame, a chunk, music, stitch, mux)." },
  { name: "VideoSpec", schema: VideoSpec, io: "output", description: "The plan every later phase reads: beats, timing in frames, transitions, music brief." },
  { name: "CostEstimate", schema: CostEstimate, io: "output", description: "Estimated cost in USD, in total and by phase." },
  { name: "ReferenceImage", schema: ReferenceImage, io: "output", description: "A reference image with its analysis." },
];

type JsonSchema = Record<string, unknown>;

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

function componentName(schema: z.ZodType): string {
  const found = COMPONENTS.find((c) => c.schema === schema);
  if (!found) throw new Error("a route uses a schema that is not a named component; add it to COMPONENTS");
  return found.name;
}

function convertComponents(io: Io): Record<string, JsonSchema> {
  const mine = COMPONENTS.filter((c) => c.io === io);
  const registry = z.registry<{ id: string }>();
  for (const c of mine) registry.add(c.schema, { id: c.name });
  const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io, unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` });
  // OpenAPI 3.1's dialect is 2020-12 already, and a fragment-only `$id` is not a valid base URI.
  return Object.fromEntries(mine.map((c) => {
    const { $schema: _s, $id: _i, ...schema } = schemas[c.name]!;
    return [c.name, { description: c.description, ...schema } as JsonSchema];
  }));
}

function inline(schema: z.ZodType): JsonSchema {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as JsonSchema;
  return json;
}

// ---------------------------------------------------------------- the route table

type Auth = "api_key" | "admin" | "none";

interface ParameterDoc {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  description: string;
  schema: z.ZodType;
}

interface ResponseDoc {
  description: string;
  /** A named component, or several (oneOf). */
  schema?: z.ZodType | z.ZodType[];
  /** Raw bytes of these media types, or an HTML page. */
  media?: string[];
  headers?: Record<string, string>;
}

export interface RouteDoc {
  method: "get" | "post" | "put" | "delete";
  /** The path as mounted in Hono (`:param`, a trailing `*`). */
  path: string;
  /** Name of the path parameter a trailing `*` stands for. */
  wildcard?: string;
  operationId: string;
  tag: string;
  summary: string;
  description: string;
  auth: Auth;
  parameters?: ParameterDoc[];
  /** A zod object whose fields are query parameters. */
  query?: z.ZodObject;
  /** A JSON body (a named component), raw bytes of these media types, or a multipart form with one file field. */
  body?: { schema?: z.ZodType; media?: string[]; multipartFile?: { field: string; types: string[] }; description: string; required?: boolean };
  responses: Record<number, ResponseDoc>;
  "x-websocket"?: { client: string; server: z.ZodType };
}

const error = (description: string): ResponseDoc => ({ description, schema: ErrorResponse });
const unauthorized = error("No API key, or a revoked or unknown one.");
const videoIdParam: ParameterDoc = { name: "id", in: "path", required: true, description: "The video id from `POST /api/generate`.", schema: VideoId };
const unknownVideo = error("No such video for this tenant (another tenant's video is equally unknown).");
const signedQuery = (access: "get" | "put"): ParameterDoc[] => [
  { name: "access", in: "query", required: true, description: `Must be \`${access}\`: a URL signed for one access cannot be used for the other.`, schema: z.literal(access) },
  { name: "expires", in: "query", required: true, description: "Unix time (seconds) after which the URL is refused.", schema: z.number().int() },
  { name: "sig", in: "query", required: true, description: "Hex HMAC-SHA256 of access, key and expiry, by the Worker's media signing secret.", schema: z.string().regex(/^[0-9a-f]{64}$/) },
];
const mediaKeyParam: ParameterDoc = { name: "key", in: "path", required: true, description: "The object key, e.g. `videos/<id>/final.mp4` (it contains `/`; take the URL as given).", schema: z.string() };

const rateLimited: ResponseDoc = {
  description: "Too many requests: the key's per-minute request limit (`limit: rate_limit`). Wait `retry_after_seconds` (also the `Retry-After` header).",
  schema: ErrorResponse,
  headers: { "retry-after": "Seconds to wait." },
};

/** Every /api route runs behind the per-key rate limit, so each can answer 429. */
function withRateLimit(route: RouteDoc): RouteDoc {
  return route.auth === "api_key" ? { ...route, responses: { 429: rateLimited, ...route.responses } } : route;
}

const DOCUMENTED: RouteDoc[] = [
  {
    method: "post",
    path: "/api/generate",
    operationId: "generateVideo",
    tag: "videos",
    summary: "Start a video ad",
    description:
      "Validates the request, plans it with the local planner to estimate its cost, and starts the video. The pipeline runs asynchronously: planning → 3 reference images → storyboard → chunks → stitching → music. With `dry_run: true` only the plan and estimate are returned. A repeated `Idempotency-Key` with the same body returns the first video instead of starting another.",
    auth: "api_key",
    parameters: [{ name: "Idempotency-Key", in: "header", description: "Makes retries safe: the same key and body start one video only; the same key with another body is refused (422).", schema: z.string().max(200) }],
    body: { schema: GenerateRequest, description: "The ad to make.", required: true },
    responses: {
      200: { description: "Started (or planned only, for `dry_run`).", schema: [GenerateResponse, DryRunResponse] },
      400: error("The body could not be read."),
      401: unauthorized,
      413: error("The body is larger than 64 KiB."),
      429: { ...error("Too many requests (`limit: rate_limit`), too many generate requests (`limit: generate_rate_limit`), or too many of the tenant's videos queued or processing at once (`limit: concurrent_videos`). Wait `retry_after_seconds` (also the `Retry-After` header)."), headers: { "retry-after": "Seconds to wait." } },
      422: error("A field is invalid, the body is not JSON, `max_cost_usd` is below the estimate, a brand asset cannot be used (not an image, too large, not fetchable), or the Idempotency-Key was used with another body. `field` names it."),
      503: error("The video could not be started, or its brand assets cannot be checked right now; nothing was created that will run. Try again."),
    },
  },
  {
    method: "post",
    path: "/api/assets",
    operationId: "uploadAsset",
    tag: "videos",
    summary: "Upload a brand image",
    description: "Stores a brand image (PNG, JPEG or WebP, at most 15 MB) for the tenant after decoding and checking it; it is kept as PNG without metadata. Use the answer's `ref` (`asset:<id>`) in `brand_assets` of `POST /api/generate`.",
    auth: "api_key",
    body: { media: ["image/png", "image/jpeg", "image/webp"], multipartFile: { field: "file", types: ["image/png", "image/jpeg", "image/webp"] }, description: "The image: raw bytes with its image content type, or a multipart form with the image in the field `file`.", required: true },
    responses: {
      201: { description: "Stored.", schema: AssetUploadResponse },
      400: error("The body could not be read."),
      401: unauthorized,
      413: error("Larger than 15 MB."),
      415: error("Neither an image content type nor multipart/form-data."),
      422: error("Empty, not a valid image, or no `file` field; `field` names it."),
      503: error("The image cannot be checked right now; try again."),
    },
  },
  {
    method: "get",
    path: "/api/status/:id",
    operationId: "getStatus",
    tag: "videos",
    summary: "A video's status",
    description: "Status, phase, progress (0–100, never decreasing), estimated seconds remaining, cost so far and the error of a failed video. For live updates without polling, use the WebSocket route.",
    auth: "api_key",
    parameters: [videoIdParam],
    responses: { 200: { description: "The status.", schema: StatusResponse }, 401: unauthorized, 404: unknownVideo },
  },
  {
    method: "get",
    path: "/api/video/:id",
    operationId: "getVideo",
    tag: "videos",
    summary: "A video's full record",
    description: "Everything about a video: its spec, reference images with their analysis, storyboard frames, the chunks generated so far, the final MP4, cost by phase and timings. Media URLs are signed and expire (see the media routes).",
    auth: "api_key",
    parameters: [videoIdParam],
    responses: { 200: { description: "The record.", schema: VideoResponse }, 401: unauthorized, 404: unknownVideo },
  },
  {
    method: "post",
    path: "/api/video/:id/cancel",
    operationId: "cancelVideo",
    tag: "videos",
    summary: "Cancel a video",
    description: "Stops a queued or running video; predictions already paid for keep their cost.",
    auth: "api_key",
    parameters: [videoIdParam],
    responses: {
      200: { description: "Cancelled.", schema: CancelResponse },
      401: unauthorized,
      404: unknownVideo,
      409: { description: "The video had already ended (`cancelled: false`, `status` says how).", schema: CancelResponse },
    },
  },
  {
    method: "get",
    path: "/api/video/:id/live",
    operationId: "watchVideo",
    tag: "live",
    summary: "Follow a video live (WebSocket)",
    description:
      "Open with `GET` and `Upgrade: websocket`. Browsers cannot set headers on a WebSocket, so the key may be passed as `access_token` in the query. The first frame is always `{type: \"snapshot\", snapshot}` with the whole run; then every event follows as it happens: `phase`, `progress` (with `cost_usd` and `estimated_time_remaining`), `job` (a job changed status; a finished chunk, storyboard frame or reference carries a signed `preview_url`), `spec`, `reference_images_ready` (\"Using these 3 reference images…\", with the images), `warning`, and finally `complete` (with `final_video_url`), `failed` or `cancelled`. After a dropped connection, reconnect with `since` = the last `id` received to replay what was missed. Send the text `ping` to get `pong` (keep-alive).",
    auth: "api_key",
    parameters: [
      videoIdParam,
      { name: "Upgrade", in: "header", required: true, description: "Must be `websocket`.", schema: z.literal("websocket") },
      { name: "since", in: "query", description: "Replay the events after this id (after the snapshot).", schema: z.number().int().min(0).default(0) },
    ],
    responses: {
      101: { description: "Switching protocols: the socket is open. Server frames are JSON text, each a `LiveMessage`." },
      401: unauthorized,
      404: unknownVideo,
      426: error("The request was not a WebSocket upgrade."),
    },
    "x-websocket": { client: "the text `ping` (answered with `pong`)", server: LiveMessage },
  },
  {
    method: "post",
    path: "/api/video/:id/beats/:n/regenerate",
    operationId: "regenerateBeat",
    tag: "videos",
    summary: "Regenerate one beat",
    description: "Renders one beat of a complete video again (its chunks, then stitching and music), optionally with a new prompt, keeping everything else. The video is processing again until it completes, and counts against the tenant's concurrent-video limit.",
    auth: "api_key",
    parameters: [videoIdParam, { name: "n", in: "path", required: true, description: "The beat's index in the spec (0-based).", schema: z.number().int().min(0).max(999) }],
    body: { schema: RegenerateBeatRequest, description: "Optional: a new prompt (send `application/json`).", required: false },
    responses: {
      202: { description: "Regenerating.", schema: RegenerateBeatResponse },
      400: error("The body could not be read."),
      401: unauthorized,
      404: unknownVideo,
      409: error("The video is not complete."),
      413: error("The body is larger than 16 KiB."),
      422: error("No such beat, or an unusable prompt; `field` names it."),
      429: { ...error("Too many requests (`limit: rate_limit`) or too many of the tenant's videos in progress (`limit: concurrent_videos`). Wait `retry_after_seconds` (also the `Retry-After` header)."), headers: { "retry-after": "Seconds to wait." } },
    },
  },
  {
    method: "get",
    path: "/api/videos",
    operationId: "listVideos",
    tag: "videos",
    summary: "List videos",
    description: "The tenant's videos, newest first, optionally of one status. Pass `next_cursor` as `cursor` for the next page.",
    auth: "api_key",
    query: VideoListQuery,
    responses: { 200: { description: "One page.", schema: VideoList }, 401: unauthorized, 422: error("A query parameter is invalid; `field` names it.") },
  },
  {
    method: "post",
    path: "/webhooks/replicate",
    operationId: "receivePredictionWebhook",
    tag: "webhooks",
    summary: "Prediction webhook (called by the model provider)",
    description:
      "Where Replicate (or the local draft model server) reports prediction progress. Signed with the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`, HMAC-SHA256 by the webhook secret); unsigned, forged, stale and duplicate deliveries change nothing. The URL, set by adreel when it creates the prediction, names the video, job and attempt.",
    auth: "none",
    parameters: [
      { name: "video", in: "query", required: true, description: "The video id.", schema: z.string() },
      { name: "job", in: "query", required: true, description: "The job within the video, e.g. `chunk:003`.", schema: z.string() },
      { name: "attempt", in: "query", required: true, description: "The job's attempt the prediction belongs to.", schema: z.number().int().min(1) },
      { name: "webhook-id", in: "header", required: true, description: "Unique delivery id.", schema: z.string() },
      { name: "webhook-timestamp", in: "header", required: true, description: "Unix seconds; deliveries older than 5 minutes are refused.", schema: z.string() },
      { name: "webhook-signature", in: "header", required: true, description: "`v1,<base64 signature>` (several separated by spaces).", schema: z.string() },
    ],
    body: { schema: Prediction, description: "The prediction.", required: true },
    responses: {
      200: { description: "Verified.", schema: WebhookReceipt },
      400: error("The URL does not name video, job and attempt, or the body is not a prediction."),
      401: error("Missing, invalid or stale signature."),
      413: error("The body is larger than 1 MiB."),
    },
  },
  {
    method: "get",
    path: "/media/*",
    wildcard: "key",
    operationId: "getMedia",
    tag: "media",
    summary: "Download media (signed URL)",
    description: "Serves an object (final and intermediate videos, images, music) by a signed, expiring URL as returned by the API; no API key needed. Supports `Range` requests, so videos stream and seek.",
    auth: "none",
    parameters: [mediaKeyParam, ...signedQuery("get"), { name: "Range", in: "header", description: "`bytes=start-end`, `bytes=start-` or `bytes=-suffix`.", schema: z.string() }],
    responses: {
      200: { description: "The whole object.", media: ["video/mp4", "image/png", "image/jpeg", "audio/mp4", "audio/wav", "application/octet-stream"], headers: { "accept-ranges": "bytes", etag: "The object's ETag." } },
      206: { description: "The requested range.", media: ["video/mp4", "audio/mp4", "application/octet-stream"], headers: { "content-range": "bytes start-end/size" } },
      400: error("A malformed key."),
      401: error("Missing or malformed signature."),
      403: error("Invalid or expired signature."),
      404: error("No such object."),
      416: { description: "The range is outside the object (`content-range: bytes */size`)." },
    },
  },
  {
    method: "put",
    path: "/media/*",
    wildcard: "key",
    operationId: "putMedia",
    tag: "media",
    summary: "Upload media (signed URL)",
    description: "Stores an object by a signed URL of access `put`; media-node and providers write their outputs this way, so no storage credentials leave the Worker. `Content-Length` is required.",
    auth: "none",
    parameters: [mediaKeyParam, ...signedQuery("put")],
    body: { media: ["application/octet-stream"], description: "The object's bytes (at most 1 GiB).", required: true },
    responses: {
      201: { description: "Stored.", schema: MediaUploadResponse },
      400: error("A malformed key or an empty body."),
      401: error("Missing or malformed signature."),
      403: error("Invalid or expired signature."),
      411: error("Content-Length is missing."),
      413: error("Larger than 1 GiB."),
    },
  },
  {
    method: "post",
    path: "/admin/keys",
    operationId: "createApiKey",
    tag: "admin",
    summary: "Create an API key",
    description: "Creates a key for a tenant (and the tenant, on first use). The key is returned only here. Needs the admin token (`ADMIN_TOKEN`).",
    auth: "admin",
    body: { schema: CreateKeyRequest, description: "Whose key.", required: true },
    responses: { 201: { description: "Created.", schema: CreatedApiKey }, 401: error("Not the admin token."), 413: error("The body is larger than 4 KiB."), 422: error("A field is invalid; `field` names it.") },
  },
  {
    method: "get",
    path: "/admin/keys",
    operationId: "listApiKeys",
    tag: "admin",
    summary: "List API keys",
    description: "All keys, or one tenant's. Needs the admin token.",
    auth: "admin",
    parameters: [{ name: "tenant_id", in: "query", description: "Only this tenant's keys.", schema: z.string() }],
    responses: { 200: { description: "The keys.", schema: ApiKeyList }, 401: error("Not the admin token.") },
  },
  {
    method: "delete",
    path: "/admin/keys/:id",
    operationId: "revokeApiKey",
    tag: "admin",
    summary: "Revoke an API key",
    description: "The key stops authenticating at once. Needs the admin token.",
    auth: "admin",
    parameters: [{ name: "id", in: "path", required: true, description: "The key's id (`key_…`), not the key.", schema: z.string() }],
    responses: { 200: { description: "Revoked.", schema: RevokedApiKey }, 401: error("Not the admin token."), 404: error("No active key with that id.") },
  },
  {
    method: "get",
    path: "/health",
    operationId: "health",
    tag: "meta",
    summary: "Health",
    description: "Whether the deployment has its secrets, and which model provider it uses.",
    auth: "none",
    responses: { 200: { description: "Ready.", schema: HealthResponse }, 503: { description: "Secrets are missing (listed in `missing`).", schema: HealthResponse } },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "openApiDocument",
    tag: "meta",
    summary: "This document",
    description: "The OpenAPI 3.1 description of the API, generated from the schemas the handlers use.",
    auth: "none",
    responses: { 200: { description: "The document.", media: ["application/json"] } },
  },
  {
    method: "get",
    path: "/docs",
    operationId: "apiReference",
    tag: "meta",
    summary: "API reference page",
    description: "A browsable rendering of this document.",
    auth: "none",
    responses: { 200: { description: "An HTML page.", media: ["text/html"] } },
  },
];

/** Every route the app serves, as documented (the Worker test holds the two equal). */
export const ROUTES: RouteDoc[] = DOCUMENTED.map(withRateLimit);

/** `/api/video/:id/cancel` → `/api/video/{id}/cancel`; a trailing `*` becomes the route's wildcard parameter. */
export function openApiPath(route: Pick<RouteDoc, "path" | "wildcard">): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\/\*$/, `/{${route.wildcard ?? "path"}}`);
}

// ---------------------------------------------------------------- the document

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  api_key: [{ apiKey: [] }, { accessToken: [] }],
  admin: [{ adminToken: [] }],
  none: [],
};

function parameter(p: ParameterDoc): JsonSchema {
  const required = p.in === "path" || p.required === true;
  return { name: p.name, in: p.in, required, description: p.description, schema: inline(p.schema) };
}

function queryParameters(query: z.ZodObject): JsonSchema[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const schema = field as z.ZodType;
    const required = !schema.safeParse(undefined).success;
    return { name, in: "query", required, ...(schema.description ? { description: schema.description } : {}), schema: inline(schema) };
  });
}

function content(response: ResponseDoc): JsonSchema | undefined {
  if (response.schema) {
    const schemas = Array.isArray(response.schema) ? response.schema : [response.schema];
    const refs = schemas.map((s) => ref(componentName(s)));
    return { "application/json": { schema: refs.length === 1 ? refs[0] : { oneOf: refs } } };
  }
  if (response.media) {
    return Object.fromEntries(response.media.map((m) => [m, { schema: m === "application/json" ? { type: "object" } : m === "text/html" ? { type: "string" } : { type: "string", contentMediaType: m } }]));
  }
  return undefined;
}

function requestContent(body: NonNullable<RouteDoc["body"]>): JsonSchema {
  const content: JsonSchema = {};
  if (body.schema) content["application/json"] = { schema: ref(componentName(body.schema)) };
  for (const media of body.media ?? []) content[media] = { schema: { type: "string", contentMediaType: media } };
  if (body.multipartFile) {
    const { field, types } = body.multipartFile;
    content["multipart/form-data"] = {
      schema: { type: "object", properties: { [field]: { type: "string", contentMediaType: "application/octet-stream" } }, required: [field] },
      encoding: { [field]: { contentType: types.join(", ") } },
    };
  }
  return content;
}

function operation(route: RouteDoc): JsonSchema {
  const parameters = [...(route.parameters ?? []).map(parameter), ...(route.query ? queryParameters(route.query) : [])];
  const body = route.body;
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    security: SECURITY[route.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            description: body.description,
            required: body.required ?? false,
            content: requestContent(body),
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, response]) => {
        const body = content(response);
        const headers = response.headers ? Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }])) : undefined;
        return [status, { description: response.description, ...(headers ? { headers } : {}), ...(body ? { content: body } : {}) }];
      }),
    ),
    ...(route["x-websocket"] ? { "x-websocket": { client: route["x-websocket"].client, server: ref(componentName(route["x-websocket"].server)) } } : {}),
  };
}

export interface OpenApiOptions {
  /** The API's origin, e.g. `https://adreel.example.com`; omitted, the document names no server. */
  serverUrl?: string;
  version?: string;
}

/** The OpenAPI 3.1 document for `ROUTES`. Pure: the same input gives the same document. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of ROUTES) {
    const path = openApiPath(route);
    paths[path] ??= {};
    if (paths[path][route.method]) throw new Error(`${route.method.toUpperCase()} ${path} is documented twice`);
    paths[path][route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "adreel API",
      version: options.version ?? "0.1.0",
      summary: "A prompt in, a finished video ad out.",
      description:
        "adreel turns a text prompt (and optional brand assets) into a finished video ad: plan → 3 reference images → storyboard → video chunks → stitched with transitions → music → final MP4 (H.264 + AAC, 24 fps). Start a video with `POST /api/generate`, follow it over the live WebSocket (or poll its status), then download the final MP4 from its signed URL.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: [
      { name: "videos", description: "Start, inspect, list and cancel videos." },
      { name: "live", description: "Live progress over a WebSocket." },
      { name: "media", description: "Signed, expiring media URLs." },
      { name: "webhooks", description: "Called by the model provider." },
      { name: "admin", description: "API keys (admin token)." },
      { name: "meta", description: "Health and this reference." },
    ],
    paths,
    webhooks: {
      videoEnded: {
        post: {
          operationId: "videoEnded",
          summary: "A video ended (sent to its callback_url)",
          description:
            "When a video given a `callback_url` completes, fails or is cancelled, adreel POSTs this to that URL, signed with the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 under the deployment's `CALLBACK_SECRET`). Answer 2xx within 10 s; anything else is retried with growing delays (5 s, 20 s, 80 s, …) a bounded number of times, with the same `webhook-id`, so deduplicate on it.",
          parameters: ["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => ({ name, in: "header", required: true, schema: { type: "string" } })),
          requestBody: { required: true, content: { "application/json": { schema: ref("CallbackNotification") } } },
          responses: { 200: { description: "Received." } },
        },
      },
    },
    components: {
      schemas: { ...convertComponents("input"), ...convertComponents("output") },
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key (`adr_…`) as `Authorization: Bearer <key>`." },
        accessToken: { type: "apiKey", in: "query", name: "access_token", description: "The same API key in the query, for clients that cannot set headers (browser WebSockets)." },
        adminToken: { type: "http", scheme: "bearer", description: "The deployment's `ADMIN_TOKEN` secret." },
      },
    },
  };
}

/** The `/docs` page: a shell that loads the renderer (`public/docs.js`) and this document. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>adreel API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs.css">
</head>
<body>
  <noscript>This page renders <a href="/openapi.json">/openapi.json</a> with JavaScript.</noscript>
  <div id="reference" data-spec="/openapi.json"></div>
  <script type="module" src="/docs.js"></script>
</body>
</html>
`;
}

const served = new Map<string, JsonSchema>();

/** The document for `/openapi.json`, built once per server URL and isolate. */
export function servedOpenApiDocument(serverUrl: string): JsonSchema {
  let document = served.get(serverUrl);
  if (!document) served.set(serverUrl, (document = buildOpenApiDocument({ serverUrl })));
  return document;
}
