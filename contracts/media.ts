import { z } from "zod";
import { copyText } from "./spec.ts";
import { Dimension, Hex, Url, VideoDimension, VideoFps } from "./media-fields.ts";
import { ChunkWindowRendered, ChunkWindows, Cue, StitchOverlay } from "./stitch.ts";

// Stitching, seams and progressive assembly (media-node/video/) are in their own module.
export * from "./stitch.ts";

/**
 * media-node's HTTP API. Every request is signed (contracts/signing.ts `signRequest`).
 * Inputs arrive as URLs (signed Worker media URLs or provider output URLs); outputs are
 * written with HTTP PUT to signed Worker media URLs, so media-node keeps no state.
 * Errors answer MediaError: 4xx for bad input, 5xx for processing failures (ffmpeg's own
 * message included).
 */

/**
 * media-node's error answer. `error` is for people (it usually begins with the field, but its
 * wording may change); `field` is for programs: what a refusal (4xx) is about, whenever media-node
 * knows. It is a path into the request body, dot-separated as zod spells an issue's path
 * (`width`, `layers.0.weight`, `voiceover.phrases.1.url`; `body` for the body as a whole): the
 * field a schema mismatch is at, the URL field whose fetch failed or was refused, the input whose
 * content was refused (`input_url`, `chunks.2`). Ingest names the image it read `image`
 * (INGEST_IMAGE_FIELD), not `source_url`: for a staged upload the URL is the Worker's and the
 * bytes are the client's, and the Worker tells the two apart by it (worker/references/assets.ts).
 * Absent on refusals about no request field (a bad signature, an unknown route) and on 5xx.
 */
export const MediaError = z.object({ error: z.string(), field: z.string().min(1).optional() });
export type MediaError = z.infer<typeof MediaError>;

/**
 * The largest request body media-node reads (its fastify `bodyLimit`): a bigger one is refused
 * 413 `{"error":"Request body is too large","field":"body"}` before its signature is checked.
 * Every body is JSON of URLs and numbers, so only a request built wrong comes near it.
 */
export const MEDIA_NODE_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** A body that fails its route's contract: the first issue, named by its path (see MediaError). */
export function contractRefusal(error: z.ZodError): MediaError & { field: string } {
  const issue = error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  return { error: `${field}: ${issue?.message ?? "invalid"}`, field };
}

// POST /v1/images/composite — weighted blend of layers (SPEC §7.2: 70/30).
export const CompositeRequest = z.object({
  layers: z.array(z.object({ url: Url, weight: z.number().min(0).max(1) })).min(1).max(4),
  width: Dimension,
  height: Dimension,
  output_url: Url,
});
export type CompositeRequest = z.infer<typeof CompositeRequest>;
export const CompositeResponse = z.object({ width: z.number(), height: z.number(), bytes: z.number() });

// POST /v1/media/images/reframe — one view of a picture, cut from inside it: what a camera that
// closed in (zoom > 1) and moved its centre by (dx, dy) shares of the frame sees. The Worker
// derives a beat's end frame from its storyboard frame with it (worker/chunks/conditioning.ts).
export const ReframeRequest = z
  .object({
    source_url: Url,
    zoom: z.number().min(1).max(4),
    dx: z.number().min(-0.5).max(0.5).default(0),
    dy: z.number().min(-0.5).max(0.5).default(0),
    width: Dimension,
    height: Dimension,
    output_url: Url,
  })
  .refine((r) => Math.abs(r.dx) + 0.5 / r.zoom <= 0.5 + 1e-9 && Math.abs(r.dy) + 0.5 / r.zoom <= 0.5 + 1e-9, {
    message: "the view must lie inside the picture: |dx| and |dy| at most 0.5 − 0.5/zoom",
    path: ["dx"],
  });
export type ReframeRequest = z.infer<typeof ReframeRequest>;
export const ReframeResponse = z.object({
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  /** The source rectangle that was cut, in source pixels. */
  crop: z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int(), height: z.number().int() }),
});
export type ReframeResponse = z.infer<typeof ReframeResponse>;

