import { z } from "zod";
import { COPY_FORBIDDEN, Transition, TransitionType, copyText } from "./spec.ts";

/**
 * media-node's HTTP API. Every request is signed (contracts/signing.ts `signRequest`).
 * Inputs arrive as URLs (signed Worker media URLs or provider output URLs); outputs are
 * written with HTTP PUT to signed Worker media URLs, so media-node keeps no state.
 * Errors answer `{ error: string }` with 4xx for bad input and 5xx for processing failures
 * (ffmpeg's own message included).
 */

export const Url = z.string().url().max(4096);
export const Dimension = z.number().int().min(16).max(4096);
const Hex = z.string().regex(/^#[0-9A-F]{6}$/);

export const MediaError = z.object({ error: z.string() });

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
  output_url: Url,
  max_bytes: z.number().int().positive().default(15 * 1024 * 1024),
  max_pixels: z.number().int().positive().default(40_000_000),
});
export type IngestImageRequest = z.infer<typeof IngestImageRequest>;
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

/** H.264 yuv420p needs even sides (4:2:0 chroma is subsampled 2x2). */
const VideoDimension = Dimension.refine((n) => n % 2 === 0, { message: "must be even for yuv420p" });
const VideoFps = z.number().int().min(1).max(60);

// POST /v1/media/chunks/normalize — exact frame count, fps, size, yuv420p, closed GOP; plus last frame.
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
  })
  .refine((r) => r.keyframes.every((k) => k < r.frames), { message: "keyframes must be frame indexes below frames", path: ["keyframes"] });
export type NormalizeChunkRequest = z.infer<typeof NormalizeChunkRequest>;
export const NormalizeChunkResponse = z.object({
  frames: z.number(),
  duration_s: z.number(),
  bytes: z.number(),
  /** Keyframe indexes the normalized chunk really has (frame 0, the requested ones, GOP starts). */
  keyframes: z.array(z.number()),
  /** Palette of the last frame (the frame the next chunk is conditioned on); empty when no last_frame_url was given. */
  palette: z.array(PaletteEntry),
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
});
export type LastFrameRequest = z.infer<typeof LastFrameRequest>;
export const LastFrameResponse = z.object({
  width: z.number().int(),
  height: z.number().int(),
  palette: z.array(PaletteEntry),
});
export type LastFrameResponse = z.infer<typeof LastFrameResponse>;

const StitchMethod = z.enum(["seams", "single_pass"]);

/** One caption: `text` (one or two lines, `\n` between them) on screen from `start_s` to `end_s`. */
export const Cue = z.object({
  start_s: z.number().min(0),
  end_s: z.number().positive(),
  text: z
    .string()
    .min(1)
    .max(200)
    .refine((t) => t.split("\n").every((line) => line.trim() !== "" && !COPY_FORBIDDEN.test(line)), "must be one or two non-empty lines without control or markup characters"),
}).refine((c) => c.end_s > c.start_s, { message: "end_s must be after start_s", path: ["end_s"] });
export type Cue = z.infer<typeof Cue>;

/** Output frames [from, to) that show a cue: frame n is on screen from n / fps. */
export function cueFrames(cue: Pick<Cue, "start_s" | "end_s">, fps: number): { from: number; to: number } {
  return { from: Math.ceil(cue.start_s * fps - 1e-6), to: Math.ceil(cue.end_s * fps - 1e-6) };
}

/** An RGBA PNG at the video's size drawn over output frames [from_frame, to_frame). */
export const StitchOverlay = z
  .object({ url: Url, from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })
  .refine((o) => o.to_frame > o.from_frame, { message: "to_frame must be after from_frame", path: ["to_frame"] });
export type StitchOverlay = z.infer<typeof StitchOverlay>;

/**
 * Keyframes a chunk needs so the stitch can copy again right after each decoration (overlay or
 * burned cue) that ends inside it: the chunk frame where each range ends, for a chunk whose
 * first frame lands at output frame `video_start_frame`. Pass them with the seam keyframes to
 * `chunks/normalize`; without them the stitch re-encodes on to the chunk's next keyframe
 * (at most CHUNK_ENCODING's 24 frames later).
 */
