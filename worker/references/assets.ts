import { z } from "zod";
import { ASSET_REF_PATTERN, type BrandAssets } from "../../contracts/api.ts";
import { INGEST_IMAGE_FIELD, IngestImageRequest, IngestImageResponse } from "../../contracts/media.ts";
import type { Config } from "../config.ts";
import { type Log, workerLog } from "../log.ts";
import { fromBucket } from "../media/bucket.ts";
import { mediaKeys } from "../media/keys.ts";
import { type MediaNode, MediaNodeError } from "../media/media-node.ts";
import { connectMediaNode } from "../media/media-node-transport.ts";
import { mediaUrl } from "../media/media-urls.ts";

/**
 * Tenant brand assets. Every image a client gives us — an upload or a URL in
 * `brand_assets` — passes media-node's ingest (SSRF-safe fetch, decoded for real, re-encoded
 * as PNG) before anything else sees it, and is then stored once per tenant as
 * `assets/<tenant>/<id>.png` with a small JSON record beside it. Runs only ever read these
 * stored copies, referred to as `asset:<id>`.
 */

/** Largest image a client may give us (upload or URL). */
export const MAX_ASSET_BYTES = 15 * 1024 * 1024;
/** URL ingests run at once while admitting one request: media-node has 2 cores to share. */
export const ADMISSION_CONCURRENCY = 3;
/** Signed URLs handed to media-node for one ingest: it finishes within its own 15 s fetch deadline. */
const INGEST_URL_TTL_SECONDS = 10 * 60;
const INGEST_CALL_TIMEOUT_MS = 60_000;

export const AssetRecord = z.object({
  asset_id: z.string(),
  /** The URL it was fetched from, or `upload`. */
  source: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  format: z.enum(["png", "jpeg", "webp"]),
  bytes: z.number().int(),
  created_at: z.number(),
});
export type AssetRecord = z.infer<typeof AssetRecord>;

export function assetRecordKey(tenantId: string, assetId: string): string {
  return `assets/${tenantId}/${assetId}.json`;
}

export interface AssetStore {
  bucket: R2Bucket;
  media: MediaNode;
  log: Log;
  sign(key: string, access: "get" | "put", ttlSeconds: number): Promise<string>;
}

export function assetStore(env: Env, config: Config): AssetStore {
  return {
    bucket: env.MEDIA,
    media: connectMediaNode(env, config),
    log: workerLog(config.log),
    sign: (key, access, ttl) => mediaUrl(config, "service", key, access, ttl),
  };
}

/**
 * Where media-node reads the image from: a URL the client gave, or our own storage's copy of an
 * upload the Worker staged there (`staged`: then a failure to read it is ours, not the client's).
 */
export type IngestSource = { url: string; staged: boolean };

/**
 * `refused`: the image itself is unacceptable, or the URL the client gave (422). `unavailable`:
 * we could not find out (503, after `retryAfterSeconds` when media-node said; `storage` when
 * media-node said our storage failed it, reading a staged copy or storing the PNG). `failed`:
 * media-node refused the request we built around it (the staging URL, the output URL, our
 * limits; or the request as a whole: its signature, its route, its size, media-node.ts `ours`):
 * a deployment fault of ours, not the client's, and no retry mends it.
 */
export type IngestOutcome =
  | { ok: true; record: AssetRecord }
  | { ok: false; kind: "refused"; reason: string }
  | { ok: false; kind: "failed"; reason: string }
  | { ok: false; kind: "unavailable"; reason: string; retryAfterSeconds?: number; storage?: true };

/**
 * The fields of an ingest refusal that are the client's to answer for: the image read, whoever's
 * URL it came from, and for a URL the client gave, that URL. Any other field (the request's
 * own: `output_url`, `max_bytes`, a staged `source_url`, `body`) or none at all is a refusal of the
 * request the Worker built. Decided by media-node's `field`, never by how its message is worded.
 */
function clientsFields(source: IngestSource): readonly string[] {
  return source.staged ? [INGEST_IMAGE_FIELD] : [INGEST_IMAGE_FIELD, "source_url" satisfies keyof IngestImageRequest];
}

