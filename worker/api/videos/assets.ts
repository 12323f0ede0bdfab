import { createRoute } from "@hono/zod-openapi";
import { AssetUploadResponse, type ErrorResponse } from "../../../contracts/api.ts";
import type { AppContext } from "../../app.ts";
import { fromBucket } from "../../media/bucket.ts";
import { MAX_ASSET_BYTES, assetStore, ingestAsset } from "../../references/assets.ts";
import { STAGING_URL_TTL_SECONDS, uploadStagingKey } from "../../references/staged-uploads.ts";
import { API_KEY, apiResponses, errorResponse, jsonResponse, OUTAGE_RETRY_AFTER_SECONDS, retryAfterResponse, STORAGE_UNAVAILABLE_MESSAGE } from "../router.ts";

/**
 * POST /api/assets — upload a brand image; answers `{asset_id, ref, width, height, format,
 * bytes}` and the image is then usable as `ref` (`asset:<id>`) in `brand_assets`.
 *
 * Body: either `multipart/form-data` with the image in a field named `file`, or the raw
 * bytes with `content-type: image/png | image/jpeg | image/webp`; at most 15 MB. The Worker
 * cannot decode images, so it stages the bytes in R2 and has media-node ingest them from a
 * short-lived signed URL, exactly as it does a brand-asset URL: decoded, size-checked,
 * re-encoded to PNG (metadata dropped) and written to the tenant's asset key. A file that
 * is not a valid image is a 422 with media-node's reason; our storage failing (to take the staged
 * bytes, to hand them to media-node, which the request marks `staged`, or to take the PNG) is a 503
 * with Retry-After naming media storage, never a 422 about the file. The staged bytes are deleted
 * when the request ends; a copy our storage refuses to delete (logged, `asset.staging_left`), or
 * one whose request died first, is removed by the cron sweep (references/staged-uploads.ts).
 */

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];
const RAW_TYPES = new Set(IMAGE_TYPES);
/** Room for multipart boundaries and part headers around a full-size file. */
const MULTIPART_OVERHEAD = 64 * 1024;

function fail(c: AppContext, status: 413 | 415 | 422 | 503, message: string): Response {
  return c.json({ error: `file: ${message}`, field: "file" } satisfies ErrorResponse, status);
}

/** The body, or why not: stops reading as soon as it passes `cap` bytes. */
async function readBody(request: Request, cap: number): Promise<Uint8Array | "too large" | "unreadable"> {
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > cap) return "too large";
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel().catch(() => undefined);
        return "too large";
      }
      parts.push(value);
    }
  } catch {
    return "unreadable";
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

async function imageBytes(c: AppContext): Promise<Uint8Array | Response> {
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const tooLarge = () => fail(c, 413, `larger than ${MAX_ASSET_BYTES / (1024 * 1024)} MB`);
  if (contentType === "multipart/form-data") {
    const body = await readBody(c.req.raw, MAX_ASSET_BYTES + MULTIPART_OVERHEAD);
    if (body === "too large") return tooLarge();
    if (body === "unreadable") return c.json({ error: "body: could not be read", field: "body" } satisfies ErrorResponse, 400);
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "content-type": c.req.header("content-type")! } }).formData();
    } catch {
      return c.json({ error: "body: not valid multipart/form-data", field: "body" } satisfies ErrorResponse, 422);
    }
    const file = form.get("file");
    if (file === null || typeof file === "string") return fail(c, 422, "missing: send the image as a file in a multipart field named file");
    if (file.size > MAX_ASSET_BYTES) return tooLarge();
    return new Uint8Array(await file.arrayBuffer());
  }
  if (RAW_TYPES.has(contentType)) {
    const body = await readBody(c.req.raw, MAX_ASSET_BYTES);
    if (body === "too large") return tooLarge();
    if (body === "unreadable") return c.json({ error: "body: could not be read", field: "body" } satisfies ErrorResponse, 400);
    return body;
  }
  return c.json(
    { error: `content-type: expected multipart/form-data or image/png, image/jpeg, image/webp (got ${contentType || "none"})`, field: "content-type" } satisfies ErrorResponse,
    415,
  );
}