export function decorationKeyframes(chunk: { video_start_frame: number; frames: number }, ranges: readonly { to_frame: number }[]): number[] {
  const local = ranges.map((r) => r.to_frame - chunk.video_start_frame).filter((k) => k > 0 && k < chunk.frames);
  return [...new Set(local)].sort((a, b) => a - b);
}

/**
 * Burned cues held on screen to the next keyframe of the stitched video (at most a GOP, 1 s),
 * never into the next cue; `normalized[i].keyframes` are chunk i's (`chunks/normalize`'s
 * answer), and chunk i starts at output frame `chunks[i].video_start_frame`. For a chunk
 * normalized before the voice was timed (no keyframe where its cues end), copying resumes only
 * at its next keyframe: the re-encode runs on anyway, and with this every re-encoded frame
 * carries its caption. The WebVTT sidecar keeps the voice's exact timing.
 */
export function holdCuesToKeyframes(
  cues: readonly Cue[],
  chunks: readonly { video_start_frame: number }[],
  normalized: readonly { keyframes?: readonly number[] }[],
  fps: number,
  totalFrames: number,
): Cue[] {
  const keyframes = chunks.flatMap((chunk, i) => (normalized[i]?.keyframes ?? []).map((k) => chunk.video_start_frame + k)).sort((a, b) => a - b);
  return cues.map((cue, i) => {
    const end = cueFrames(cue, fps).to;
    const next = i + 1 < cues.length ? cueFrames(cues[i + 1]!, fps).from : totalFrames;
    const keyframe = keyframes.find((k) => k >= end);
    if (keyframe === undefined || keyframe === end) return cue;
    return { ...cue, end_s: Math.max(cue.end_s, Math.min(keyframe, next, totalFrames) / fps) };
  });
}

/** What every way of stitching shares: the transitions, the frame, and what is drawn over it. */
const StitchFrame = z.object({
  /** transitions[i] joins chunks[i] and chunks[i+1]; frames is the overlap (0 for cut, >0 otherwise). */
  transitions: z.array(z.object({ type: TransitionType, frames: z.number().int().min(0).max(48) })),
  width: VideoDimension,
  height: VideoDimension,
  fps: VideoFps,
  /**
   * Layers drawn over frame ranges (the headline, the end card), in stacking order. Only the
   * frames they cover are re-encoded; copying resumes at the first keyframe at or after an
   * overlay's end, so chunks should be normalized with a keyframe there (see README, "Ad finish").
   */
  overlays: z.array(StitchOverlay).max(32).default([]),
  /**
   * Burned captions (libass): each cue's frames are drawn on and re-encoded, like an overlay's.
   * Absent for `sidecar` and `none`.
   */
  captions: z.object({ cues: z.array(Cue).min(1).max(400) }).nullish(),
});

function checkSeams<S extends z.ZodType<{ chunks: unknown[]; transitions: { type: string; frames: number }[] }>>(schema: S) {
  return schema
    .refine((r) => r.transitions.length === r.chunks.length - 1, { message: "transitions must have one entry per seam", path: ["transitions"] })
    .refine((r) => r.transitions.every((t) => (t.type === "cut") === (t.frames === 0)), {
      message: "a cut has 0 overlap frames and every other transition needs at least 1",
      path: ["transitions"],
    });
}

const StitchedChunk = z.object({ url: Url, frames: z.number().int().min(1) });

// POST /v1/media/videos/stitch — join normalized chunks with transitions between consecutive chunks.
export const StitchRequest = checkSeams(
  StitchFrame.extend({
    chunks: z.array(StitchedChunk).min(1).max(200),
    method: StitchMethod.default("seams"),
    output_url: Url,
  }),
);
export type StitchRequest = z.infer<typeof StitchRequest>;
export const StitchResponse = z.object({
  /** Σ chunk frames − Σ overlaps, counted in the output. */
  frames: z.number(),
  duration_s: z.number(),
  bytes: z.number(),
  method: StitchMethod,
  /** Wall time of the ffmpeg work (downloads and upload excluded). */
  encode_seconds: z.number(),
  /** Frames joined by stream copy, not re-encoded (0 for single_pass). */
  copied_frames: z.number(),
  /** Frames that carry an overlay or a burned caption (all of them re-encoded). */
  decorated_frames: z.number(),
});
export type StitchResponse = z.infer<typeof StitchResponse>;

