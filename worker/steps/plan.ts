import { planVideo } from "../planning/plan.ts";
import type { JobSteps } from "./step.ts";

/** The planning job: the prompt becomes the spec, its chunk plan and the cost estimate. */
export const planSteps: JobSteps = {
  async start(deps, claim) {
    return { kind: "done", output: await planVideo(deps.config, claim.video.request) };
  },
};
