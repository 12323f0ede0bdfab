import type { LiveSnapshot } from "../../contracts/live.ts";
import type { SeamFlag, SeamReport, SeamScore, SeamThresholds } from "../../contracts/api.ts";
import type { SeamSpec, SeamsResponse } from "../../contracts/media.ts";
import type { ChunkPlan } from "../../contracts/spec.ts";

/**
 * The seams of a stitched video: which to measure (one before every chunk but the first, where
 * the stitch placed it) and how to score what media-node measured (media-node/video/seams.ts).
 */

/**
 * Limits of the seam measures inside a beat (a continuous shot). The jump limit is issue 13's
 * acceptance criterion: a join may change the picture at most twice as much as the shot's own
 * median step. SSIM and palette limits catch a join that breaks the picture or its colours:
 * measured on the draft demo ad (docs/BENCHMARKS.md, "Seams"), joins inside beats score SSIM
 * ≥ 0.96 and palette ΔE ≤ 2.6 under either conditioning, while a cut between beats scores
 * SSIM 0.70–0.83 and ΔE up to 8.5; 0.9 and 5 sit between the two with room for a real model's
 * own change from one frame to the next.
 */
export const SEAM_THRESHOLDS: SeamThresholds = { ssim_min: 0.9, palette_delta_e_max: 5, jump_ratio_max: 2 };

export interface PlannedSeam extends SeamSpec {
  chunk_num: number;
  beat_index: number;
}

/**
 * Chunk i starts at output frame Σ_{m<i}(frames_m − overlap_m), which the plan already holds as
 * `video_start_frame`: a transition's window is the incoming beat's first frames.
 */
export function plannedSeams(plan: readonly ChunkPlan[]): PlannedSeam[] {
  return [...plan]
    .sort((a, b) => a.chunk_num - b.chunk_num)
    .slice(1)
    .map((chunk) => ({ chunk_num: chunk.chunk_num, beat_index: chunk.beat_index, at_frame: chunk.video_start_frame, transition: chunk.seam_in, within_beat: !chunk.first_in_beat }));
}

function flagsOf(seam: SeamsResponse["seams"][number], thresholds: SeamThresholds): SeamFlag[] {
  // A seam the decorations hide is not a defect of the pictures: reported with its reason, never flagged.
  if (seam.unjudged !== null) return [];
  if (!seam.within_beat) return seam.transition_check?.delivered === false ? ["transition"] : [];
  const flags: SeamFlag[] = [];
  if (seam.ssim < thresholds.ssim_min) flags.push("ssim");
  if (seam.palette_delta_e > thresholds.palette_delta_e_max) flags.push("palette");
  if (seam.jump_ratio > thresholds.jump_ratio_max) flags.push("jump");
  return flags;
}

/** Scores media-node's measures of the seams `plannedSeams(plan)` listed, in the same order. */
export function scoreSeams(planned: readonly PlannedSeam[], measured: SeamsResponse, thresholds: SeamThresholds = SEAM_THRESHOLDS): SeamReport {
  if (measured.seams.length !== planned.length) throw new Error(`media-node measured ${measured.seams.length} seams, ${planned.length} were asked for`);
  const seams: SeamScore[] = measured.seams.map((seam, i) => {
    const plan = planned[i]!;
    if (seam.at_frame !== plan.at_frame) throw new Error(`seam ${i} was measured at frame ${seam.at_frame}, planned at ${plan.at_frame}`);
    const flags = flagsOf(seam, thresholds);
    return {
      chunk_num: plan.chunk_num,
      beat_index: plan.beat_index,
      at_frame: seam.at_frame,
      kind: seam.within_beat ? "within_beat" : "beat_transition",
      transition: seam.transition,
      ssim: seam.ssim,
      palette_delta_e: seam.palette_delta_e,
      jump_ratio: seam.jump_ratio,
      transition_delivered: seam.transition_check?.delivered ?? null,
      transition_detail: seam.transition_check?.detail ?? (seam.within_beat ? null : seam.unjudged),
      unjudged: seam.unjudged,
      flagged: flags.length > 0,
      flags,
    };
  });
  return { thresholds, decoded_frames: measured.decoded_frames, measure_seconds: measured.measure_seconds, seams };
}

/** A progressive assembly's seam measure (steps/assembly.ts): the seams it measured, or its error. */
export interface MeasuredPart {
  measure: number[];
  measured: SeamsResponse | null;
  error?: string;
}

/**
 * The seams of a progressive assembly, measured a few at a time, scored as one report like the
 * one-shot stitch's: null while any seam is unmeasured, and with the error when a part failed.
 */
export function scoreMeasuredParts(planned: readonly PlannedSeam[], parts: readonly MeasuredPart[]): { seams: SeamReport | null; seams_error?: string } {
  const failed = parts.find((p) => p.measured === null);
  if (failed) return { seams: null, seams_error: failed.error ?? "a seam measure failed" };
  const byIndex = new Map(parts.flatMap((p) => p.measured!.seams.map((seam, i) => [p.measure[i]!, seam] as const)));
  if (planned.some((_, i) => !byIndex.has(i))) return { seams: null };
  const measured: SeamsResponse = {
    analysis_width: parts[0]?.measured!.analysis_width ?? 0,
    analysis_height: parts[0]?.measured!.analysis_height ?? 0,
    decoded_frames: parts.reduce((sum, p) => sum + p.measured!.decoded_frames, 0),
    measure_seconds: Math.round(parts.reduce((sum, p) => sum + p.measured!.measure_seconds, 0) * 100) / 100,
    seams: planned.map((_, i) => byIndex.get(i)!),
  };
  return { seams: scoreSeams(planned, measured) };
}

/** Job ids of a progressive assembly's seam measures: `seams:<frame>`. */
export const SEAMS_PREFIX = "seams:";

/**
 * A progressive assembly's seam report: its measures' outputs scored as one, as the one-shot
 * stitch's output carries it (`seams`, `seams_error`); undefined before any measure is done.
 */
export function measuredSeams(run: Pick<LiveSnapshot, "jobs" | "outputs" | "chunk_plan">): ReturnType<typeof scoreMeasuredParts> | undefined {
  const parts = run.jobs.filter((j) => j.id.startsWith(SEAMS_PREFIX) && j.status === "done").map((j) => run.outputs[j.id] as MeasuredPart);
  return parts.length && run.chunk_plan ? scoreMeasuredParts(plannedSeams(run.chunk_plan), parts) : undefined;
}