/**
 * Have media-node fetch `source`, validate it and write the PNG as tenant asset `assetId`;
 * then record where it came from: the client's URL, or `upload` for a staged copy.
 */
export async function ingestAsset(store: AssetStore, tenantId: string, assetId: string, source: IngestSource): Promise<IngestOutcome> {
  const key = mediaKeys.asset(tenantId, assetId);
  let result: z.infer<typeof IngestImageResponse>;
  try {
    result = await store.media.call(
      "/v1/media/images/ingest",
      { source_url: source.url, staged: source.staged, output_url: await store.sign(key, "put", INGEST_URL_TTL_SECONDS), max_bytes: MAX_ASSET_BYTES } satisfies z.input<typeof IngestImageRequest>,
      IngestImageResponse,
      INGEST_CALL_TIMEOUT_MS,
    );
  } catch (error) {
    if (!(error instanceof MediaNodeError) || error.fault === "passing") {
      const told = error instanceof MediaNodeError ? error : undefined;
      return { ok: false, kind: "unavailable", reason: (error as Error).message, ...(told?.busyForSeconds ? { retryAfterSeconds: told.busyForSeconds } : {}), ...(told?.storageOutage ? { storage: true as const } : {}) };
    }
    // Our request refused as a whole (its signature, its route, its size): no retry of the client's mends it.
    if (error.fault === "ours") return { ok: false, kind: "failed", reason: error.message };
    // A staged copy's bytes are still the client's to answer for; the request we built around them is not.
    if (error.field === undefined || !clientsFields(source).includes(error.field)) return { ok: false, kind: "failed", reason: error.message };
    // The client knows its URL as a URL, not as our request's source_url.
    return { ok: false, kind: "refused", reason: error.field === "source_url" ? error.reason.replace(/^source_url\b/, "URL") : error.reason };
  }
  const record: AssetRecord = { asset_id: assetId, source: source.staged ? "upload" : source.url, width: result.width, height: result.height, format: result.format, bytes: result.bytes, created_at: Date.now() };
  await fromBucket("put", () => store.bucket.put(assetRecordKey(tenantId, assetId), JSON.stringify(record), { httpMetadata: { contentType: "application/json" } }));
  return { ok: true, record };
}

/** The id in an `asset:<id>` ref, or null for anything else. */
export function assetIdOf(ref: string): string | null {
  return ASSET_REF_PATTERN.exec(ref)?.[1] ?? null;
}

/** The tenant's asset record, or null when the tenant has no such asset (another tenant's id included). */
export async function findAsset(bucket: R2Bucket, tenantId: string, assetId: string): Promise<AssetRecord | null> {
  const [image, recorded] = await fromBucket("head", () => Promise.all([bucket.head(mediaKeys.asset(tenantId, assetId)), bucket.get(assetRecordKey(tenantId, assetId))]));
  if (!image) return null;
  const parsed = recorded ? AssetRecord.safeParse(await recorded.json().catch(() => null)) : null;
  // An image without a readable record is still the tenant's asset; describe it from R2.
  return parsed?.success ? parsed.data : { asset_id: assetId, source: `asset:${assetId}`, width: 0, height: 0, format: "png", bytes: image.size, created_at: image.uploaded.getTime() };
}

async function removeAsset(bucket: R2Bucket, tenantId: string, assetId: string): Promise<void> {
  await fromBucket("delete", () => bucket.delete([mediaKeys.asset(tenantId, assetId), assetRecordKey(tenantId, assetId)]));
}

interface BrandAssetEntry {
  /** Path of the value in the request, e.g. `brand_assets.product_images.1`. */
  field: string;
  value: string;
}

function entriesOf(assets: BrandAssets): BrandAssetEntry[] {
  return [
    ...assets.product_images.map((value, i) => ({ field: `brand_assets.product_images.${i}`, value })),
    ...assets.character_images.map((value, i) => ({ field: `brand_assets.character_images.${i}`, value })),
    ...(assets.logo ? [{ field: "brand_assets.logo", value: assets.logo }] : []),
  ];
}

