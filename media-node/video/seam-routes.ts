import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { type SeamPiece, SeamsRequest, SeamsResponse } from "../../contracts/media.ts";
import { mergeRanges } from "../../lib/stitch-plan.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { InputError, concerning, downloadTo, parse, withTempDir } from "../io.ts";
import { DIRECT_STORE } from "../piece-cache.ts";
import { decoratedRows } from "./seam-decorations.ts";
import { analysisSize, decodeFrameRanges } from "./frames.ts";
import { type FrameSource, fileFrames, measureSeams } from "./seams.ts";

/**
 *   POST /v1/media/videos/seams — a video and its seam list → how each seam looks (seams.ts).
 *   The video is a stitched file (`video_url`: the one-shot stitch calls it on the file it just
 *   wrote, so its encode never waits), or the pieces the final MP4 will be joined from
 *   (`pieces`: progressive assembly measures each seam as soon as the chunks and windows
 *   around it exist, on exactly the frames the assembly will copy).
 */

const VIDEO_MAX_BYTES = 512 * 1024 * 1024;
const VIDEO_TIMEOUT_MS = 120_000;

/** Output frames from the pieces that hold them: each piece is decoded only where it is asked for. */
function pieceFrames(pieces: readonly (SeamPiece & { path: string })[], fps: number): FrameSource {
  return async (ranges, size) => {
    const wanted = mergeRanges(ranges);
    for (const range of wanted) {
      for (let n = range.from; n < range.to; ) {
        const piece = pieces.find((p) => p.from_frame <= n && n < p.to_frame);
        if (!piece) throw new InputError(`pieces: no piece holds output frame ${n}, which a measured seam reads`, "pieces");
        n = piece.to_frame;
      }
    }
    const decoded = await Promise.all(
      pieces.map(async (piece, i) => {
        const local = wanted
          .map((r) => ({ from: Math.max(r.from, piece.from_frame), to: Math.min(r.to, piece.to_frame) }))
          .filter((r) => r.to > r.from)
          .map((r) => ({ from: r.from - piece.from_frame + piece.file_from_frame, to: r.to - piece.from_frame + piece.file_from_frame }));
        const frames = await concerning(`pieces.${i}`, decodeFrameRanges(piece.path, local, fps, size));
        return [...frames].map(([n, rgb]) => [n - piece.file_from_frame + piece.from_frame, rgb] as const);
      }),
    );
    return new Map(decoded.flat());
  };
}

export function registerSeamRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}videos/seams`, async (request) => {
    const body = parse(SeamsRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      let frames: FrameSource;
      if (body.video_url !== undefined) {
        const path = join(dir, "video.mp4");
        await concerning("video_url", downloadTo(body.video_url, path, { maxBytes: VIDEO_MAX_BYTES, timeoutMs: VIDEO_TIMEOUT_MS }));
        const whole = fileFrames(path, body.fps);
        frames = (ranges, size) => concerning("video_url", whole(ranges, size));
      } else {
        // Each chunk and window was stored by media-node moments ago, most likely: read from the copies it kept.
        const store = config.pieces ?? DIRECT_STORE;
        const pieces = await Promise.all(
          body.pieces!.map(async (piece, i) => {
            const path = join(dir, `piece-${i}.mp4`);
            await concerning(`pieces.${i}`, store.download(piece.url, piece.etag, path, { maxBytes: VIDEO_MAX_BYTES, timeoutMs: VIDEO_TIMEOUT_MS }));
            return { ...piece, path };
          }),
        );
        frames = pieceFrames(pieces, body.fps);
      }
      const started = performance.now();
      const decorated = await decoratedRows(body.decorations, body, analysisSize(body.width, body.height), dir);
      const measured = await measureSeams(frames, body.seams, { width: body.width, height: body.height, fps: body.fps, frames: body.frames, decorated, measure: body.measure });
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
