import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { MuxRequest, MuxResponse, PrepareMusicRequest, PrepareMusicResponse } from "../../contracts/media.ts";
import { downloadTo, uploadTo, withTempDir, parse } from "../io.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { prepareMusic } from "./music.ts";
import { muxFinal } from "./mux.ts";

/**
 * Audio capabilities of media-node:
 *   POST /v1/media/audio/prepare — generated music → looped/cut, faded, loudness-normalized AAC (.m4a)
 *   POST /v1/media/audio/mux     — stitched video + prepared music → final MP4 (stream copy)
 */

const MUSIC_MAX_BYTES = 256 * 1024 * 1024;
const VIDEO_MAX_BYTES = 1024 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 120_000;

export function registerAudioRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}audio/prepare`, async (request) => {
    const body = parse(PrepareMusicRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const input = join(dir, "music");
      const output = join(dir, "music.m4a");
      await downloadTo(body.music_url, input, { maxBytes: MUSIC_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS });
      const music = await prepareMusic(input, output, {
        frames: body.frames,
        fps: body.fps,
        loudnessLufs: body.loudness_lufs,
        truePeakDb: body.true_peak_db,
        fadeInS: body.fade_in_s,
        fadeOutS: body.fade_out_s,
      });
      await uploadTo(body.output_url, output, "audio/mp4");
      return PrepareMusicResponse.parse({
        duration_s: music.durationS,
        bytes: music.bytes,
        integrated_lufs: music.integratedLufs,
        true_peak_db: music.truePeakDb,
        normalization: music.normalization,
        loops: music.loops,
      });
    });
  });

  app.post(`${MEDIA_PREFIX}audio/mux`, async (request) => {
    const body = parse(MuxRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const video = join(dir, "video.mp4");
      const audio = join(dir, "music.m4a");
      const output = join(dir, "final.mp4");
      await Promise.all([
        downloadTo(body.video_url, video, { maxBytes: VIDEO_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS }),
        downloadTo(body.audio_url, audio, { maxBytes: MUSIC_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS }),
      ]);
      const muxed = await muxFinal(video, audio, output);
      await uploadTo(body.output_url, output, "video/mp4");
      return MuxResponse.parse({
        duration_s: muxed.durationS,
        video_duration_s: muxed.videoDurationS,
        audio_duration_s: muxed.audioDurationS,
        bytes: muxed.bytes,
      });
    });
  });
}
