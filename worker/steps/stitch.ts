import type { SeamReport } from "../../contracts/api.ts";
import { Cue, RenderOverlaysResponse, type SeamsRequest, SeamsResponse, StitchResponse, holdCuesToKeyframes } from "../../contracts/media.ts";
import { copyLayers, type VideoSpec } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { ChunkPlan } from "../chunks/plan.ts";
import { assetIdOf } from "../references/assets.ts";
import { plannedSeams, scoreSeams } from "../references/seam-scores.ts";
import { OVERLAYS_JOB, SEAMS_PREFIX, WINDOW_PREFIX, overlaysStep, renderOverlays, seamsStep, windowStep } from "./assembly.ts";
import type { ClaimedJob, JobSteps, Step, StepDeps } from "./step.ts";

/**
 * Stitching (SPEC §8): the normalized chunks in order, joined by the spec's transitions —
 * cuts inside a beat, the beat's own transition between beats — with the ad's finish drawn on
 * (issue 15): the headline over its beat, the end card (the brand's own logo or its name in
 * type, the offer, the call to action) from its beat to the end, and burned captions on their
 * cues. Only the frames those cover and the transition windows are re-encoded. The prepared
 * soundtrack is then muxed under it (mux.ts).
 *
 * Then every seam of the stitched file is measured (media-node `videos/seams`) and scored, and
 * the scores travel in this job's output (`seams`; references/consistency.ts reports them).
 * The measurement reads the file the stitch just wrote, after the encode: it adds its own time
 * to the stitch job (docs/BENCHMARKS.md, "Seams") and nothing to the encode. A failed
 * measurement leaves `seams` null with `seams_error`; it never fails the video.
 *
 * That is `ASSEMBLY=after_all`. With progressive assembly (the default; run/assembly.ts) the
 * stitch jobs are its parts instead (steps/assembly.ts): the layers, one window each, the seam
 * measures on the stored pieces; the mux job assembles.
 */

type EndCard = RenderOverlaysResponse["end_card"];

export interface StitchOutput extends StitchResponse {
  key: string;
  /** Where the end card put the logo, the call to action and the brand mark (acceptance measures read them). */
  logo: EndCard["logo"];
  cta_box: EndCard["cta_box"];
  mark_box: EndCard["mark_box"];
  seams: SeamReport | null;
  seams_error?: string;
}

/** The seams route leaves out the rows these cover, so the scores judge the pictures, not the ad's finish (docs/SEAMS.md). */
type Decorations = SeamsRequest["decorations"];

async function measuredSeams(deps: StepDeps, key: string, spec: VideoSpec, plan: readonly ChunkPlan[], frames: number, decorations: Decorations): Promise<Pick<StitchOutput, "seams" | "seams_error">> {
  const planned = plannedSeams(plan);
  try {
    const measured = planned.length
      ? await deps.media.call(
          "/v1/media/videos/seams",
          { video_url: await deps.url(key), width: spec.width, height: spec.height, fps: spec.fps, frames, seams: planned.map(({ at_frame, transition, within_beat }) => ({ at_frame, transition, within_beat })), decorations },
          SeamsResponse,
          120_000,
        )
      : { analysis_width: 0, analysis_height: 0, decoded_frames: 0, measure_seconds: 0, seams: [] };
    return { seams: scoreSeams(planned, measured) };
  } catch (error) {
    deps.log.warn("stitch.seams_unmeasured", { key, error: (error as Error).message });
    return { seams: null, seams_error: (error as Error).message };
  }
}


/** A progressive assembly's parts (run/assembly.ts) by their job ids; the one-shot stitch is the job `stitch`. */
function progressiveStep(id: string): Step | null {
  if (id === OVERLAYS_JOB) return overlaysStep;
  if (id.startsWith(WINDOW_PREFIX)) return windowStep;
  if (id.startsWith(SEAMS_PREFIX)) return seamsStep;
  return null;
}

export const stitchSteps: JobSteps = {
  async start(deps, claim) {
    const progressive = progressiveStep(claim.job.id);
    if (progressive) return progressive(deps, claim);
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const input = claim.job.input as { chunks?: unknown[]; outputs?: ChunkOutput[]; cues?: unknown[] };
    const plan = (input.chunks ?? []).map((c) => ChunkPlan.parse(c));
    const outputs = input.outputs ?? [];
    if (plan.length === 0 || plan.length !== outputs.length) throw new Error("stitch job has no chunk list");
    const cues = holdCuesToKeyframes((input.cues ?? []).map((c) => Cue.parse(c)), plan, outputs, spec.fps, spec.total_frames);
    const [chunks, overlays] = await Promise.all([
      Promise.all(outputs.map(async (o) => ({ url: await deps.url(o.key), frames: o.frames }))),
      renderOverlays(deps, claim, spec),
    ]);
    const transitions = plan.slice(0, -1).map((c) => c.seam_out);
    const key = mediaKeys.stitched(videoId);
    const decorations: Decorations = { overlays: overlays.layers.map(({ url, from_frame, to_frame }) => ({ url, from_frame, to_frame })), captions: cues.length ? { cues } : null };
    const result = await deps.media.call(
      "/v1/media/videos/stitch",
      {
        chunks,
        transitions,
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        method: "seams",
        ...decorations,
        output_url: await deps.url(key, "put"),
      },
      StitchResponse,
    );
    if (result.frames !== spec.total_frames) throw new Error(`stitched ${result.frames} frames, the spec needs ${spec.total_frames}`);
    const endCard = overlays.rendered.end_card;
    const output: StitchOutput = { key, ...result, logo: endCard.logo, cta_box: endCard.cta_box, mark_box: endCard.mark_box, ...(await measuredSeams(deps, key, spec, plan, result.frames, decorations)) };
    return { kind: "done", output };
  },
};
