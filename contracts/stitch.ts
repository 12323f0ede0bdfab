import { z } from "zod";
import { COPY_FORBIDDEN, Transition, TransitionType } from "./spec.ts";
import { Url, VideoDimension, VideoFps } from "./media-fields.ts";

/**
 * media-node's stitching contracts (re-exported by contracts/media.ts, where the conventions of
 * its API are): captions and overlay layers, the one-shot stitch, the seam measures, and
 * progressive assembly's windows and final assembly.
 */

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

/**
 * The etag storage holds for a piece now (R2's: the MD5 of a single PUT's bytes): media-node
 * reads a piece it stored itself from its own copy when that copy has these bytes
 * (media-node/piece-cache.ts), else downloads it.
 */
const Etag = z.string().regex(/^"?[0-9A-Za-z-]{1,64}"?$/, "an etag");

// POST /v1/media/videos/seams — how each seam of a stitched video looks to a viewer
// (media-node/video/seams.ts defines every measure). Only the frames around the seams are
// decoded, at a small size.
/**
 * Output frames [from_frame, to_frame) of the video, stored as frames [file_from_frame, …) of
 * the file at url: progressive assembly has no stitched file, and measures a seam on the pieces
 * the final MP4 will be joined from (a chunk's copied frames, a window's encoded ones).
 */
export const SeamPiece = z
  .object({ url: Url, etag: Etag.optional(), from_frame: z.number().int().min(0), to_frame: z.number().int().min(1), file_from_frame: z.number().int().min(0) })
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
    chunks: z.array(z.object({ url: Url.nullable(), etag: Etag.optional(), frames: z.number().int().min(1) })).min(1).max(200),
    window: FrameWindow,
    output_url: Url,
  }),
);
export type StitchWindowRequest = z.infer<typeof StitchWindowRequest>;
/**
 * With `chunks/normalize`: the windows the chunk leaves once every other chunk is normalized
 * (the last chunk's), rendered in its own pass from the chunk just normalized and its neighbours'
 * stored copies: every encode span of the seam plan that reads chunk `chunk` (its own `url` is
 * ignored), each stored to the next of `output_urls`, in frame order. More spans than URLs: none
 * is rendered (the final assembly renders them).
 */
export const ChunkWindows = checkSeams(
  StitchFrame.pick({ transitions: true, overlays: true, captions: true }).extend({
    chunk: z.number().int().min(0),
    chunks: z.array(z.object({ url: Url.nullable(), etag: Etag.optional(), frames: z.number().int().min(1) })).min(1).max(200),
    output_urls: z.array(Url).min(1).max(8),
  }),
).refine((w) => w.chunk < w.chunks.length, { message: "chunk must be an index of chunks", path: ["chunk"] });
export type ChunkWindows = z.infer<typeof ChunkWindows>;
/** A window a chunk's normalize pass rendered: its output frames, and which of `output_urls` holds it. */
export const ChunkWindowRendered = z.object({ from_frame: z.number().int(), to_frame: z.number().int(), output: z.number().int(), frames: z.number().int(), decorated_frames: z.number() });
export type ChunkWindowRendered = z.infer<typeof ChunkWindowRendered>;

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
    chunks: z.array(StitchedChunk.extend({ etag: Etag.optional() })).min(1).max(200),
    windows: z.array(z.object({ url: Url, etag: Etag.optional(), from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })).max(400),
    /**
     * Windows not rendered yet (the last chunk's own): rendered in this request, before the
     * concat, each also stored at its output_url (the seam measures read it afterwards). Saves
     * the last chunk a request and a queue hop.
     */
    render_windows: z.array(z.object({ output_url: Url, from_frame: z.number().int().min(0), to_frame: z.number().int().min(1) })).max(400).default([]),
    audio_url: Url,
    audio_etag: Etag.optional(),
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
  /** The windows rendered in this request (render_windows): their frames, and the part of encode_seconds they took. */
  rendered_frames: z.number(),
  render_seconds: z.number(),
  /** Of encode_seconds, the stream-copy concat with the music (its ffmpeg process, from asking for a slot to its exit); encode_seconds less this and render_seconds is the probes and the final file's facts. */
  concat_seconds: z.number().min(0).default(0),
  /** Wall time of storing the final file (its upload to output_url, with the windows' rendered here still going up) after the concat, beside the ffprobe of its facts: not in encode_seconds. */
  store_seconds: z.number().min(0).default(0),
  /** Inputs (chunks, windows, the soundtrack) read from media-node's own copies rather than downloaded (media-node/piece-cache.ts). */
  kept_pieces: z.number().int().min(0).default(0),
});
export type AssembleResponse = z.infer<typeof AssembleResponse>;
