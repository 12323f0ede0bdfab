import { contractOf, modelName } from "../../../contracts/model-contracts.ts";
import { DRAFT_MODELS } from "../../../contracts/draft-models.ts";
import type { OutputFormat } from "./requests.ts";

/**
 * The file type a prediction returns, from the input it was sent: the format field the input
 * names, else the model's published default (SD 3.5 and flux return webp, nano-banana-pro jpg,
 * musicgen wav, speech-02-turbo mp3 unless asked otherwise). Steps store outputs by this and by
 * the bytes' own signature (steps/step.ts), never by a guess from the key.
 */

const FORMAT_FIELDS = ["output_format", "audio_format"] as const;

const DRAFT_DEFAULTS: Record<string, OutputFormat> = {
  [DRAFT_MODELS.image]: "png",
  [DRAFT_MODELS.video]: "mp4",
  [DRAFT_MODELS.music]: "wav",
  [DRAFT_MODELS.speech]: "wav",
};

export function outputFormatOf(model: string, input: Record<string, unknown>): OutputFormat | null {
  const contract = contractOf(model);
  if (contract?.kind === "video" || modelName(model) === DRAFT_MODELS.video) return "mp4";
  for (const field of FORMAT_FIELDS) {
    const sent = input[field];
    if (typeof sent === "string") return asFormat(sent);
    const published = contract?.input_schema.properties[field]?.default;
    if (typeof published === "string") return asFormat(published);
  }
  return DRAFT_DEFAULTS[modelName(model)] ?? null;
}

function asFormat(value: string): OutputFormat | null {
  const format = value === "jpeg" ? "jpg" : value;
  return (["png", "jpg", "webp", "mp4", "wav", "mp3"] as const).find((f) => f === format) ?? null;
}
