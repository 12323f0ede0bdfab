import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { MuxRequest, MuxResponse, PrepareMusicRequest, PrepareMusicResponse, SpeechTimingRequest, SpeechTimingResponse } from "../../contracts/media.ts";
import { concerning, downloadTo, mapLimited, parse, settleAll, uploadTo, withTempDir } from "../io.ts";
import { DIRECT_STORE } from "../piece-cache.ts";
import { MEDIA_PREFIX, type MediaNodeConfig } from "../config.ts";
import { webvtt } from "../finish/captions.ts";
import { MUSIC_SAMPLE_RATE, prepareMusic } from "./music.ts";
import { findSpeech, prepareSoundtrack } from "./soundtrack.ts";
import { muxFinal } from "./mux.ts";

/**
 * Audio capabilities of media-node:
 *   POST /v1/media/audio/prepare — generated music (+ voiceover lines) → looped/cut, faded, ducked, mixed, loudness-normalized AAC (.m4a)
 *   POST /v1/media/audio/speech  — one voiceover line → its seconds of speech and where they are (the captions' timing; the mix cuts the speech there)
 *   POST /v1/media/audio/mux     — stitched video + prepared music → final MP4 (stream copy)
 */

const MUSIC_MAX_BYTES = 256 * 1024 * 1024;
/** One spoken line: seconds of speech, a few MB even as uncompressed WAV. */
const PHRASE_MAX_BYTES = 32 * 1024 * 1024;
const VIDEO_MAX_BYTES = 1024 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 120_000;

export function registerAudioRoutes(app: FastifyInstance, config: MediaNodeConfig): void {
  app.post(`${MEDIA_PREFIX}audio/prepare`, async (request) => {
    const body = parse(PrepareMusicRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const input = join(dir, "music");
      const output = join(dir, "music.m4a");
      const voiceover = body.voiceover;
      const downloads = mapLimited(voiceover?.phrases ?? [], 4, async (phrase, i) => {
        const path = join(dir, `line-${i}`);
        await concerning(`voiceover.phrases.${i}.url`, downloadTo(phrase.url, path, { maxBytes: PHRASE_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS }));
        return { path, text: phrase.text, atFrame: phrase.at_frame, ...(phrase.speech ? { speech: phrase.speech } : {}) };
      });
      const [, phrases] = await settleAll([concerning("music_url", downloadTo(body.music_url, input, { maxBytes: MUSIC_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS })), downloads]);
      const options = {
        frames: body.frames,
        fps: body.fps,
        loudnessLufs: body.loudness_lufs,
        truePeakDb: body.true_peak_db,
        fadeInS: body.fade_in_s,
        fadeOutS: body.fade_out_s,
      };
      const voicePath = join(dir, "voice.m4a");
      const soundtrack = voiceover
        ? await prepareSoundtrack(input, phrases, output, { ...options, duckDb: voiceover.duck_db, workDir: dir, ...(voiceover.voice_url ? { voiceOutputPath: voicePath } : {}) })
        : null;
      const music = soundtrack ?? (await prepareMusic(input, output, options));
      const captions = soundtrack ? webvtt(soundtrack.cues) : null;
      const [, voiceBytes, captionsBytes] = await Promise.all([
        // Kept for the final assembly, which muxes it in (piece-cache.ts).
        (config.pieces ?? DIRECT_STORE).upload(body.output_url, output, "audio/mp4"),
        voiceover?.voice_url ? uploadTo(voiceover.voice_url, voicePath, "audio/mp4") : null,
        voiceover?.captions_url && captions !== null ? uploadTo(voiceover.captions_url, Buffer.from(captions, "utf8"), "text/vtt; charset=utf-8") : null,
      ]);
      return PrepareMusicResponse.parse({
        duration_s: music.durationS,
        bytes: music.bytes,
        integrated_lufs: music.integratedLufs,
        true_peak_db: music.truePeakDb,
        normalization: music.normalization,
        loops: music.loops,
        voiceover:
          voiceover && soundtrack
            ? { phrases: soundtrack.phrases, cues: soundtrack.cues, duck_db: voiceover.duck_db, voice_bytes: voiceBytes, captions_bytes: captionsBytes }
            : null,
      });
    });
  });

  app.post(`${MEDIA_PREFIX}audio/speech`, async (request) => {
    const body = parse(SpeechTimingRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const input = join(dir, "line");
      await concerning("url", downloadTo(body.url, input, { maxBytes: PHRASE_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS }));
      const span = await findSpeech(input, "url", join(dir, "line"));
      return SpeechTimingResponse.parse({ speech_s: span.samples / MUSIC_SAMPLE_RATE, span });
    });
  });

  app.post(`${MEDIA_PREFIX}audio/mux`, async (request) => {
    const body = parse(MuxRequest, request.body);
    return withTempDir(config.tmpDir, async (dir) => {
      const video = join(dir, "video.mp4");
      const audio = join(dir, "music.m4a");
      const output = join(dir, "final.mp4");
      await settleAll([
        concerning("video_url", downloadTo(body.video_url, video, { maxBytes: VIDEO_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS })),
        concerning("audio_url", downloadTo(body.audio_url, audio, { maxBytes: MUSIC_MAX_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS })),
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