export type Admission =
  | { ok: true; brandAssets: BrandAssets; created: AssetRecord[] }
  | { ok: false; status: 422 | 500; field: string; message: string }
  /** Media-node unreachable or busy: nobody's to fix but time's; `retryAfterSeconds` when media-node said how long. */
  | { ok: false; status: 503; field: string; message: string; retryAfterSeconds?: number }
  /** Media-node said our storage failed it (the PNG it stores): our outage, no field of the client's; api/videos/generate.ts names it. */
  | { ok: false; status: 503; storage: true; retryAfterSeconds?: number };

/**
 * Admission of a request's brand assets (before any video exists): every `asset:<id>` must
 * be one of the tenant's assets, and every URL is ingested now as a new tenant asset, a few
 * at a time. The answer rewrites every entry to its `asset:<id>`. On any failure the assets
 * this call created are removed again, and the first failing field (in request order) is
 * named: a refusal is the client's to fix (422), a refusal of the request we built is our fault
 * (500), an unreachable media-node is nobody's to fix but time's (503), and so is our storage
 * failing media-node (503, `storage`: the outage, not a field, is named).
 */
export async function admitBrandAssets(store: AssetStore, tenantId: string, assets: BrandAssets, concurrency = ADMISSION_CONCURRENCY): Promise<Admission> {
  const entries = entriesOf(assets);
  for (const entry of entries) {
    const id = assetIdOf(entry.value);
    if (id && !(await findAsset(store.bucket, tenantId, id))) {
      return { ok: false, status: 422, field: entry.field, message: `${entry.value} is not one of your assets (upload it with POST /api/assets)` };
    }
  }

  // The same URL twice in one request is fetched once.
  const urls = [...new Set(entries.filter((e) => !assetIdOf(e.value)).map((e) => e.value))];
  const outcomes = new Map<string, IngestOutcome>();
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < urls.length) {
      const url = urls[next++]!;
      const outcome = await ingestAsset(store, tenantId, crypto.randomUUID(), { url, staged: false });
      outcomes.set(url, outcome);
      // One refusal already decides the answer: do not fetch the rest.
      if (!outcome.ok) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));

  const created = [...outcomes.values()].flatMap((o) => (o.ok ? [o.record] : []));
  const failures = entries.flatMap((entry) => {
    const outcome = outcomes.get(entry.value);
    return outcome && !outcome.ok ? [{ field: entry.field, outcome }] : [];
  });
  if (failures.length > 0) {
    await Promise.all(created.map((r) => removeAsset(store.bucket, tenantId, r.asset_id)));
    const refused = failures.find((f) => f.outcome.kind === "refused");
    if (refused) return { ok: false, status: 422, field: refused.field, message: refused.outcome.reason };
    const ours = failures.find((f) => f.outcome.kind === "failed");
    if (ours) {
      store.log.error("asset.ingest_refused", { tenant_id: tenantId, field: ours.field, error: ours.outcome.reason });
      return { ok: false, status: 500, field: ours.field, message: "brand assets could not be checked: an error of ours, not of the assets" };
    }
    const first = failures[0]!;
    store.log.warn("asset.unavailable", { tenant_id: tenantId, field: first.field, error: first.outcome.reason });
    const storage = failures.map((f) => f.outcome).find((o) => o.kind === "unavailable" && o.storage);
    if (storage?.kind === "unavailable") return { ok: false, status: 503, storage: true, ...(storage.retryAfterSeconds ? { retryAfterSeconds: storage.retryAfterSeconds } : {}) };
    const busy = first.outcome.kind === "unavailable" ? first.outcome.retryAfterSeconds : undefined;
    return { ok: false, status: 503, field: first.field, message: "brand assets cannot be validated right now (media-node is unavailable); try again", ...(busy ? { retryAfterSeconds: busy } : {}) };
  }

  const refOf = (value: string) => {
    if (assetIdOf(value)) return value;
    const outcome = outcomes.get(value)!;
    return `asset:${(outcome as { ok: true; record: AssetRecord }).record.asset_id}`;
  };
  return {
    ok: true,
    brandAssets: {
      product_images: assets.product_images.map(refOf),
      character_images: assets.character_images.map(refOf),
      logo: assets.logo ? refOf(assets.logo) : assets.logo,
    },
    created,
  };
}