// POST /v1/media/images/palette-transfer — a picture's colours moved toward a target picture's,
// pixel for pixel (no blend with the target: its shapes never enter the output). Drift
// correction re-anchors a chunk's exact last frame on its storyboard's palette with it
// (docs/SEAMS.md).
export const PaletteTransferRequest = z.object({
  source_url: Url,
  target_url: Url,
  /** 0: the source unchanged; 1: the source's per-channel Lab mean and spread set to the target's. */
  strength: z.number().min(0).max(1).default(1),
  output_url: Url,
});
export type PaletteTransferRequest = z.infer<typeof PaletteTransferRequest>;
export const PaletteTransferResponse = z.object({
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  /** Palette distances (lib/color.ts `symmetricPaletteDistance`, ΔE2000) to the target before and after. */
  distance_before: z.number(),
  distance_after: z.number(),
});
export type PaletteTransferResponse = z.infer<typeof PaletteTransferResponse>;

// POST /v1/images/ingest — fetch an untrusted image, validate by decoding, store as PNG.
export const IngestImageRequest = z.object({
  source_url: Url,
  /**
   * `source_url` is the Worker's own storage holding a client's bytes it staged there (an
   * upload), not a URL a client gave. The fetch policy is the same; what changes is whose fault
   * a failed fetch is: our storage's (503 with Retry-After, try again), not the client's (422).
   * Only the Worker knows which URLs it minted, so only it may say so.
   */
  staged: z.boolean().default(false),
  output_url: Url,
  max_bytes: z.number().int().positive().default(15 * 1024 * 1024),
  max_pixels: z.number().int().positive().default(40_000_000),
});
export type IngestImageRequest = z.infer<typeof IngestImageRequest>;
/** The `field` of ingest's refusals of the image itself (its bytes, format, size), whoever's URL it came from. */
export const INGEST_IMAGE_FIELD = "image";
/**
 * Marks media-node's 503 for our storage failing a staged source, as opposed to a busy instance:
 * another instance would read the same storage, so the container pool passes it on at once
 * rather than trying the others (worker/media/container-pool.ts).
 */
export const STORAGE_UNAVAILABLE_HEADER = "x-media-node-storage-unavailable";
/** That 503's Retry-After: as the Worker's own answer to R2 failing. */
export const STORAGE_RETRY_AFTER_SECONDS = 2;
/**
 * What ingest accepts beyond the schema: the fetched file is held in memory and decoded whole, so
 * neither caller-given limit may be raised without bound; below `minSide` an image is an icon,
 * not a usable reference.
 */
export const INGEST_LIMITS = { maxBytesCeiling: 64 * 1024 * 1024, maxPixelsCeiling: 100_000_000, minSide: 64 } as const;
export const IngestImageResponse = z.object({
  width: z.number(),
  height: z.number(),
  format: z.enum(["png", "jpeg", "webp"]),
  bytes: z.number(),
});

// POST /v1/images/analyze — local (sharp) analysis of one image.
export const AnalyzeImageRequest = z.object({ url: Url });
export type AnalyzeImageRequest = z.infer<typeof AnalyzeImageRequest>;
export const PaletteEntry = z.object({ hex: Hex, share: z.number().min(0).max(1), lab: z.tuple([z.number(), z.number(), z.number()]) });
export type PaletteEntry = z.infer<typeof PaletteEntry>;
export const AnalyzeImageResponse = z.object({
  width: z.number(),
  height: z.number(),
  palette: z.array(PaletteEntry).min(1).max(8),
  brightness: z.number().min(0).max(1),
  contrast: z.number().min(0).max(1),
  saturation: z.number().min(0).max(1),
  /** Human-readable hints derived from the statistics, e.g. "bright, high-key lighting". */
  lighting: z.string(),
  style: z.string(),
});
export type AnalyzeImageResponse = z.infer<typeof AnalyzeImageResponse>;


// POST /v1/media/chunks/normalize — exact frame count, fps, size, yuv420p, closed GOP; plus last frame.
/** The x264 presets a chunk may be encoded with: they write the same SPS/PPS as the stitcher's windows (encoding.ts). */
export const ChunkPreset = z.enum(["veryfast", "superfast"]);
export type ChunkPreset = z.infer<typeof ChunkPreset>;

