import { zodToOpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { registry as zRegistry, toJSONSchema, type z } from "zod";
import {
  ApiKeyList,
  AssetUploadResponse,
  CallbackNotification,
  CancelResponse,
  CostEstimate,
  CreatedApiKey,
  CreateKeyRequest,
  DryRunResponse,
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
  VideoList,
  VideoResponse,
  WebhookReceipt,
} from "../../contracts/api.ts";
import { JobView, LiveMessage, LiveSnapshot } from "../../contracts/live.ts";
import { Prediction } from "../../contracts/prediction.ts";
import { VideoSpec } from "../../contracts/spec.ts";

/**
 * The contract schemas the OpenAPI document names, each with what it is for. A named schema is
 * one component, referred to by name wherever a route or another schema uses it, instead of
 * being written out at every use. The schemas themselves stay plain zod in contracts/: the
 * names are kept in the generator's own registry, so nothing else that reads them changes.
 */

type Io = "input" | "output";

/** What clients send is described as they may send it (defaults optional); everything else as the API answers it. */
const REQUESTS = new Set(["GenerateRequest", "CreateKeyRequest", "RegenerateBeatRequest", "Prediction"]);

const NAMED: [z.ZodType, string, string][] = [
  [CostEstimate, "CostEstimate", "Estimated cost in USD, in total and by phase."],
  [ReferenceImage, "ReferenceImage", "A reference image with its analysis."],
  [JobView, "JobView", "A job of the run: one unit of work (plan, a reference, a storyboard frame, a chunk, music, stitch, mux)."],
  [VideoSpec, "VideoSpec", "The plan every later phase reads: beats, timing in frames, transitions, music brief."],
  [GenerateRequest, "GenerateRequest", "What to make. Only `prompt` is required; defaults are shown."],
  [LiveSnapshot, "LiveSnapshot", "The whole run as it stands. Ignore fields not described here."],
  // Every frame type of the live socket is a component of its own, named by its schema's title,
  // so `LiveMessage` reads as a oneOf of them rather than one object with every field optional.
  ...LiveMessage.options.map((frame): [z.ZodType, string, string] => {
    const { title, description } = frame.meta() ?? {};
    if (!title) throw new Error("every LiveMessage variant needs a title (contracts/live.ts)");
    return [frame, title, description ?? title];
  }),
  [LiveMessage, "LiveMessage", "A frame of the live WebSocket: the snapshot first, then the run's events as they happen. Narrow on `type`."],
  [Prediction, "Prediction", "A Replicate prediction, as delivered by the provider's webhook."],
  [CreateKeyRequest, "CreateKeyRequest", "A new API key for a tenant (the tenant is created on first use)."],
  [RegenerateBeatRequest, "RegenerateBeatRequest", "A new prompt for the beat; omitted (or an empty body), the beat's prompt is kept."],
  [GenerateResponse, "GenerateResponse", "The video was accepted; follow it with the status, video or live routes."],
  [DryRunResponse, "DryRunResponse", "The plan and cost estimate for a `dry_run` request; no video was created."],
  [StatusResponse, "StatusResponse", "Where a video stands, cheap to poll."],
  [VideoResponse, "VideoResponse", "The whole record of a video, with signed media URLs."],
  [VideoList, "VideoList", "One page of the tenant's videos, newest first."],
  [RegenerateBeatResponse, "RegenerateBeatResponse", "The beat is being rendered again; follow the video as usual."],
  [CallbackNotification, "CallbackNotification", "Sent to a video's `callback_url` when it ends."],
  [CancelResponse, "CancelResponse", "Whether the video was cancelled by this request."],
  [ErrorResponse, "ErrorResponse", "Every error: `error` says what went wrong; 422s name the `field` and list `issues`."],
  [HealthResponse, "HealthResponse", "Whether the deployment has what it needs to run."],
  [CreatedApiKey, "CreatedApiKey", "A new API key; `key` is shown only once."],
  [ApiKeyList, "ApiKeyList", "API keys (never the keys themselves)."],
  [RevokedApiKey, "RevokedApiKey", "The key no longer authenticates."],
  [AssetUploadResponse, "AssetUploadResponse", "The stored brand image; put `ref` in `brand_assets`."],
  [MediaUploadResponse, "MediaUploadResponse", "The stored object."],
  [WebhookReceipt, "WebhookReceipt", "The delivery was verified; `accepted` is false for duplicates and stale updates."],
];

let named = false;

/** Names every schema above, once per isolate: where a route uses one, the generated document refers to it by name. */
export function nameComponents(): void {
  if (named) return;
  for (const [schema, name, description] of NAMED) schema.register(zodToOpenAPIRegistry, { _internal: { refId: name }, description });
  named = true;
}

type JsonSchema = Record<string, unknown>;

/**
 * The named schemas as JSON Schema (2020-12, OpenAPI 3.1's dialect), by zod's own converter:
 * it knows a request from an answer (a default makes a field optional in one, always present in
 * the other; an answer's objects are closed) and writes a nullable named schema as
 * `anyOf [$ref, null]`. zod-to-openapi 9.1, which generates the rest of the document, does
 * neither (a nullable named schema comes out as `allOf [$ref, {type: [object, null]}]`, which
 * null cannot satisfy), so the components' bodies are these.
 */
export function componentSchemas(): Record<string, JsonSchema> {
  const converted: Record<string, JsonSchema> = {};
  for (const io of ["input", "output"] as Io[]) {
    const mine = NAMED.filter(([, name]) => REQUESTS.has(name) === (io === "input"));
    const registry = zRegistry<{ id: string }>();
    for (const [schema, name] of mine) registry.add(schema, { id: name });
    const { schemas } = toJSONSchema(registry, { target: "draft-2020-12", io, unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` });
    // OpenAPI 3.1's dialect is 2020-12 already, and a fragment-only `$id` is not a valid base URI.
    for (const [, name, description] of mine) {
      const { $schema: _s, $id: _i, ...body } = schemas[name]!;
      converted[name] = { description, ...body };
    }
  }
  return converted;
}
