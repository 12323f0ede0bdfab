import { z } from "zod";
import { mediaKeys } from "../media/keys.ts";
import { imageInput } from "../providers/models/image.ts";
import { composePrompt } from "../planning/prompts.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { imageModelFor } from "./reference.ts";
import { type JobSteps, outputUrl, storeImageOutput } from "./step.ts";

/** One storyboard (animatic) frame per beat, conditioned on the three references and the context. */

const StoryboardInput = z.object({ beat: z.number().int().min(0) });

export const storyboardSteps: JobSteps = {
  async start(deps, claim) {
    const { beat: index } = StoryboardInput.parse(claim.job.input);
    const spec = claim.video.spec!;
    const beat = spec.beats[index]!;
    const model = imageModelFor(deps, claim.job.attempt);
    const references = await Promise.all(claim.references.map((r) => deps.url(r.key)));
    const prompt = composePrompt(`Storyboard frame, ${beat.name}: ${beat.prompt}`, claim.video.consistency_context ?? "");
    return {
      kind: "predict",
      model,
      input: imageInput(model, { prompt, images: references, width: spec.width, height: spec.height, aspectRatio: spec.aspect_ratio, seed: spec.seed + 100 + index }),
      estimateUsd: estimatePrediction(deps.config, model),
    };
  },
  async ingest(deps, claim) {
    const { beat } = StoryboardInput.parse(claim.job.input);
    const key = mediaKeys.storyboard(claim.video.video_id, beat);
    await storeImageOutput(deps, outputUrl(claim), key, claim.video.spec!);
    return { kind: "done", output: { key, beat } };
  },
};