export const NormalizeChunkRequest = z
  .object({
    input_url: Url,
    width: VideoDimension,
    height: VideoDimension,
    fps: VideoFps,
    frames: z.number().int().min(1).max(24 * 60),
    /**
     * Frame indexes to force as keyframes (frame 0 always is one). Pass where the stitcher
     * will cut this chunk: the incoming transition's overlap (copying starts there; without
     * a keyframe the seam re-encode runs on to the next one, up to 24 frames) and
     * `frames − outgoing overlap` (the seam then decodes only the frames it blends).
     */
    keyframes: z.array(z.number().int().min(0)).max(64).default([]),
    output_url: Url,
    /** Also write the last frame (PNG) and return its palette; omitted when it was published already (`chunks/last-frame`). */
    last_frame_url: Url.optional(),
    /**
     * No other chunk of the video is still generating: the video's chunk phase ends when the
     * passes left, this one among them, are done. It runs as critical work (media-node/ffmpeg.ts),
     * ahead of windows and seam measures, is admitted like a finish (media-node/admission.ts)
     * rather than refused busy behind background encodes, and raises the video's passes still
     * running in the background (`video_id`) to normal priority: the phase waits on them too.
     */
    ends_chunk_phase: z.boolean().default(false),
    /** The video the chunk is of: which background passes `ends_chunk_phase` raises. */
    video_id: z.string().min(1).max(100).optional(),
    /**
     * x264's preset for the pass (media-node/video/encoding.ts CHUNK_ENCODING's, `veryfast`, when
     * absent). Only the presets whose parameter sets splice with the stitcher's windows are
     * accepted: `superfast` (a draft's chunks) spends less CPU for larger files.
     */
    preset: ChunkPreset.optional(),
    /**
     * The ad's decorations, in output frames, drawn on the chunk's own frames in this pass (the
     * pass encodes every frame anyway) for a chunk whose frame 0 lands at output frame
     * `output_from_frame`: those falling on it are drawn, the rest ignored. The stitch then
     * copies its decorated frames instead of re-encoding them. The last frame (PNG) stays
     * undecorated: it conditions the next chunk.
     */
    decorations: z
      .object({
        output_from_frame: z.number().int().min(0),
        overlays: z.array(StitchOverlay).max(32).default([]),
        captions: z.object({ cues: z.array(Cue).min(1).max(400) }).nullish(),
      })
      .optional(),
    /** The windows the chunk leaves, rendered after the pass from its output (the last chunk's: ChunkWindows). */
    windows: ChunkWindows.optional(),
  })
  .refine((r) => r.keyframes.every((k) => k < r.frames), { message: "keyframes must be frame indexes below frames", path: ["keyframes"] })
  .refine((r) => !r.windows || r.windows.chunks[r.windows.chunk]?.frames === r.frames, { message: "windows.chunks[windows.chunk] must have the chunk's frames", path: ["windows", "chunks"] });
export type NormalizeChunkRequest = z.infer<typeof NormalizeChunkRequest>;
export const NormalizeChunkResponse = z.object({
  frames: z.number(),
  duration_s: z.number(),
  bytes: z.number(),
  /** Keyframe indexes the normalized chunk really has (frame 0, the requested ones, GOP starts). */
  keyframes: z.array(z.number()),
  /** Palette of the last frame (the frame the next chunk is conditioned on); empty when no last_frame_url was given. */
  palette: z.array(PaletteEntry),
  /** Chunk frames [from, to) that carry a decoration drawn in this pass (`decorations`), merged; [] without. */
  decorated: z.array(z.object({ from: z.number().int(), to: z.number().int() })),
  /** With `windows`: those rendered (none when more than its URLs), else absent. */
  windows: z.array(ChunkWindowRendered).optional(),
});
export type NormalizeChunkResponse = z.infer<typeof NormalizeChunkResponse>;

