import { z } from "zod";
import { Transition } from "./spec.ts";

/** The consistency report of `GET /api/video/{id}`: colour drift per chunk, and every seam of the stitched video scored. */

const DriftSummary = z.object({ mean: z.number(), max: z.number() });

/**
 * Colour consistency of one chunk, in CIEDE2000 units (ΔE ≈ 2.3 is a just-noticeable
 * difference). Palettes are media-node's 8-colour share-weighted palettes.
 */
export const ChunkConsistency = z.object({
  chunk_num: z.number().int(),
  beat_index: z.number().int().nullable(),
  /** Chunk's last frame → the three references' pooled palette (every colour of the frame to its nearest reference colour, share-weighted). */
  reference_drift: z.number().nullable(),
  flagged: z.boolean(),
});
export type ChunkConsistency = z.infer<typeof ChunkConsistency>;

/** Limits past which a seam inside a beat is flagged (worker/references/seam-scores.ts says how they were set). */
export const SeamThresholds = z.object({
  /** SSIM below this: the two sides of the join differ in structure. */
  ssim_min: z.number(),
  /** Palette ΔE2000 above this: the colours shift at the join. */
  palette_delta_e_max: z.number(),
  /** Jump ratio above this: the join changes the picture more than this many times the shot's own frame-to-frame change. */
  jump_ratio_max: z.number(),
});
export type SeamThresholds = z.infer<typeof SeamThresholds>;

export const SeamFlag = z.enum(["ssim", "palette", "jump", "transition"]);
export type SeamFlag = z.infer<typeof SeamFlag>;

/**
 * One seam of the video as the viewer sees it, measured on the stitched video by media-node
 * (media-node/video/seams.ts defines each measure).
 */
export const SeamScore = z.object({
  /** The chunk that starts at this seam. */
  chunk_num: z.number().int(),
  beat_index: z.number().int(),
  /** Output frame of the incoming chunk's first frame (of the transition window, for a blended one). */
  at_frame: z.number().int(),
  /** `within_beat`: a cut between two chunks of one continuous shot; `beat_transition`: the plan's transition between beats. */
  kind: z.enum(["within_beat", "beat_transition"]),
  transition: Transition,
  /** SSIM of the last frame before the seam and the first after it (1 = identical). */
  ssim: z.number(),
  /** ΔE2000 between the same two frames' palettes. */
  palette_delta_e: z.number(),
  /** The change at the join ÷ the shot's own frame-to-frame change around it (1 = an ordinary step). */
  jump_ratio: z.number(),
  /** Beat transitions: whether the viewer gets the planned transition (a cut at exactly its frame, a blend changing steadily across its window). Null inside a beat. */
  transition_delivered: z.boolean().nullable(),
  transition_detail: z.string().nullable(),
  /** Why the seam was not judged (the ad's overlays and captions cover too much of the frame around it; never flagged); null when judged. */
  unjudged: z.string().nullable(),
  /** Inside a beat: any measure past its threshold. At a beat transition: the planned transition is not what the viewer gets. */
  flagged: z.boolean(),
  flags: z.array(SeamFlag),
});
export type SeamScore = z.infer<typeof SeamScore>;

/** The seams of one stitched video, scored: what the stitch job stores and `consistency.seams` shows. */
export const SeamReport = z.object({
  thresholds: SeamThresholds,
  /** Frames media-node decoded to measure them, and how long it took. */
  decoded_frames: z.number().int(),
  measure_seconds: z.number(),
  seams: z.array(SeamScore),
});
export type SeamReport = z.infer<typeof SeamReport>;

export const ConsistencyReport = z.object({
  /** A chunk whose reference_drift is above this is flagged. */
  threshold: z.number(),
  reference_drift: DriftSummary.nullable(),
  flagged_chunks: z.array(z.number().int()),
  chunks: z.array(ChunkConsistency),
  /** Limits of the seam measures. */
  seam_thresholds: SeamThresholds,
  /** Every seam of the stitched video, in order; empty until the video is stitched and measured. */
  seams: z.array(SeamScore),
  /** `chunk_num` of every flagged seam (the chunk that starts there). */
  flagged_seams: z.array(z.number().int()),
  /** Over the seams inside beats: how far the joins jump (1 = like any other frame step). */
  within_beat_jump_ratio: DriftSummary.nullable(),
});
export type ConsistencyReport = z.infer<typeof ConsistencyReport>;