/** One join in a stitched video: where the incoming chunk's first frame is, and how it was joined. */
export const SeamSpec = z.object({
  /** Output frame where the incoming chunk starts (for a blended transition, the window's first frame). */
  at_frame: z.number().int().min(1),
  transition: Transition,
  /** A cut between two chunks of one beat (one continuous shot), not a beat's planned transition. */
  within_beat: z.boolean(),
});
export type SeamSpec = z.infer<typeof SeamSpec>;

// POST /v1/media/videos/seams — how each seam of a stitched video looks to a viewer
// (media-node/video/seams.ts defines every measure). Only the frames around the seams are
// decoded, at a small size.
/**
 * Output frames [from_frame, to_frame) of the video, stored as frames [file_from_frame, …) of
 * the file at url: progressive assembly has no stitched file, and measures a seam on the pieces
 * the final MP4 will be joined from (a chunk's copied frames, a window's encoded ones).
 */
export const SeamPiece = z
  .object({ url: Url, from_frame: z.number().int().min(0), to_frame: z.number().int().min(1), file_from_frame: z.number().int().min(0) })
  .refine((p) => p.to_frame > p.from_frame, { message: "to_frame must be after from_frame", path: ["to_frame"] });
export type SeamPiece = z.infer<typeof SeamPiece>;

export const SeamsRequest = z
  .object({
    /** The stitched video; or, without one, `pieces`. */
    video_url: Url.optional(),
    pieces: z.array(SeamPiece).min(1).max(64).optional(),
    /**
     * Indexes into `seams` of those to measure (default all); the others only bound their
     * neighbours' motion steps, so a seam measured alone gets the measures of the whole list.
     */
    measure: z.array(z.number().int().min(0)).min(1).max(400).optional(),
    width: VideoDimension,
    height: VideoDimension,
    fps: VideoFps,
    /** Frames of the video. */
    frames: z.number().int().min(2).max(24 * 60 * 5),
    seams: z.array(SeamSpec).max(400),
    /**
     * What the stitch drew over the pictures: the same overlays and (held) burned cues it was
     * given. The measures leave the rows those cover out (docs/SEAMS.md, "Decorations"), so a
     * caption or a layer appearing is never judged as a jump or a second cut.
     */
    decorations: z
      .object({ overlays: z.array(StitchOverlay).max(32).default([]), captions: z.object({ cues: z.array(Cue).min(1).max(400) }).nullish() })
      .default({ overlays: [] }),
  })
  .superRefine((r, ctx) => {
    if ((r.video_url === undefined) === (r.pieces === undefined)) ctx.addIssue({ code: "custom", path: ["video_url"], message: "give either video_url or pieces" });
    r.measure?.forEach((index, i) => {
      if (index >= r.seams.length) ctx.addIssue({ code: "custom", path: ["measure", i], message: `no seams[${index}]: ${r.seams.length} seams` });
    });
    r.pieces?.forEach((piece, i) => {
      if (piece.to_frame > r.frames) ctx.addIssue({ code: "custom", path: ["pieces", i, "to_frame"], message: `after the video's ${r.frames} frames` });
    });
    r.seams.forEach((seam, i) => {
      if (seam.at_frame + seam.transition.frames >= r.frames) ctx.addIssue({ code: "custom", path: ["seams", i, "at_frame"], message: `the seam and its window must end before the video's last frame (${r.frames - 1})` });
      if (i > 0 && seam.at_frame <= r.seams[i - 1]!.at_frame + r.seams[i - 1]!.transition.frames) ctx.addIssue({ code: "custom", path: ["seams", i, "at_frame"], message: "seams must be in order and must not overlap" });
      if (seam.within_beat && seam.transition.type !== "cut") ctx.addIssue({ code: "custom", path: ["seams", i, "transition"], message: "chunks of one beat join with a cut" });
    });
  });
