import { type Cue, cueFrames, decorationKeyframes } from "../../contracts/media.ts";
import { ChunkPlan, type ClipContract, FPS, MIN_CHUNK_FRAMES, clipMaxOutputFrames, copyWindows, renderedFrames, type VideoSpec } from "../../contracts/spec.ts";
import { CHUNK_PROMPT_MAX_WORDS, chunkPrompt } from "../planning/prompts.ts";
import { CHUNK_FRAMES } from "../planning/timing.ts";

/**
 * The chunk plan (SPEC §7.1, §7.7): every beat's rendered frames (on-screen frames plus
 * the overlap of its outgoing transition) split into clips the video model can render.
 * Chunks of one beat join with cuts; the last chunk of a beat carries the beat's transition.
 *
 * Prompts: `planChunks` writes each chunk's prompt without the consistency context unless
 * one is passed, because the context only exists after the references phase. The chunk job
 * adds it with `composePrompt(chunk.prompt, context)`, which spends only the words the
 * budget has left, so the beat's own prompt is never cut.
 */

// The schema is a contract (queue jobs, the live snapshot); this module plans with it.
export { ChunkPlan, MIN_CHUNK_FRAMES };

export interface ChunkPlanOptions {
  /**
   * Longest clip the rendering video model makes, in frames at 24 fps. The spec's own clip
   * contract (what its beats were timed for) bounds it too; without either, 48 (2 s).
   */
  maxChunkFrames?: number;
  /** Consistency context to put in the prompts now (usually added later by the chunk job). */
  consistencyContext?: string;
  maxWords?: number;
}

const CUT = { type: "cut", frames: 0 } as const;

export function planChunks(spec: VideoSpec, options: ChunkPlanOptions = {}): ChunkPlan[] {
  const planned = spec.clip ? clipMaxOutputFrames(spec.clip) : CHUNK_FRAMES;
  const maxFrames = options.maxChunkFrames === undefined ? planned : Math.min(planned, options.maxChunkFrames);
  // With a smaller limit a beat just over it would split into halves under 12 frames.
  if (!Number.isInteger(maxFrames) || maxFrames < 2 * MIN_CHUNK_FRAMES - 1) {
    throw new RangeError(`maxChunkFrames must be an integer of at least ${2 * MIN_CHUNK_FRAMES - 1}, got ${maxFrames}`);
  }
  const plan: ChunkPlan[] = [];
  spec.beats.forEach((beat, beatIndex) => {
    const rendered = renderedFrames(beat);
    const count = Math.ceil(rendered / maxFrames);
    const base = Math.floor(rendered / count);
    const longer = rendered % count;
    let offset = 0;
    for (let k = 0; k < count; k++) {
      const frames = base + (k < longer ? 1 : 0);
      const first = k === 0;
      const last = k === count - 1;
      plan.push({
        chunk_num: plan.length,
        beat_index: beatIndex,
        index_in_beat: k,
        chunks_in_beat: count,
        start_frame: offset,
        video_start_frame: beat.start_frame + offset,
        frames,
        prompt: chunkPrompt(beat, {
          style: spec.style,
          part: { index: k, count },
          consistencyContext: options.consistencyContext,
          maxWords: options.maxWords ?? CHUNK_PROMPT_MAX_WORDS,
        }),
        camera: beat.camera,
        seam_in: first && beatIndex > 0 ? spec.beats[beatIndex - 1]!.transition_out : CUT,
        seam_out: last ? beat.transition_out : CUT,
        first_in_beat: first,
        last_in_beat: last,
      });
      offset += frames;
    }
  });
  return plan;
}

/** What a chunk plan pays for and uses under a clip contract, in frames at the model's rate. */
export interface ClipUsage {
  predictions: number;
  frames_paid: number;
  frames_used: number;
}

/**
 * Each chunk is one prediction of at least the model's minimum frames; it uses the frames that
 * cover its length at 24 fps, the rest is paid for and thrown away.
 */
export function clipUsage(clip: ClipContract, plan: readonly ChunkPlan[]): ClipUsage {
  const used = plan.map((chunk) => (chunk.frames * clip.fps) / FPS);
  const paid = used.map((frames) => Math.max(clip.min_frames, Math.ceil(frames - 1e-9)));
  return { predictions: plan.length, frames_paid: paid.reduce((a, b) => a + b, 0), frames_used: Math.round(used.reduce((a, b) => a + b, 0) * 100) / 100 };
}

/** Length of the video stitched from these chunks: every frame minus every overlap. */
export function stitchedChunkFrames(plan: readonly ChunkPlan[]): number {
  return plan.reduce((sum, chunk) => sum + chunk.frames - chunk.seam_out.frames, 0);
}

/**
 * Every keyframe the stitch wants in this chunk: its seams', and where an overlay of the copy
 * (the headline, the end card) or a burned cue (when already timed) ends inside it, so copying
 * resumes right after each and only the frames that carry them are re-encoded.
 */
export function stitchKeyframes(chunk: ChunkPlan, spec: Pick<VideoSpec, "beats" | "total_frames" | "copy">, cues: readonly Cue[] = []): number[] {
  const windows = copyWindows(spec);
  const ranges = [windows.headline, windows.end_card, ...cues.map((cue) => ({ to_frame: cueFrames(cue, FPS).to }))];
  return [...new Set([...seamKeyframes(chunk), ...decorationKeyframes(chunk, ranges)])].sort((a, b) => a - b);
}

/** Frames where the stitcher's transition windows begin and end inside this chunk: keyframes there keep its decoding short. */
export function seamKeyframes(chunk: Pick<ChunkPlan, "frames" | "seam_in" | "seam_out">): number[] {
  const frames = new Set<number>();
  if (chunk.seam_in && chunk.seam_in.frames > 0) frames.add(chunk.seam_in.frames);
  if (chunk.seam_out && chunk.seam_out.frames > 0) frames.add(chunk.frames - chunk.seam_out.frames);
  return [...frames].filter((f) => f > 0 && f < chunk.frames).sort((a, b) => a - b);
}