// The body is read here, within its limit, so it is documented (raw bytes or a multipart file), not validated by a schema.
export const uploadAssetRoute = createRoute({
  method: "post",
  path: "/assets",
  operationId: "uploadAsset",
  tags: ["videos"],
  summary: "Upload a brand image",
  description:
    "Stores a brand image (PNG, JPEG or WebP, at most 15 MB) for the tenant after decoding and checking it; it is kept as PNG without metadata. Use the answer's `ref` (`asset:<id>`) in `brand_assets` of `POST /api/generate`.",
  security: API_KEY,
  request: {
    body: {
      description: "The image: raw bytes with its image content type, or a multipart form with the image in the field `file`.",
      required: true,
      content: {
        ...Object.fromEntries(IMAGE_TYPES.map((type) => [type, { schema: { type: "string" as const, contentMediaType: type } }])),
        "multipart/form-data": {
          schema: { type: "object" as const, properties: { file: { type: "string" as const, contentMediaType: "application/octet-stream" } }, required: ["file"] },
          encoding: { file: { contentType: IMAGE_TYPES.join(", ") } },
        },
      },
    },
  },
  responses: apiResponses({
    201: jsonResponse(AssetUploadResponse, "Stored."),
    400: errorResponse("The body could not be read."),
    413: errorResponse("Larger than 15 MB."),
    415: errorResponse("Neither an image content type nor multipart/form-data."),
    422: errorResponse("Empty, not a valid image, or no `file` field; `field` names it."),
    500: errorResponse("The image could not be checked, through a fault of ours, not of the file."),
    503: retryAfterResponse("The image cannot be checked right now (media-node or our storage is unavailable); try again after `Retry-After` seconds."),
  }),
});

export async function uploadAsset(c: AppContext): Promise<Response> {
  const tenantId = c.get("principal").tenantId;
  const bytes = await imageBytes(c);
  if (bytes instanceof Response) return bytes;
  if (bytes.byteLength === 0) return fail(c, 422, "is empty");

  const store = assetStore(c.env, c.get("config"));
  const assetId = crypto.randomUUID();
  const staging = uploadStagingKey(tenantId, assetId);
  await fromBucket("put", () => c.env.MEDIA.put(staging, bytes, { httpMetadata: { contentType: "application/octet-stream" } }));
  try {
    const outcome = await ingestAsset(store, tenantId, assetId, { url: await store.sign(staging, "get", STAGING_URL_TTL_SECONDS), staged: true });
    if (!outcome.ok) {
      if (outcome.kind === "refused") return fail(c, 422, outcome.reason);
      if (outcome.kind === "failed") {
        store.log.error("asset.ingest_refused", { tenant_id: tenantId, field: "file", key: staging, error: outcome.reason });
        return c.json({ error: "the image could not be checked: an error of ours, not of the file" } satisfies ErrorResponse, 500);
      }
      // media-node unreachable or busy, or our storage failing it (the staged copy, the PNG it stores): the client may simply try again.
      store.log.warn("asset.unavailable", { tenant_id: tenantId, field: "file", error: outcome.reason });
      c.header("retry-after", String(outcome.retryAfterSeconds ?? OUTAGE_RETRY_AFTER_SECONDS));
      // Said as the router says R2 failing the Worker itself (api/routes.ts): one outage, one answer, whichever side met it.
      const error = outcome.storage ? STORAGE_UNAVAILABLE_MESSAGE : "the image cannot be validated right now; try again";
      return c.json({ error } satisfies ErrorResponse, 503);
    }
    const { record } = outcome;
    return c.json(
      { asset_id: assetId, ref: `asset:${assetId}`, width: record.width, height: record.height, format: record.format, bytes: record.bytes } satisfies AssetUploadResponse,
      201,
    );
  } finally {
    // The answer stands whether or not the staged copy goes: one left behind is the cron sweep's (staged-uploads.ts).
    await c.env.MEDIA.delete(staging).catch((error: unknown) => store.log.warn("asset.staging_left", { tenant_id: tenantId, key: staging, error }));
  }
}
