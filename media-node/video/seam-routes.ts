import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { SeamsRequest, SeamsResponse } from "../../contracts/media.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { downloadTo, parse, withTempDir } from "../io.ts";
import { decoratedRows } from "./seam-decorations.ts";
import { analysisSize } from "./frames.ts";
import { measureSeams } from "./seams.ts";

/**
 *   POST /v1/media/videos/seams — a stitched video and its seam list → how each seam looks
 *   (seams.ts). The Worker's stitch step calls it on the file the stitch just wrote, so the
 *   stitch's own encode never waits for it.
 */

const VIDEO_MAX_BYTES = 512 * 1024 * 1024;
const VIDEO_TIMEOUT_MS = 120_000;

export function registerSeamRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}videos/seams`, async (request) => {
    const body = parse(SeamsRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const path = join(dir, "video.mp4");
      await downloadTo(body.video_url, path, { maxBytes: VIDEO_MAX_BYTES, timeoutMs: VIDEO_TIMEOUT_MS });
      const started = performance.now();
      const decorated = await decoratedRows(body.decorations, body, analysisSize(body.width, body.height), dir);
      const measured = await measureSeams(path, body.seams, { width: body.width, height: body.height, fps: body.fps, frames: body.frames, decorated });
      return SeamsResponse.parse({
        analysis_width: measured.size.width,
        analysis_height: measured.size.height,
        decoded_frames: measured.decodedFrames,
        measure_seconds: Math.round((performance.now() - started) / 10) / 100,
        seams: measured.seams,
      });
    });
  });
}
