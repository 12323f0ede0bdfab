import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { RenderOverlaysRequest, RenderOverlaysResponse } from "../../contracts/media.ts";
import { concerning, downloadTo, parse, uploadTo, withTempDir } from "../io.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { safeArea } from "./layout.ts";
import { renderEndCard, renderHeadline } from "./overlays.ts";

/**
 * The ad's finish in media-node:
 *   POST /v1/media/finish/overlays — headline and end card (logo or brand name, offer, CTA) → RGBA PNG layers
 */

/** Brand assets are stored as PNG of at most 15 MB when ingested; a little slack for other stored images. */
const LOGO_MAX_BYTES = 20 * 1024 * 1024;
const LOGO_TIMEOUT_MS = 60_000;

export function registerFinishRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}finish/overlays`, async (request) => {
    const body = parse(RenderOverlaysRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const { width, height, headline, end_card } = body;
      let logo: Buffer | null = null;
      if (end_card.logo_url) {
        const path = join(dir, "logo");
        await concerning("end_card.logo_url", downloadTo(end_card.logo_url, path, { maxBytes: LOGO_MAX_BYTES, timeoutMs: LOGO_TIMEOUT_MS }));
        logo = await readFile(path);
      }
      const [headlineLayer, card] = await Promise.all([
        headline ? renderHeadline(headline.text, width, height) : null,
        renderEndCard({ brand: end_card.brand, logo, offer: end_card.offer ?? null, cta: end_card.cta, accent: end_card.accent }, width, height),
      ]);
      const [headlineBytes, cardBytes] = await Promise.all([
        headline && headlineLayer ? uploadTo(headline.output_url, headlineLayer.png, "image/png") : 0,
        uploadTo(end_card.output_url, card.png, "image/png"),
      ]);
      return RenderOverlaysResponse.parse({
        width,
        height,
        safe_area: safeArea(width, height),
        headline: headlineLayer ? { bytes: headlineBytes, box: headlineLayer.box } : null,
        end_card: { bytes: cardBytes, box: card.box, logo: card.logo, mark_box: card.markBox, cta_box: card.ctaBox },
      });
    });
  });
}
