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

/**
 * Voiceover pacing. 2.5 words a second (150 words a minute) is an unhurried ad read: broadcast
 * voiceover runs at about 150–160 wpm, and synthetic voices at their default rate a little
 * faster, so a line written to this budget fits its beat with room to spare. Each line starts
 * VOICE_LEAD_IN_FRAMES after its beat starts and its budget leaves out VOICE_BREATH_S (that
 * lead-in plus a pause before the next beat).
 */
export const VOICE_WORDS_PER_SECOND = 2.5;
export const VOICE_LEAD_IN_FRAMES = 6;
export const VOICE_BREATH_S = 0.5;

/** Most words a voice line may have on a beat of `frames` on-screen frames. */
export function voiceWordBudget(frames: number): number {
  return Math.max(0, Math.floor(VOICE_WORDS_PER_SECOND * (frames / FPS - VOICE_BREATH_S) + 1e-9));
}

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

/**
 * Characters on-screen copy may not contain: control characters, and the markup characters of
 * the renderers the words pass through (Pango for overlays, libass for burned captions,
 * WebVTT for the sidecar). Each renderer escapes the rest (& ' ") itself.
 */
export const COPY_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029<>{}\[\]\\|`]/;

/** Words shown on screen or spoken: one line, trimmed, none of COPY_FORBIDDEN. */
export function copyText(max: number) {
  return z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !COPY_FORBIDDEN.test(value), "must not contain control characters or any of < > { } [ ] \\ | `");
}

/** A voice by name: an espeak-ng voice for draft (`en-us`), the TTS model's `voice_id` for real (`Wise_Woman`). */
export const VoiceName = z.string().regex(/^[A-Za-z][A-Za-z0-9_+-]{0,47}$/, "must be a voice name such as en-us or Wise_Woman");

/**
 * `burned`: drawn into the picture (libass), for feeds that autoplay muted and take no caption
 * files; `sidecar`: a WebVTT file beside the video only; `none`.
 */
export const CaptionsMode = z.enum(["burned", "sidecar", "none"]);
export type CaptionsMode = z.infer<typeof CaptionsMode>;

/** One spoken line of the script, on one beat. */
export const VoiceLine = z.object({
  beat_index: z.number().int().min(0),
  text: copyText(200),
  /** Where the line starts in the ad: its beat's first frame plus VOICE_LEAD_IN_FRAMES. */
  start_frame: z.number().int().min(0),
  /** voiceWordBudget of its beat; the line has at most this many words. */
  max_words: z.number().int().min(1),
});
export type VoiceLine = z.infer<typeof VoiceLine>;

/**
 * Everything the finish renders from words: the on-screen copy (headline on one beat, the end
 * card with the logo or brand name, the offer and the call to action from `end_card_beat` to
 * the end), the voiceover script (at most one line per beat, none on some) and the captions
 * mode. Written by the planner from the brief, with the request's overrides applied.
 */
export const AdCopy = z.object({
  /** Set in type on the end card when there is no logo, and spoken. */
  brand: copyText(40),
  headline: copyText(60),
  /** Only when the brief names one (a discount, a free trial, a launch date). */
  offer: copyText(60).nullable(),
  cta: copyText(40),
  headline_beat: z.number().int().min(0),
  /** The end card (logo, offer, CTA) runs from this beat's start to the end of the ad. */
  end_card_beat: z.number().int().min(0),
  voiceover: z.object({
    enabled: z.boolean(),
    /** Null: the voice model's default voice. */
    voice: VoiceName.nullable(),
    /** In beat order; kept when the voiceover is off, so it can be turned on for a re-render. */
    lines: z.array(VoiceLine).max(24),
  }),
  captions: CaptionsMode,
});
export type AdCopy = z.infer<typeof AdCopy>;

/**
 * What one video prediction renders (contracts/model-contracts.ts has each model's): its native
 * frame rate and the frames one prediction may have. A spec records the contract it was timed
 * for, so its chunk plan is the same whichever provider renders it (docs/PLANNING.md).
 */
export const ClipContract = z.object({
  model: z.string().min(1),
  /** Frames per second the model generates motion for. */
  fps: z.number().int().min(1).max(60),
  /** Fewest and most frames one prediction renders (at `fps`). */
  min_frames: z.number().int().min(1),
  max_frames: z.number().int().min(1),
});
export type ClipContract = z.infer<typeof ClipContract>;

