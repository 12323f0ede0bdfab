import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import {
  AnalyzeImageRequest,
  AnalyzeImageResponse,
  CompositeRequest,
  CompositeResponse,
  IngestImageRequest,
  INGEST_LIMITS,
  IngestImageResponse,
  PaletteTransferRequest,
  PaletteTransferResponse,
  ReframeRequest,
  ReframeResponse,
  STORAGE_RETRY_AFTER_SECONDS,
} from "../../contracts/media.ts";
import { symmetricPaletteDistance } from "../../lib/color.ts";
import { InputError, StorageUnavailableError, UpstreamError, concerning, downloadTo, parse, settleAll, uploadTo, withTempDir } from "../io.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { compositeLayers } from "./composite.ts";
import { normalizeImage } from "./ingest.ts";
import { analyzeImage, paletteOf } from "./palette.ts";
import { transferPalette } from "./palette-transfer.ts";
import { reframe } from "./reframe.ts";
import { SourceUnreachable, safeFetchImage } from "./safe-fetch.ts";

/**
 * Image capabilities of media-node:
 *   POST /v1/media/images/composite — weighted linear-light blend of 1–4 layers → PNG at output_url
 *   POST /v1/media/images/ingest    — untrusted brand-asset URL → validated, re-encoded PNG at output_url
 *   POST /v1/media/images/analyze   — palette + tone statistics + lighting/style hints
 *   POST /v1/media/images/reframe   — a view cut from inside a picture (a beat's end frame from its storyboard frame)
 *   POST /v1/media/images/palette-transfer — a picture recoloured toward another's palette, pixel for pixel (drift correction)
 *
 * Inputs of composite and analyze are URLs the Worker signed (our own storage), fetched with
 * io.ts `downloadTo`. Only ingest takes URLs from clients, and only it uses `safeFetchImage`: also
 * for an upload the Worker staged in our storage (`staged`), whose bytes are still the client's.
 */

/** Signed inputs we generated ourselves: generous, but bounded. */
const TRUSTED_INPUT_MAX_BYTES = 64 * 1024 * 1024;
const TRUSTED_INPUT_TIMEOUT_MS = 60_000;
/** Untrusted fetch deadline, all redirects and the body included. */
export const INGEST_TIMEOUT_MS = 15_000;
/** Ceilings on what a request may ask for (the contract's, which the Worker's stand-in enforces too). */
const INGEST_MAX_BYTES_CEILING = INGEST_LIMITS.maxBytesCeiling;
const INGEST_MAX_PIXELS_CEILING = INGEST_LIMITS.maxPixelsCeiling;

/** The bytes at `url`, the request's field `field` (which a refusal of the download names). */
async function fetchTrusted(field: string, url: string, dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  await concerning(field, downloadTo(url, path, { maxBytes: TRUSTED_INPUT_MAX_BYTES, timeoutMs: TRUSTED_INPUT_TIMEOUT_MS }));
  return readFile(path);
}

export function registerImageRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}images/composite`, async (request) => {
    const body = parse(CompositeRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const images = await settleAll(body.layers.map((layer, i) => fetchTrusted(`layers.${i}.url`, layer.url, dir, `layer-${i}`)));
      const png = await compositeLayers(
        body.layers.map((layer, i) => ({ image: images[i]!, weight: layer.weight })),
        body.width,
        body.height,
      );
      const bytes = await uploadTo(body.output_url, png, "image/png");
      return CompositeResponse.parse({ width: body.width, height: body.height, bytes });
    });
  });

  app.post(`${MEDIA_PREFIX}images/ingest`, async (request) => {
    const body = parse(IngestImageRequest, request.body);
    if (body.max_bytes > INGEST_MAX_BYTES_CEILING) throw new InputError(`max_bytes: ${body.max_bytes} is over media-node's ${INGEST_MAX_BYTES_CEILING} byte ceiling`, "max_bytes");
    if (body.max_pixels > INGEST_MAX_PIXELS_CEILING) throw new InputError(`max_pixels: ${body.max_pixels} is over media-node's ${INGEST_MAX_PIXELS_CEILING} pixel ceiling`, "max_pixels");
    // One policy everywhere, staged copies included: https and public addresses only, plus the origins this deployment serves itself.
    const fetched = await safeFetchImage(body.source_url, {
      allowedOrigins: config.allowedOrigins ?? [],
      maxBytes: body.max_bytes,
      timeoutMs: INGEST_TIMEOUT_MS,
    }).catch((error: unknown) => {
      // Our storage failing to hand back what the Worker staged is not the client's file's fault.
      if (body.staged && error instanceof SourceUnreachable) throw new StorageUnavailableError(`our storage did not hand back the staged source: ${error.message}`, STORAGE_RETRY_AFTER_SECONDS);
      throw error;
    });
    const image = await normalizeImage(fetched.body, fetched.format, body.max_pixels);
    const bytes = await uploadTo(body.output_url, image.png, "image/png").catch((error: unknown) => {
      // The output URL is always our own storage: unreachable or failing (5xx), it is our outage, as
      // a staged source's is, and the client's image is not at fault. A refusal (4xx: an expired or
      // wrong presign) stays a 502, which no wait mends.
      if (error instanceof UpstreamError && error.answered !== undefined && error.answered < 500) throw error;
      throw new StorageUnavailableError(`our storage did not take the ingested image: ${(error as Error).message}`, STORAGE_RETRY_AFTER_SECONDS);
    });
    request.log.info({ source: fetched.finalUrl, redirects: fetched.redirects, format: image.format, bytes }, "brand asset ingested");
    return IngestImageResponse.parse({ width: image.width, height: image.height, format: image.format, bytes });
  });

  app.post(`${MEDIA_PREFIX}images/analyze`, async (request) => {
    const body = parse(AnalyzeImageRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => AnalyzeImageResponse.parse(await concerning("url", analyzeImage(await fetchTrusted("url", body.url, dir, "image")))));
  });

  app.post(`${MEDIA_PREFIX}images/reframe`, async (request) => {
    const body = parse(ReframeRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const view = await reframe(await fetchTrusted("source_url", body.source_url, dir, "source"), body, body.width, body.height);
      const bytes = await uploadTo(body.output_url, view.png, "image/png");
      return ReframeResponse.parse({ width: body.width, height: body.height, bytes, crop: view.crop });
    });
  });

  app.post(`${MEDIA_PREFIX}images/palette-transfer`, async (request) => {
    const body = parse(PaletteTransferRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const [source, target] = await Promise.all([fetchTrusted("source_url", body.source_url, dir, "source"), fetchTrusted("target_url", body.target_url, dir, "target")]);
      const result = await transferPalette(source, target, body.strength);
      const [before, after, goal, bytes] = await Promise.all([paletteOf(source), paletteOf(result.png), paletteOf(target), uploadTo(body.output_url, result.png, "image/png")]);
      const round = (v: number) => Math.round(v * 100) / 100;
      return PaletteTransferResponse.parse({
        width: result.width,
        height: result.height,
        bytes,
        distance_before: round(symmetricPaletteDistance(before, goal)),
        distance_after: round(symmetricPaletteDistance(after, goal)),
      });
    });
  });
}
