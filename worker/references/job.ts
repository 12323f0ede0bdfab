import { AnalyzeImageResponse, IngestImageResponse } from "../../contracts/media.ts";
import type { ReferenceImageAnalysis } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import { imageInput } from "../providers/models.ts";
import { estimatePrediction } from "../run/ledger.ts";
import { ReferenceJobInput, type ReferenceType } from "../run/dag.ts";
import type { ReferenceOutput } from "../run/video-run.ts";
import { type JobSteps, type StepDeps, outputUrl, storeOutput } from "../queue/step.ts";

/**
 * Reference images (seed 004): a brand asset is fetched safely and validated by media-node;
 * otherwise the image model draws one, character-, product- or environment-focused. Each is
 * then analysed, and the three analyses become the consistency context.
 */

export function referencePrompt(type: ReferenceType, spec: VideoSpec): string {
  const { product, character, setting } = spec.facts;
  switch (type) {
    case "character":
      return `Character reference portrait: ${character || "the ad's main person"}, full figure, neutral pose, ${setting || "simple backdrop"}. ${spec.style}. Clear, consistent look for an ad.`;
    case "product":
      return `Product reference shot: ${product || "the advertised product"}, hero angle, clean studio lighting, every detail visible. ${spec.style}.`;
    case "environment":
    case "logo":
      return `Environment reference: ${setting || "the ad's setting"}, wide establishing view, no people. ${spec.style}.`;
  }
}

/** The image model for an attempt: the configured one first, then each fallback (seed 004). */
export function imageModelFor(deps: StepDeps, attempt: number): string {
  const models = [deps.config.models.image, ...deps.config.models.imageFallbacks];
  return models[(attempt - 1) % models.length]!;
}

async function analyse(deps: StepDeps, key: string, type: ReferenceType, spec: VideoSpec): Promise<{ analysis: ReferenceImageAnalysis; palette: ReferenceOutput["palette"] }> {
  const stats = await deps.media.call("/v1/media/images/analyze", { url: await deps.url(key) }, AnalyzeImageResponse);
  // The local analyser measures colour, light and style; what the subject looks like comes
  // from the spec's facts, which the planner extracted from the prompt.
  const analysis: ReferenceImageAnalysis = {
    character_description: type === "character" ? `${spec.facts.character || "the main character"}, as in the character reference, ${stats.lighting}` : spec.facts.character,
    product_features: type === "product" || type === "logo" ? `${spec.facts.product || "the product"}, colours ${stats.palette.slice(0, 3).map((p) => p.hex).join(", ")}` : spec.facts.product,
    colors: stats.palette.map((p) => p.hex),
    style: stats.style,
    environment: type === "environment" ? `${spec.facts.setting || "the setting"}, ${stats.lighting}` : `${spec.facts.setting}${spec.facts.setting ? ", " : ""}${stats.lighting}`,
  };
  return { analysis, palette: stats.palette };
}

export const referenceSteps: JobSteps = {
  async start(deps, claim) {
    const input = ReferenceJobInput.parse(claim.job.input);
    const spec = claim.video.spec!;
    const key = mediaKeys.reference(claim.video.video_id, input.index);
    if (input.source === "generated") {
      const model = imageModelFor(deps, claim.job.attempt);
      return {
        kind: "predict",
        model,
        input: imageInput(model, { prompt: referencePrompt(input.type, spec), images: [], width: spec.width, height: spec.height, aspectRatio: spec.aspect_ratio, seed: spec.seed + input.index }),
        estimateUsd: estimatePrediction(deps.config, model),
      };
    }
    if (input.source.startsWith("asset:")) {
      // Uploaded assets were validated on upload; copy into the video's own folder.
      const object = await deps.env.MEDIA.get(mediaKeys.asset(claim.video.tenant_id, input.source.slice("asset:".length)));
      if (!object) throw new Error(`uploaded asset ${input.source} no longer exists`);
      await deps.env.MEDIA.put(key, object.body, { httpMetadata: { contentType: "image/png" } });
    } else {
      await deps.media.call("/v1/media/images/ingest", { source_url: input.source, output_url: await deps.url(key, "put") }, IngestImageResponse, 60_000);
    }
    const { analysis, palette } = await analyse(deps, key, input.type, spec);
    return { kind: "done", output: { index: input.index, key, type: input.type, source: input.source, analysis, palette } satisfies ReferenceOutput };
  },
  async ingest(deps, claim) {
    const input = ReferenceJobInput.parse(claim.job.input);
    const key = mediaKeys.reference(claim.video.video_id, input.index);
    await storeOutput(deps, outputUrl(claim), key);
    const { analysis, palette } = await analyse(deps, key, input.type, claim.video.spec!);
    return { kind: "done", output: { index: input.index, key, type: input.type, source: "generated", analysis, palette } satisfies ReferenceOutput };
  },
};
