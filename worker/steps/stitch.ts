import { StitchResponse } from "../../contracts/media.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { ChunkPlan } from "../chunks/plan.ts";
import type { JobSteps } from "./step.ts";

/**
 * Stitching (SPEC §8): the normalized chunks in order, joined by the spec's transitions —
 * cuts inside a beat, the beat's own transition between beats. The prepared music is then
 * muxed under it (mux.ts).
 */

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
    return { kind: "done", output: { key, ...result } };
  },
};
