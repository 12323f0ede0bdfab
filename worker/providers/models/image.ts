import { DRAFT_MODELS } from "../../../contracts/draft-models.ts";
import { modelName } from "../../../contracts/model-contracts.ts";
import type { ImageRequest } from "./requests.ts";

/**
 * Image models: reference images and storyboard frames. Every adapter asks for PNG explicitly
 * (SD 3.5 and flux default to webp, nano-banana-pro to jpg) and for the ad's own aspect ratio
 * (nano-banana-pro's default `match_input_image` would follow the first conditioning image).
 */

type ImageAdapter = (request: ImageRequest) => Record<string, unknown>;

const IMAGE_ADAPTERS: Record<string, ImageAdapter> = {
  [DRAFT_MODELS.image]: (r) => ({ prompt: r.prompt, image_input: r.images.slice(0, 8), width: r.width, height: r.height, seed: r.seed, output_format: "png" }),
  // 1K: the ad is at most 1024 px wide; 2K costs the same ($0.15) but takes longer to make and fetch.
  "google/nano-banana-pro": (r) => ({ prompt: r.prompt, image_input: r.images.slice(0, 14), aspect_ratio: r.aspectRatio, resolution: "1K", output_format: "png" }),
  // `image_prompt` (Redux) exists in version 96ccd0e7 only, and which version the models route
  // runs is not established (MODELS.md): it is not sent, so this fallback draws from the prompt.
  "black-forest-labs/flux-1.1-pro": (r) => ({ prompt: r.prompt, aspect_ratio: r.aspectRatio, output_format: "png", output_quality: 100, seed: r.seed }),
  // flux-schnell takes no conditioning image at all (cog-flux predict.py): text only.
  "black-forest-labs/flux-schnell": (r) => ({ prompt: r.prompt, aspect_ratio: r.aspectRatio, num_outputs: 1, output_format: "png", megapixels: "1", go_fast: true, seed: r.seed }),
  // img2img from the first conditioning image keeps the references' look; 0.85 leaves the prompt in charge of the layout.
  "black-forest-labs/flux-dev": (r) => ({
    prompt: r.prompt,
    aspect_ratio: r.aspectRatio,
    num_outputs: 1,
    output_format: "png",
    megapixels: "1",
    seed: r.seed,
    ...(r.images[0] ? { image: r.images[0], prompt_strength: 0.85 } : {}),
  }),
  // SD 3.5's aspect_ratio and output_format option lists were not captured (MODELS.md); the
  // values sent are the ones Stability's own API documents. `image` is left out: with it the
  // model ignores aspect_ratio.
  "stability-ai/stable-diffusion-3.5-large": (r) => ({ prompt: r.prompt, aspect_ratio: r.aspectRatio, output_format: "png", seed: r.seed }),
};

export function imageInput(model: string, request: ImageRequest): Record<string, unknown> {
  const adapter = IMAGE_ADAPTERS[modelName(model)];
  if (!adapter) throw new UnknownModel(model, "image", Object.keys(IMAGE_ADAPTERS));
  return adapter(request);
}

export const IMAGE_MODELS: readonly string[] = Object.keys(IMAGE_ADAPTERS);

/** A model no adapter knows: its input names cannot be guessed, so it is a configuration error. */
export class UnknownModel extends Error {
  constructor(model: string, kind: string, known: readonly string[]) {
    super(`no ${kind} adapter for ${modelName(model)} (known: ${known.join(", ")})`);
    this.name = "UnknownModel";
  }
}