// POST /v1/media/chunks/last-frame — the last frame of the chunk `chunks/normalize` would make
// from this clip (same size, rate and length rules), without encoding the chunk: the next
// chunk of a beat is conditioned on it and need not wait for the normalize pass.
export const LastFrameRequest = z.object({
  input_url: Url,
  width: VideoDimension,
  height: VideoDimension,
  fps: VideoFps,
  frames: z.number().int().min(1).max(24 * 60),
  last_frame_url: Url,
  /**
   * Also store the provider's clip as it came (SPEC §7.4: each chunk is stored under the
   * video), so the normalize pass and its retries never depend on the provider keeping it
   * (Replicate deletes outputs after an hour).
   */
  raw_url: Url.optional(),
  /**
   * The next chunk of the beat is created from this frame (the default). False for a beat's last
   * chunk, from whose frame nothing is created: its extraction still runs as critical work (the
   * chunk's normalize pass waits on this answer), but after every frame a chain waits on.
   */
  chained: z.boolean().default(true),
  /**
   * Chunks of the beat still to come after this one, each created from the previous one's frame:
   * among frames extracted at once, those with more of the chain behind them go first.
   */
  chain_after: z.number().int().min(0).max(10_000).default(0),
});
export type LastFrameRequest = z.infer<typeof LastFrameRequest>;
export const LastFrameResponse = z.object({
  width: z.number().int(),
  height: z.number().int(),
  palette: z.array(PaletteEntry),
});
export type LastFrameResponse = z.infer<typeof LastFrameResponse>;


/**
 * Where a line's speech is in its audio, as `audio/speech` found it: the line decoded, resampled
 * to 48 kHz mono float (the mix's format), its leading and trailing quiet cut. The mix cuts the
 * speech out there instead of finding it again (one trim per line, in the route that times the
 * captions). It holds for the bytes it was measured on only, named by their digest.
 */
export const SpeechSpan = z.object({
  /** SHA-256 (hex) of the audio file measured. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256"),
  /** The first sample of speech, counted from the first decoded sample at 48 kHz. */
  start_sample: z.number().int().min(0),
  /** Samples of speech from there (48 kHz): seconds of speech × 48 000. */
  samples: z.number().int().min(1),
});
export type SpeechSpan = z.infer<typeof SpeechSpan>;

/** One spoken line of the voiceover: its speech (any audio file) and where its speech starts. */
export const VoicePhrase = z.object({
  /** The line as rendered by the voice model (draft: espeak-ng WAV; real: the TTS model's output). */
  url: Url,
  /** What is said: the caption text. */
  text: copyText(200),
  /** The script line's `start_frame`: the first sample of speech lands exactly here. */
  at_frame: z.number().int().min(0),
  /** Where its speech is, as `audio/speech` answered for this file (absent: the mix finds it). A span measured on other bytes is a 422. */
  speech: SpeechSpan.optional(),
});
export type VoicePhrase = z.infer<typeof VoicePhrase>;

export const VoiceoverMix = z.object({
  phrases: z.array(VoicePhrase).min(1).max(24),
  /** How far the music bed is lowered under speech. */
  duck_db: z.number().min(6).max(30).default(12),
  /** Also store the placed voice alone (.m4a, at its level in the mix). */
  voice_url: Url.optional(),
  /** Also store the WebVTT captions of the spoken lines. */
  captions_url: Url.optional(),
});

// POST /v1/media/audio/speech — one spoken line's speech measured as the soundtrack mix trims it:
// the captions' timing, known as soon as every line is stored, before the mix.
export const SpeechTimingRequest = z.object({ url: Url });
export type SpeechTimingRequest = z.infer<typeof SpeechTimingRequest>;
export const SpeechTimingResponse = z.object({
  /** Seconds of speech once the leading and trailing quiet are trimmed. */
  speech_s: z.number().positive(),
  /** Where that speech is: handed back to `audio/prepare` with the line, so the mix does not trim it again. */
  span: SpeechSpan,
});
export type SpeechTimingResponse = z.infer<typeof SpeechTimingResponse>;

