import { z } from "zod";

/**
 * The VideoSpec: the plan every later phase reads. Timing is held in whole frames so that
 * nothing drifts between planning, chunking and stitching; seconds are derived.
 */

export const FPS = 24;

export const AspectRatio = z.enum(["16:9", "9:16", "1:1"]);
export type AspectRatio = z.infer<typeof AspectRatio>;

export const RESOLUTIONS: Record<AspectRatio, { width: number; height: number }> = {
  "16:9": { width: 1024, height: 576 },
  "9:16": { width: 576, height: 1024 },
  "1:1": { width: 768, height: 768 },
};

export const DurationSeconds = z.union([z.literal(15), z.literal(30), z.literal(60)]);
export type DurationSeconds = z.infer<typeof DurationSeconds>;

export const ArchetypeId = z.enum([
  "problem_solution",
  "product_showcase",
  "lifestyle_story",
  "testimonial",
  "launch_announcement",
]);
export type ArchetypeId = z.infer<typeof ArchetypeId>;

/** xfade transition names we offer; `cut` is a hard join with no overlap. */
export const TransitionType = z.enum([
  "cut",
  "fade",
  "dissolve",
  "fadeblack",
  "fadewhite",
  "wipeleft",
  "wiperight",
  "slideleft",
  "slideright",
  "circleopen",
  "smoothleft",
]);
export type TransitionType = z.infer<typeof TransitionType>;

export const Transition = z.object({
  type: TransitionType,
  /** Overlap in frames; 0 for a cut. */
  frames: z.number().int().min(0).max(48),
});
export type Transition = z.infer<typeof Transition>;

export const CameraMove = z.enum([
  "static",
  "push_in",
  "pull_out",
  "pan_left",
  "pan_right",
  "tilt_up",
  "tilt_down",
  "orbit",
  "handheld",
]);
export type CameraMove = z.infer<typeof CameraMove>;

export const SpecBeat = z.object({
  index: z.number().int().min(0),
  /** Beat id from the beat library, e.g. `hook`, `product_hero`. */
  beat_id: z.string().min(1).max(40),
  name: z.string().min(1).max(80),
  purpose: z.string().min(1).max(200),
  /** First on-screen frame of this beat in the final video. */
  start_frame: z.number().int().min(0),
  /** On-screen frames of this beat (the sum over beats is the video's length). */
  frames: z.number().int().min(12),
  /** Short visual prompt for this beat (no consistency context; that is added later). */
  prompt: z.string().min(1).max(700),
  camera: CameraMove,
  mood: z.string().min(1).max(60),
  /**
   * Transition into the next beat. Its overlap is rendered as extra frames at the end of
   * this beat, so a beat's rendered length is `frames + transition_out.frames`.
   */
  transition_out: Transition,
});
export type SpecBeat = z.infer<typeof SpecBeat>;

export const MusicBrief = z.object({
  mood: z.string().min(1).max(60),
  tempo_bpm: z.number().int().min(50).max(200),
  /** Relative energy per quarter of the ad, 0..1. */
  energy_curve: z.array(z.number().min(0).max(1)).min(2).max(8),
  /** Text prompt for a music model. */
  prompt: z.string().min(1).max(400),
});
export type MusicBrief = z.infer<typeof MusicBrief>;

export const SpecFacts = z.object({
  product: z.string().max(120),
  character: z.string().max(120),
  setting: z.string().max(120),
  brand: z.string().max(80).optional(),
  audience: z.string().max(120).optional(),
  keywords: z.array(z.string().max(40)).max(20),
});
export type SpecFacts = z.infer<typeof SpecFacts>;

