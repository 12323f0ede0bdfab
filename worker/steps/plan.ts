import { z } from "zod";
import { VideoSpec } from "../../contracts/spec.ts";
import { planVideo, priceSpec } from "../planning/plan.ts";
import type { JobSteps } from "./step.ts";

/**
 * The plan job's input: empty for a new video; for a draft rendered for real, the draft's spec,
 * which is used as it is (nothing is planned again) and only priced at this video's models.
 */
export const PlanJobInput = z.object({ spec: VideoSpec.optional() });
export type PlanJobInput = z.infer<typeof PlanJobInput>;

/** The planning job: the prompt becomes the spec, its chunk plan and the cost estimate. */
export const planSteps: JobSteps = {
  async start(deps, claim) {
    const given = PlanJobInput.parse(claim.job.input ?? {});
    if (given.spec) {
      const { spec, cost_estimate } = priceSpec(deps.config, claim.video.request, given.spec);
      return { kind: "done", output: { spec, cost_estimate, events: [] } };
    }
    return { kind: "done", output: await planVideo(deps.config, claim.video.request) };
  },
};
