import { DRAFT_MODELS, DraftSpeechInput } from "../../../contracts/draft-models.ts";
import { modelName } from "../../../contracts/model-contracts.ts";
import type { SpeechRequest } from "./requests.ts";
import { UnknownModel } from "./image.ts";

/** Speech models: one voiceover line per prediction (steps/voice.ts; the soundtrack job places each on its beat). */

type SpeechAdapter = (request: SpeechRequest) => Record<string, unknown>;

/** espeak-ng's normal rate (words per minute) is what `speed: 1` means for the draft voice. */
const DRAFT_WORDS_PER_MINUTE = 165;

const SPEECH_ADAPTERS: Record<string, SpeechAdapter> = {
  [DRAFT_MODELS.speech]: (r) => ({
    text: r.text,
    ...(r.voice ? { voice: r.voice } : {}),
    words_per_minute: Math.round(DRAFT_WORDS_PER_MINUTE * r.speed),
    output_format: "wav",
  }),
  /** MiniMax speech-02-turbo: mp3, 32 kHz mono are its defaults, asked for explicitly so a default change cannot surprise the mix. */
  "minimax/speech-02-turbo": (r) => ({
    text: r.text,
    ...(r.voice ? { voice_id: r.voice } : {}),
    speed: Math.min(2, Math.max(0.5, r.speed)),
    audio_format: "mp3",
    sample_rate: 32000,
    channel: "mono",
    language_boost: "English",
  }),
};

export function speechInput(model: string, request: SpeechRequest): Record<string, unknown> {
  const adapter = SPEECH_ADAPTERS[modelName(model)];
  if (!adapter) throw new UnknownModel(model, "speech", Object.keys(SPEECH_ADAPTERS));
  return adapter(request);
}

export const SPEECH_MODELS: readonly string[] = Object.keys(SPEECH_ADAPTERS);

/**
 * Why `voice` cannot be spoken by `model`, or null: draft voices are espeak-ng language codes
 * (`en-us`); MiniMax's voice ids are free-form (system voices and cloned ones), so any well-formed
 * name goes to the model. Checked when the request arrives, so a voice the video's model cannot
 * take is a 422 and not a video that fails at its first line.
 */
export function speechVoiceProblem(model: string, voice: string): string | null {
  if (modelName(model) === DRAFT_MODELS.speech && !DraftSpeechInput.shape.voice.safeParse(voice).success) {
    return `${voice} is not a draft voice: draft ads speak with espeak-ng, whose voices are language codes such as en-us or en-gb`;
  }
  return null;
}