export const VideoSpec = z.object({
  version: z.literal(1),
  archetype: ArchetypeId,
  title: z.string().min(1).max(120),
  duration_s: DurationSeconds,
  total_frames: z.number().int().positive(),
  fps: z.literal(FPS),
  aspect_ratio: AspectRatio,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  creativity_level: z.number().min(0).max(1),
  seed: z.number().int().min(0),
  pacing: z.string().min(1).max(60),
  /** A short look description shared by every shot, e.g. "warm cinematic daylight". */
  style: z.string().min(1).max(200),
  facts: SpecFacts,
  beats: z.array(SpecBeat).min(1).max(24),
  music: MusicBrief,
  planner: z.enum(["local", "openai"]),
}).superRefine((spec, ctx) => {
  // The timing invariants every later phase relies on; a spec that breaks one is refused.
  if (spec.total_frames !== spec.duration_s * FPS) {
    ctx.addIssue({ code: "custom", path: ["total_frames"], message: "total_frames must equal duration_s * fps" });
  }
  let next = 0;
  spec.beats.forEach((beat, i) => {
    if (beat.index !== i) ctx.addIssue({ code: "custom", path: ["beats", i, "index"], message: "beat indexes must run 0..n-1" });
    if (beat.start_frame !== next) ctx.addIssue({ code: "custom", path: ["beats", i, "start_frame"], message: "beats must be contiguous" });
    next += beat.frames;
    const last = i === spec.beats.length - 1;
    if (last && beat.transition_out.frames !== 0) {
      ctx.addIssue({ code: "custom", path: ["beats", i, "transition_out"], message: "the last beat has no outgoing overlap" });
    }
    if (beat.transition_out.type === "cut" && beat.transition_out.frames !== 0) {
      ctx.addIssue({ code: "custom", path: ["beats", i, "transition_out", "frames"], message: "a cut has no overlap" });
    }
    if (beat.transition_out.type !== "cut" && beat.transition_out.frames === 0) {
      ctx.addIssue({ code: "custom", path: ["beats", i, "transition_out", "frames"], message: "a blended transition needs an overlap" });
    }
  });
  if (next !== spec.total_frames) {
    ctx.addIssue({ code: "custom", path: ["beats"], message: `beats cover ${next} frames, expected ${spec.total_frames}` });
  }
  const expected = RESOLUTIONS[spec.aspect_ratio];
  if (spec.width !== expected.width || spec.height !== expected.height) {
    ctx.addIssue({ code: "custom", path: ["width"], message: `resolution must be ${expected.width}x${expected.height} for ${spec.aspect_ratio}` });
  }
});
export type VideoSpec = z.infer<typeof VideoSpec>;

/** Rendered frames of a beat: on-screen frames plus the overlap consumed by its outgoing transition. */
export function renderedFrames(beat: SpecBeat): number {
  return beat.frames + beat.transition_out.frames;
}

/** Stitched length in frames: every rendered frame minus every overlap. */
export function stitchedFrames(spec: Pick<VideoSpec, "beats">): number {
  return spec.beats.reduce((sum, b) => sum + renderedFrames(b) - b.transition_out.frames, 0);
}

export const MIN_CHUNK_FRAMES = 12;

/**
 * One chunk of the chunk plan (SPEC §7.1): a clip the video model renders. Planned
 * by the Worker, carried in queue jobs and shown in the live snapshot, hence a contract.
 */
export const ChunkPlan = z.object({
  /** Global, 0-based, in playback order. */
  chunk_num: z.number().int().min(0),
  beat_index: z.number().int().min(0),
  index_in_beat: z.number().int().min(0),
  chunks_in_beat: z.number().int().min(1),
  /** First frame of this chunk within its beat's rendered clip (0 for the first chunk). */
  start_frame: z.number().int().min(0),
  /** Where the chunk's first frame lands in the stitched video. */
  video_start_frame: z.number().int().min(0),
  frames: z.number().int().min(MIN_CHUNK_FRAMES),
  prompt: z.string().min(1).max(1400),
  camera: CameraMove,
  /** Join with the previous chunk (a cut inside a beat; the previous beat's transition at a beat's start). */
  seam_in: Transition,
  /** Join with the next chunk; its `frames` overlap this chunk's tail. */
  seam_out: Transition,
  first_in_beat: z.boolean(),
  last_in_beat: z.boolean(),
});
export type ChunkPlan = z.infer<typeof ChunkPlan>;
