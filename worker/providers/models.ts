import { DRAFT_MODELS } from "../../contracts/media.ts";
import type { AspectRatio } from "../../contracts/spec.ts";

/**
 * Each hosted model names its inputs differently. These adapters turn adreel's request for
 * an image, a clip or a music track into the input object of the configured model.
 */

export interface ImageRequest {
  prompt: string;
  /** Conditioning images (signed URLs), most important first. */
  images: string[];
  width: number;
  height: number;
  aspectRatio: AspectRatio;
  seed: number;
}

export interface ClipRequest {
  prompt: string;
  startImage: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  camera: string;
  seed: number;
}

export interface MusicRequest {
  prompt: string;
  durationS: number;
  seed: number;
}

function modelName(model: string): string {
  return model.split(":")[0] ?? model;
}

export function imageInput(model: string, request: ImageRequest): Record<string, unknown> {
  switch (modelName(model)) {
    case DRAFT_MODELS.image:
      return { prompt: request.prompt, image_input: request.images, width: request.width, height: request.height, seed: request.seed, output_format: "png" };
    case "google/nano-banana-pro":
    case "google/nano-banana":
      return { prompt: request.prompt, image_input: request.images.slice(0, 14), aspect_ratio: request.aspectRatio, resolution: "1K", output_format: "png" };
    case "black-forest-labs/flux-1.1-pro":
      return { prompt: request.prompt, aspect_ratio: request.aspectRatio, output_format: "png", seed: request.seed, ...(request.images[0] ? { image_prompt: request.images[0] } : {}) };
    default:
      // Most text-to-image models on Replicate accept these names.
      return { prompt: request.prompt, aspect_ratio: request.aspectRatio, seed: request.seed, ...(request.images[0] ? { image: request.images[0] } : {}) };
  }
}

export function clipInput(model: string, request: ClipRequest): Record<string, unknown> {
  switch (modelName(model)) {
    case DRAFT_MODELS.video:
      return {
        prompt: request.prompt,
        start_image: request.startImage,
        num_frames: request.frames,
        fps: request.fps,
        width: request.width,
        height: request.height,
        camera: request.camera,
        seed: request.seed,
      };
    case "wan-video/wan-2.2-i2v-fast":
      // Wan renders 81..121 frames; normalization trims to the chunk's exact length.
      return {
        image: request.startImage,
        prompt: request.prompt,
        num_frames: Math.min(121, Math.max(81, request.frames)),
        frames_per_second: Math.min(24, request.fps),
        resolution: "480p",
        go_fast: true,
        seed: request.seed,
      };
    default:
      return { prompt: request.prompt, image: request.startImage, start_image: request.startImage, duration: Math.max(1, Math.ceil(request.frames / request.fps)), seed: request.seed };
  }
}

export function musicInput(model: string, request: MusicRequest): Record<string, unknown> {
  switch (modelName(model)) {
    case DRAFT_MODELS.music:
      return { prompt: request.prompt, duration: request.durationS, output_format: "wav", seed: request.seed };
    case "meta/musicgen":
      // musicgen generates at most 30 s in one call; the mix step loops it to the ad's length.
      return {
        prompt: request.prompt,
        duration: Math.min(30, Math.ceil(request.durationS)),
        model_version: "stereo-large",
        output_format: "wav",
        normalization_strategy: "loudness",
        seed: request.seed,
      };
    default:
      return { prompt: request.prompt, duration: Math.ceil(request.durationS), seed: request.seed };
  }
}
