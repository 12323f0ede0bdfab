import { AnalyzeImageResponse, IngestImageResponse } from "../../contracts/media.ts";
import type { ReferenceImageAnalysis } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import { imageInput } from "../providers/models/image.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import type { TokenUsage } from "../pricing/prices.ts";
import { assetIdOf, findAsset } from "../references/assets.ts";
import { ReferenceJobInput, type ReferenceType } from "../references/selection.ts";
import { createAnalyser } from "../references/vision.ts";
import { type JobSteps, PermanentError, type ReferenceOutput, type StepDeps, outputUrl, storeImageOutput } from "./step.ts";

/**
 * Reference images (SPEC §5): a brand asset (already validated and stored as a tenant
 * asset when the request was admitted) is copied in; otherwise the image model draws one,
 * character-, product- or environment-focused. Each is then analysed (analyser.ts: local or
 * a vision model), and the three analyses become the consistency context.
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

/** The image model for an attempt: the configured one first, then each fallback (SPEC §5.3). */
export function imageModelFor(deps: StepDeps, attempt: number): string {
  const models = [deps.config.models.image, ...deps.config.models.imageFallbacks];
  return models[(attempt - 1) % models.length]!;
}

/** What a reference's output carries beyond `ReferenceOutput`: where it came from and who analysed it. */
export interface ReferenceProvenance {
  /** The tenant asset (`asset:<id>`) it was made from; absent when generated. */
  asset?: string;
  analyser: "openai" | "local";
  analysis_note?: string;
  /** The vision model's tokens, when one described the image: the run books them. */
  usage?: TokenUsage;
}

/**
 * The image as the vision model should receive it: a signed URL when the Worker is public
 * (https), else the bytes inline as a data: URL — a model in the cloud cannot reach a local
 * development Worker.
 */
async function visionImageUrl(deps: StepDeps, key: string): Promise<string> {
  if (deps.config.publicBaseUrl.startsWith("https://")) return deps.url(key);
  const object = await deps.env.MEDIA.get(key);
  if (!object) throw new Error(`reference image ${key} is missing`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}

async function analyse(deps: StepDeps, key: string, type: ReferenceType, spec: VideoSpec): Promise<{ analysis: ReferenceImageAnalysis; palette: ReferenceOutput["palette"]; provenance: ReferenceProvenance }> {
  const stats = await deps.media.call("/v1/media/images/analyze", { url: await deps.url(key) }, AnalyzeImageResponse);
  const result = await createAnalyser(deps.config).analyse({ type, spec, stats, imageUrl: () => visionImageUrl(deps, key) });
  // The palette used for drift scores is always the measured one, whoever described the image.
  const usage = result.usage ? { usage: { model: deps.config.openai.visionModel, ...result.usage } } : {};
  return { analysis: result.analysis, palette: stats.palette, provenance: { analyser: result.analyser, ...(result.note ? { analysis_note: result.note } : {}), ...usage } };
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
    let source = input.source;
    const assetId = assetIdOf(input.source);
    if (assetId) {
      // Tenant assets were validated when they were admitted; copy into the video's own folder.
      const tenantId = claim.video.tenant_id;
      const [object, record] = await Promise.all([deps.env.MEDIA.get(mediaKeys.asset(tenantId, assetId)), findAsset(deps.env.MEDIA, tenantId, assetId)]);
      if (!object) throw new PermanentError(`brand asset ${input.source} no longer exists`);
      await deps.env.MEDIA.put(key, object.body, { httpMetadata: { contentType: "image/png" } });
      // Show the client's own URL when the asset was admitted from one.
      if (record && record.source !== "upload") source = record.source;
    } else {
      // Requests admitted before brand assets were ingested at submit time still name URLs.
      await deps.media.call("/v1/media/images/ingest", { source_url: input.source, output_url: await deps.url(key, "put") }, IngestImageResponse, 60_000);
    }
    const { analysis, palette, provenance } = await analyse(deps, key, input.type, spec);
    const output = { index: input.index, key, type: input.type, source, ...(assetId ? { asset: input.source } : {}), analysis, palette, ...provenance };
    return { kind: "done", output: output satisfies ReferenceOutput & ReferenceProvenance };
  },
  async ingest(deps, claim) {
    const input = ReferenceJobInput.parse(claim.job.input);
    const key = mediaKeys.reference(claim.video.video_id, input.index);
    await storeImageOutput(deps, outputUrl(claim), key, claim.video.spec!);
    const { analysis, palette, provenance } = await analyse(deps, key, input.type, claim.video.spec!);
    return { kind: "done", output: { index: input.index, key, type: input.type, source: "generated", analysis, palette, ...provenance } satisfies ReferenceOutput & ReferenceProvenance };
  },
};
