import { DRAFT_MODELS } from "../../contracts/draft-models.ts";
import { MODEL_CONTRACTS } from "../../contracts/model-contracts.ts";
import type { ClipResolution } from "./models/requests.ts";

/**
 * Which models render a video: the draft set (adreel's local model server) and two presets of
 * hosted models on Replicate with published prices (docs/MODELS.md; the cost of each for 15,
 * 30 and 60 s is in README.md, printed by `npm run costs`).
 */

export interface ModelConfig {
  /** Replicate `owner/name` (official models) or `owner/name:version` (community models: required). */
  image: string;
  /** Tried in order when the image model fails (SPEC §5.3: fall back to other models). */
  imageFallbacks: string[];
  video: string;
  /** The video model's output size (Wan: 480p or 720p, priced per video by it); 480p, the cheaper, when unset. */
  videoResolution?: ClipResolution;
  music: string;
  /** The voiceover model (steps/voice.ts); unset: no voice model is configured, and a voiced video fails at its first line. */
  speech?: string;
}

export const ModelPresetName = ["budget", "premium"] as const;
export type ModelPreset = (typeof ModelPresetName)[number];

/** A community model is run by its pinned version: `owner/name:version`. */
function pinned(model: string): string {
  const version = MODEL_CONTRACTS[model]?.version;
  return MODEL_CONTRACTS[model]?.official === false && version ? `${model}:${version}` : model;
}

export const MODEL_PRESETS: Record<ModelPreset, ModelConfig> = {
  /**
   * The default: nano-banana-pro draws references and storyboards from the references
   * ($0.15 an image), Wan renders 720p clips ($0.11 each, downscaled to the ad's size).
   */
  premium: {
    image: "google/nano-banana-pro",
    imageFallbacks: ["black-forest-labs/flux-1.1-pro", "stability-ai/stable-diffusion-3.5-large"],
    video: "wan-video/wan-2.2-i2v-fast",
    videoResolution: "720p",
    music: pinned("meta/musicgen"),
    speech: "minimax/speech-02-turbo",
  },
  /**
   * Under $0.50 for a 15 s ad: flux-schnell images ($0.003; text only, so storyboard frames
   * follow the references through the prompt's consistency context, not the pixels) and 480p
   * Wan clips ($0.05, upscaled 1.2× to 1024×576).
   */
  budget: {
    image: "black-forest-labs/flux-schnell",
    imageFallbacks: ["black-forest-labs/flux-dev"],
    video: "wan-video/wan-2.2-i2v-fast",
    videoResolution: "480p",
    music: pinned("meta/musicgen"),
    speech: "minimax/speech-02-turbo",
  },
};

/** adreel's own models, rendered offline by the draft model server. */
export const DRAFT_MODEL_SET: ModelConfig = {
  image: DRAFT_MODELS.image,
  imageFallbacks: [],
  video: DRAFT_MODELS.video,
  videoResolution: "480p",
  music: DRAFT_MODELS.music,
  speech: DRAFT_MODELS.speech,
};
