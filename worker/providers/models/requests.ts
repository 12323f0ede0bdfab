import type { AspectRatio } from "../../../contracts/spec.ts";

/**
 * What adreel asks a model for, in its own terms: one typed request per kind of output. Each
 * model family's adapter (image.ts, clip.ts, music.ts, speech.ts) turns it into the input
 * object that model's published schema accepts (contracts/models/*.json).
 */

export interface ImageRequest {
  prompt: string;
  /** Conditioning images (signed URLs), most important first. */
  images: string[];
  /** The ad's frame size: the image is made for it. */
  width: number;
  height: number;
  aspectRatio: AspectRatio;
  seed: number;
}

/** Output sizes a video model offers, cheapest first: the preset picks one (pricing/presets.ts). */
export type ClipResolution = "480p" | "720p";

export interface ClipRequest {
  prompt: string;
  /** The first frame (signed URL). */
  startImage: string;
  /** Optional end frame (signed URL): the clip moves toward it (seamless chunks). */
  endImage?: string;
  /** Frames of the chunk at the ad's rate (24 fps): the clip must last at least this long. */
  frames: number;
  /** The ad's frame rate. */
  fps: number;
  width: number;
  height: number;
  aspectRatio: AspectRatio;
  resolution: ClipResolution;
  camera: string;
  seed: number;
}

export interface MusicRequest {
  prompt: string;
  durationS: number;
  seed: number;
}

export interface SpeechRequest {
  text: string;
  /** The model's voice name; null = the model's default voice. */
  voice: string | null;
  /** Speaking rate relative to the voice's normal one (1 = normal). */
  speed: number;
}

/** What a prediction's output file is, so it is stored under its real type. */
export type OutputFormat = "png" | "jpg" | "webp" | "mp4" | "wav" | "mp3";