export type SeamsRequest = z.infer<typeof SeamsRequest>;
export const SeamMeasure = z.object({
  at_frame: z.number().int(),
  within_beat: z.boolean(),
  transition: Transition,
  /** SSIM of the frame before the seam and the first frame after it (after its window, for a blended transition). */
  ssim: z.number(),
  /** Symmetric ΔE2000 of the same two frames' palettes. */
  palette_delta_e: z.number(),
  /** Mean absolute luma difference (0..255) from the frame before the seam to the one at it. */
  difference: z.number(),
  /** Median frame difference inside the chunks either side (the local motion), floored. */
  motion: z.number(),
  /** difference ÷ motion. */
  jump_ratio: z.number(),
  /** For a beat's transition: is the planned transition what the viewer gets? Null inside a beat, and for a seam not judged. */
  transition_check: z.object({ delivered: z.boolean(), detail: z.string() }).nullable(),
  /** Analysis rows [from, to) every measure above read: the largest band no decoration covers around the seam. */
  rows: z.object({ from: z.number().int(), to: z.number().int() }),
  /** Why the seam could not be judged (decorations cover too much of the frame around it; measured on the whole frame, never flagged); null when judged. */
  unjudged: z.string().nullable(),
});
export type SeamMeasure = z.infer<typeof SeamMeasure>;
export const SeamsResponse = z.object({
  /** The size frames were measured at. */
  analysis_width: z.number().int(),
  analysis_height: z.number().int(),
  decoded_frames: z.number().int(),
  /** Wall time of decoding and measuring (download excluded). */
  measure_seconds: z.number(),
  seams: z.array(SeamMeasure),
});
export type SeamsResponse = z.infer<typeof SeamsResponse>;
/** Output frames [from_frame, to_frame) of the stitched video. */
const FrameWindow = z
  .object({ from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })
  .refine((w) => w.to_frame > w.from_frame, { message: "to_frame must be after from_frame", path: ["to_frame"] });

// POST /v1/media/videos/stitch/window — progressive assembly: render one encode span of the
// seam plan (a transition window, or frames under a decoration) as soon as the chunks it reads
// are normalized. Chunks not normalized yet are given by their frame count alone (url null).
export const StitchWindowRequest = checkSeams(
  StitchFrame.extend({
    chunks: z.array(z.object({ url: Url.nullable(), frames: z.number().int().min(1) })).min(1).max(200),
    window: FrameWindow,
    output_url: Url,
  }),
);
export type StitchWindowRequest = z.infer<typeof StitchWindowRequest>;
export const StitchWindowResponse = z.object({
  frames: z.number(),
  /** Indexes of the chunks the window reads. */
  chunks: z.array(z.number()),
  decorated_frames: z.number(),
  encode_seconds: z.number(),
});
export type StitchWindowResponse = z.infer<typeof StitchWindowResponse>;

// POST /v1/media/videos/assemble — progressive assembly's last step: the chunks and every
// window rendered for them joined by stream copy, the prepared music muxed in the same pass,
// into the final MP4.
export const AssembleRequest = checkSeams(
  StitchFrame.extend({
    chunks: z.array(StitchedChunk).min(1).max(200),
    windows: z.array(z.object({ url: Url, from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })).max(400),
    /**
     * Windows not rendered yet (the last chunk's own): rendered in this request, before the
     * concat, each also stored at its output_url (the seam measures read it afterwards). Saves
     * the last chunk a request and a queue hop.
     */
    render_windows: z.array(z.object({ output_url: Url, from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })).max(400).default([]),
    audio_url: Url,
    output_url: Url,
  }),
);
export type AssembleRequest = z.infer<typeof AssembleRequest>;
export const AssembleResponse = z.object({
  frames: z.number(),
  duration_s: z.number(),
  video_duration_s: z.number(),
  audio_duration_s: z.number(),
  bytes: z.number(),
  copied_frames: z.number(),
  /** Frames that carry a decoration (encoded in their windows). */
  decorated_frames: z.number(),
  /** Wall time of the ffmpeg work (downloads and upload excluded). */
  encode_seconds: z.number(),
});
export type AssembleResponse = z.infer<typeof AssembleResponse>;

/** One spoken line of the voiceover: its speech (any audio file) and where its speech starts. */
export const VoicePhrase = z.object({
  /** The line as rendered by the voice model (draft: espeak-ng WAV; real: the TTS model's output). */
  url: Url,
  /** What is said: the caption text. */
  text: copyText(200),
  /** The script line's `start_frame`: the first sample of speech lands exactly here. */
  at_frame: z.number().int().min(0),
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
