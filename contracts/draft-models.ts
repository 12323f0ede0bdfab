import { z } from "zod";
import { Dimension, Url } from "./media-fields.ts";

/** The draft model server's models (draft/): names and inputs, as its Replicate-shaped API accepts them. */

/** Names of the draft models the local model server offers (Replicate `owner/name` form). */
export const DRAFT_MODELS = {
  image: "adreel/draft-image",
  video: "adreel/draft-video",
  music: "adreel/draft-music",
  speech: "adreel/draft-speech",
} as const;

/**
 * Draft model inputs. They mirror the real default models' input fields
 * (nano-banana-pro's `prompt` + `image_input`, musicgen's `prompt` + `duration`), with the
 * extra fields a local renderer needs.
 */
export const DraftImageInput = z.object({
  prompt: z.string().min(1).max(4000),
  image_input: z.array(Url).max(8).default([]),
  width: Dimension.default(1024),
  height: Dimension.default(576),
  seed: z.number().int().min(0).default(0),
  output_format: z.enum(["png", "jpg"]).default("png"),
});
export const DraftVideoInput = z.object({
  prompt: z.string().min(1).max(4000),
  start_image: Url,
  /** The frame the clip ends on (Wan 2.2's `last_image`): the draft draws toward it (draft/video-arrival.ts). */
  last_image: Url.optional(),
  num_frames: z.number().int().min(1).max(24 * 30),
  fps: z.number().int().min(1).max(60).default(24),
  width: Dimension.default(1024),
  height: Dimension.default(576),
  camera: z.string().max(40).default("push_in"),
  seed: z.number().int().min(0).default(0),
});
/** The draft voice (draft/speech.ts): one line, an espeak-ng voice, a rate. */
export const DraftSpeechInput = z.object({
  text: z.string().trim().min(1).max(1000),
  voice: z.string().regex(/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/).default("en-us"),
  words_per_minute: z.number().int().min(80).max(400).default(165),
  output_format: z.enum(["wav", "mp3"]).default("wav"),
});
export const DraftMusicInput = z.object({
  /** The tempo is read from the prompt ("... 110 bpm ..."), as a text-conditioned model would. */
  prompt: z.string().min(1).max(4000),
  duration: z.number().min(1).max(300),
  output_format: z.enum(["wav", "mp3"]).default("wav"),
  seed: z.number().int().min(0).default(0),
});
