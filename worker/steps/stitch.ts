import type { SeamReport } from "../../contracts/api.ts";
import { SeamsResponse, StitchResponse } from "../../contracts/media.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { ChunkPlan } from "../chunks/plan.ts";
import { plannedSeams, scoreSeams } from "../references/seam-scores.ts";
import type { JobSteps, StepDeps } from "./step.ts";

/**
 * Stitching (SPEC §8): the normalized chunks in order, joined by the spec's transitions —
 * cuts inside a beat, the beat's own transition between beats. The prepared music is then
 * muxed under it (mux.ts).
 *
 * Then every seam of the stitched file is measured (media-node `videos/seams`) and scored, and
 * the scores travel in this job's output (`seams`; references/consistency.ts reports them).
 * The measurement reads the file the stitch just wrote, after the encode: it adds its own time
 * to the stitch job (docs/BENCHMARKS.md, "Seams") and nothing to the encode. A failed
 * measurement leaves `seams` null with `seams_error`; it never fails the video.
 */

export interface StitchOutput extends StitchResponse {
  key: string;
  seams: SeamReport | null;
  seams_error?: string;
}

async function measuredSeams(deps: StepDeps, key: string, spec: VideoSpec, plan: readonly ChunkPlan[], frames: number): Promise<Pick<StitchOutput, "seams" | "seams_error">> {
  const planned = plannedSeams(plan);
  try {
    const measured = planned.length
      ? await deps.media.call(
          "/v1/media/videos/seams",
          { video_url: await deps.url(key), width: spec.width, height: spec.height, fps: spec.fps, frames, seams: planned.map(({ at_frame, transition, within_beat }) => ({ at_frame, transition, within_beat })) },
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

export const stitchSteps: JobSteps = {
  async start(deps, claim) {
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const plan = ((claim.job.input as { chunks?: unknown[] }).chunks ?? []).map((c) => ChunkPlan.parse(c));
    const outputs = (claim.job.input as { outputs?: ChunkOutput[] }).outputs ?? [];
    if (plan.length === 0 || plan.length !== outputs.length) throw new Error("stitch job has no chunk list");
    const chunks = await Promise.all(outputs.map(async (o) => ({ url: await deps.url(o.key), frames: o.frames })));
    const transitions = plan.slice(0, -1).map((c) => c.seam_out);
    const key = mediaKeys.stitched(videoId);
    const result = await deps.media.call(
      "/v1/media/videos/stitch",
      { chunks, transitions, width: spec.width, height: spec.height, fps: spec.fps, method: "seams", output_url: await deps.url(key, "put") },
      StitchResponse,
    );
    if (result.frames !== spec.total_frames) throw new Error(`stitched ${result.frames} frames, the spec needs ${spec.total_frames}`);
    return { kind: "done", output: { key, ...result, ...(await measuredSeams(deps, key, spec, plan, result.frames)) } satisfies StitchOutput };
  },
};
