import type { ChunkPreset } from "../../contracts/media.ts";

/**
 * The one H.264 encoding every normalized chunk and every stitcher seam is written with.
 *
 * The stitcher joins chunks by stream copy and re-encodes only the transition windows, so a
 * chunk and a seam must be interchangeable pieces of one bitstream:
 * - Same SPS/PPS (the MP4's avcC comes from the first piece and must describe them all):
 *   every option below is fixed, the colour description is forced rather than inherited
 *   from the source, and x264's `stitchable=1` stops it from tuning headers to the content
 *   (e.g. the PPS initial QP). The stitcher checks this at run time by comparing SPS/PPS hashes.
 * - `bFrames: 0`: no frame references a later one, so decode order = display order
 *   (PTS = DTS, no composition offsets or edit lists) and ANY prefix of a chunk is decodable:
 *   the stitcher may cut a chunk's end at any frame. Only a cut at a chunk's start needs a
 *   keyframe, which normalize forces where the worker says the incoming seam will end.
 * - Closed GOPs with IDR keyframes (x264's default, `forced-idr` for the forced ones): a copy
 *   may start at any keyframe without references into the previous GOP.
 * - `keyint: 24` bounds how far a seam re-encode has to run to reach B's next keyframe when
 *   no keyframe was forced (at most one second at 24 fps). `scenecut=0` makes the keyframes
 *   a function of (frames, forced keyframes, keyint) alone, so seam cost is predictable;
 *   generated shots rarely contain cuts for scenecut to help with.
 * - `preset: veryfast` at CRF 18: normalize runs once per chunk, off the critical path; CRF 18
 *   keeps chunks visually lossless enough to survive a seam's second generation (seams vs
 *   single pass measure > 40 dB PSNR in tests). Seams use SEAM_ENCODING below.
 */
export interface VideoEncoding {
  codec: "libx264";
  preset: string;
  crf: number;
  profile: string;
  level: string;
  pixelFormat: "yuv420p";
  bFrames: number;
  keyint: number;
  x264Params: string;
}

export const CHUNK_ENCODING: VideoEncoding = {
  codec: "libx264",
  preset: "veryfast",
  crf: 18,
  profile: "high",
  level: "4.0",
  pixelFormat: "yuv420p",
  bFrames: 0,
  keyint: 24,
  x264Params: "stitchable=1:scenecut=0",
};

/**
 * What the stitcher encodes its transition windows with: CHUNK_ENCODING at x264's next faster
 * preset. Presets change only how hard x264 searches, except for the few options that reach
 * the parameter sets (reference count, 8x8 transform, weighted prediction, CABAC), where
 * `superfast` and `veryfast` agree — so seams splice with chunks exactly as before (a test
 * pins the equality, and the stitcher checks every seam file and re-renders with
 * CHUNK_ENCODING if it ever differs). Measured on 168 seam frames at 1024x576: 30% less CPU
 * and 20 MB less memory, at a higher bitrate for those few frames.
 */
export const SEAM_ENCODING: VideoEncoding = { ...CHUNK_ENCODING, preset: "superfast" };

/**
 * CHUNK_ENCODING at a preset the request chose (contracts/media.ts `ChunkPreset`: only presets
 * whose parameter sets equal CHUNK_ENCODING's). A draft's chunks use `superfast`: measured on two
 * 120-frame 1024x576 draft clips (push-in, handheld; ffmpeg 5.1, 2026-12-05), the pass took
 * 0.58 / 0.45 CPU s against veryfast's 0.61 / 0.60 (the x264 encode is nearly all of it: decoding
 * and the graph 0.10), for files 1.9× / 1.7× larger (866 / 814 KiB against 448 / 467) at the same
 * CRF and the same or better fidelity to a lossless encode of the same frames (SSIM 0.9930 /
 * 0.9927 against 0.9922 / 0.9920, PSNR 44.7 / 41.1 dB against 44.5 / 41.0). Standard videos keep
 * veryfast: their chunks are the delivered picture, and bytes matter more than a draft's CPU.
 */
export function chunkEncoding(preset: ChunkPreset = "veryfast"): VideoEncoding {
  return preset === CHUNK_ENCODING.preset ? CHUNK_ENCODING : { ...CHUNK_ENCODING, preset };
}

/** ffmpeg output options for `encoding` at `fps`, forcing keyframes at the given frame indexes. */
export function encoderArgs(encoding: VideoEncoding, fps: number, keyframes: readonly number[] = []): string[] {
  const forced = [...new Set([0, ...keyframes])].sort((a, b) => a - b);
  return [
    "-c:v", encoding.codec,
    "-preset", encoding.preset,
    "-crf", String(encoding.crf),
    "-profile:v", encoding.profile,
    "-level:v", encoding.level,
    "-pix_fmt", encoding.pixelFormat,
    "-bf", String(encoding.bFrames),
    "-g", String(encoding.keyint),
    ...(encoding.x264Params ? ["-x264-params", encoding.x264Params] : []),
    "-forced-idr", "1",
    "-force_key_frames", `expr:${forced.map((n) => `eq(n,${n})`).join("+")}`,
    // Tag, don't inherit: a source's colour description would otherwise change the SPS.
    "-color_primaries", "bt709",
    "-color_trc", "bt709",
    "-colorspace", "bt709",
    "-color_range", "tv",
    "-r", String(fps),
  ];
}