/** The clip contract a spec was planned with, and what its chunk plan pays for and uses (at the model's rate). */
export const SpecClip = ClipContract.extend({
  predictions: z.number().int().min(0).optional(),
  frames_paid: z.number().int().min(0).optional(),
  frames_used: z.number().min(0).optional(),
});
export type SpecClip = z.infer<typeof SpecClip>;

/** Most frames at the ad's rate one prediction under `clip` covers. */
export function clipMaxOutputFrames(clip: ClipContract): number {
  return Math.floor((clip.max_frames * FPS) / clip.fps);
}

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
  copy: AdCopy,
  planner: z.enum(["local", "openai"]),
  /** The video model's clip contract the beats were timed for; absent in specs planned for 2 s chunks. */
  clip: SpecClip.optional(),
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
  copyIssues(spec.copy, spec.beats).forEach((issue) => ctx.addIssue({ code: "custom", ...issue }));
  const expected = RESOLUTIONS[spec.aspect_ratio];
  if (spec.width !== expected.width || spec.height !== expected.height) {
    ctx.addIssue({ code: "custom", path: ["width"], message: `resolution must be ${expected.width}x${expected.height} for ${spec.aspect_ratio}` });
  }
});
export type VideoSpec = z.infer<typeof VideoSpec>;

/** The copy's placement rules against the beats it is placed on. */
function copyIssues(copy: AdCopy, beats: readonly SpecBeat[]): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (copy.end_card_beat >= beats.length) issues.push({ path: ["copy", "end_card_beat"], message: "must be a beat index" });
  if (copy.headline_beat >= beats.length) issues.push({ path: ["copy", "headline_beat"], message: "must be a beat index" });
  else if (beats.length > 1 && copy.headline_beat >= copy.end_card_beat) issues.push({ path: ["copy", "headline_beat"], message: "the headline must come before the end card" });
  let previous = -1;
  copy.voiceover.lines.forEach((line, i) => {
    const path = ["copy", "voiceover", "lines", i];
    const beat = beats[line.beat_index];
    if (!beat) return issues.push({ path: [...path, "beat_index"], message: "must be a beat index" });
    if (line.beat_index <= previous) issues.push({ path: [...path, "beat_index"], message: "lines must be in beat order, one per beat at most" });
    previous = line.beat_index;
    if (line.start_frame !== beat.start_frame + VOICE_LEAD_IN_FRAMES) issues.push({ path: [...path, "start_frame"], message: "a line starts VOICE_LEAD_IN_FRAMES after its beat" });
    if (line.max_words !== voiceWordBudget(beat.frames)) issues.push({ path: [...path, "max_words"], message: "must be the beat's word budget" });
    if (countWords(line.text) > line.max_words) issues.push({ path: [...path, "text"], message: `has ${countWords(line.text)} words, over the beat's budget of ${line.max_words}` });
  });
  if (copy.captions !== "none" && !copy.voiceover.enabled) issues.push({ path: ["copy", "captions"], message: "captions need the voiceover" });
  return issues;
}

/** The script's lines the ad speaks: all of them with the voiceover on, none with it off. */
export function spokenLines(spec: Pick<VideoSpec, "copy">): VoiceLine[] {
  return spec.copy.voiceover.enabled ? spec.copy.voiceover.lines : [];
}

/** Output frames [from_frame, to_frame) that show the headline and the end card: each from the end of its beat's incoming transition. */
export function copyWindows(spec: Pick<VideoSpec, "beats" | "total_frames" | "copy">): Record<"headline" | "end_card", { from_frame: number; to_frame: number }> {
  const settled = (index: number) => spec.beats[index]!.start_frame + (index > 0 ? spec.beats[index - 1]!.transition_out.frames : 0);
  const headline = spec.beats[spec.copy.headline_beat]!;
  return {
    headline: { from_frame: settled(spec.copy.headline_beat), to_frame: headline.start_frame + headline.frames },
    end_card: { from_frame: settled(spec.copy.end_card_beat), to_frame: spec.total_frames },
  };
}

/**
 * The copy's layers the finish draws, in stacking order, with the output frames each covers. A
 * one-beat ad has no beat before its end card: the end card alone carries the copy.
 */
export function copyLayers(spec: Pick<VideoSpec, "beats" | "total_frames" | "copy">): { layer: "headline" | "end-card"; from_frame: number; to_frame: number }[] {
  const windows = copyWindows(spec);
  const withHeadline = windows.headline.to_frame <= windows.end_card.from_frame;
  return [...(withHeadline ? [{ layer: "headline" as const, ...windows.headline }] : []), { layer: "end-card" as const, ...windows.end_card }];
}

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