// POST /v1/media/audio/prepare — the soundtrack, prepared while chunks still render: the music
// bed looped or cut to the exact length and faded, with the voiceover (when given) placed on
// the beats and the bed ducked under it, loudness-normalized, AAC in .m4a.
export const PrepareMusicRequest = z
  .object({
    music_url: Url,
    frames: z.number().int().min(1).max(24 * 60 * 5),
    fps: VideoFps,
    loudness_lufs: z.number().min(-30).max(-5).default(-14),
    true_peak_db: z.number().min(-9).max(0).default(-1),
    fade_in_s: z.number().min(0).max(5).default(0.5),
    fade_out_s: z.number().min(0).max(5).default(1.5),
    voiceover: VoiceoverMix.nullish(),
    output_url: Url,
  })
  .refine((r) => r.fade_in_s + r.fade_out_s <= r.frames / r.fps, { message: "fade_in_s + fade_out_s must fit in the video's length", path: ["fade_out_s"] })
  .superRefine((r, ctx) => {
    r.voiceover?.phrases.forEach((phrase, i, all) => {
      if (phrase.at_frame >= r.frames) ctx.addIssue({ code: "custom", path: ["voiceover", "phrases", i, "at_frame"], message: `must be within the ${r.frames} frames` });
      if (i > 0 && phrase.at_frame <= all[i - 1]!.at_frame) ctx.addIssue({ code: "custom", path: ["voiceover", "phrases", i, "at_frame"], message: "phrases must be in time order" });
    });
  });
export type PrepareMusicRequest = z.infer<typeof PrepareMusicRequest>;
export const PrepareMusicResponse = z.object({
  duration_s: z.number(),
  bytes: z.number(),
  /** Measured on the encoded output (EBU R128). */
  integrated_lufs: z.number(),
  true_peak_db: z.number(),
  /** `linear`: one gain, the music's dynamics untouched; `limited`: gain into a true-peak limiter, when one gain would break the ceiling. */
  normalization: z.enum(["linear", "limited"]),
  /** How many times the source was played to fill the length (1 = cut, no loop). */
  loops: z.number(),
  voiceover: z
    .object({
      /** Where each line's speech was placed and how long it runs (after trimming its silence). */
      phrases: z.array(z.object({ text: z.string(), start_s: z.number(), duration_s: z.number(), /** >1: sped up to fit before the next line. */ tempo: z.number() })),
      /** The captions, for the sidecar and for burning in (StitchRequest.captions). */
      cues: z.array(Cue),
      duck_db: z.number(),
      voice_bytes: z.number().nullable(),
      captions_bytes: z.number().nullable(),
    })
    .nullable(),
});
export type PrepareMusicResponse = z.infer<typeof PrepareMusicResponse>;

// POST /v1/media/audio/mux — the only audio step on the critical path: stream-copy video + prepared music.
export const MuxRequest = z.object({
  video_url: Url,
  audio_url: Url,
  output_url: Url,
});
export type MuxRequest = z.infer<typeof MuxRequest>;
export const MuxResponse = z.object({
  duration_s: z.number(),
  video_duration_s: z.number(),
  audio_duration_s: z.number(),
  bytes: z.number(),
});
export type MuxResponse = z.infer<typeof MuxResponse>;

const Box = z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int(), height: z.number().int() });

// POST /v1/media/finish/overlays — the ad's on-screen copy as full-frame RGBA PNG layers at the
// video's size, placed in its safe area; the stitch composites them (StitchRequest.overlays).
export const RenderOverlaysRequest = z.object({
  width: VideoDimension,
  height: VideoDimension,
  /** Absent: no headline layer. */
  headline: z.object({ text: copyText(60), output_url: Url }).nullish(),
  end_card: z.object({
    brand: copyText(40),
    /** The brand's own logo (the stored brand asset), composited as it is; without one the brand name is set in type. */
    logo_url: Url.nullish(),
    offer: copyText(60).nullish(),
    cta: copyText(40),
    /** Call-to-action button colour; its type is black or white, whichever contrasts more. */
    accent: Hex.default("#E4572E"),
    output_url: Url,
  }),
});
export type RenderOverlaysRequest = z.infer<typeof RenderOverlaysRequest>;
const OverlayLayerInfo = z.object({
  bytes: z.number().int(),
  /** Where the layer's visible content is. */
  box: Box,
});
export const RenderOverlaysResponse = z.object({
  width: z.number().int(),
  height: z.number().int(),
  /** The area all copy was kept inside (see media-node/finish/layout.ts). */
  safe_area: Box,
  headline: OverlayLayerInfo.nullable(),
  end_card: OverlayLayerInfo.extend({
    /** `asset`: the uploaded logo; `wordmark`: the brand name set in type. */
    logo: z.enum(["asset", "wordmark"]),
    mark_box: Box,
    cta_box: Box,
  }),
});
export type RenderOverlaysResponse = z.infer<typeof RenderOverlaysResponse>;
