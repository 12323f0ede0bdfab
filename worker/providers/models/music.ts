import { DRAFT_MODELS } from "../../../contracts/draft-models.ts";
import { modelName } from "../../../contracts/model-contracts.ts";
import type { MusicRequest } from "./requests.ts";
import { UnknownModel } from "./image.ts";

/** Music models: one track of the ad's length (the soundtrack step fits it to the frame). */

type MusicAdapter = (request: MusicRequest) => Record<string, unknown>;

const MUSIC_ADAPTERS: Record<string, MusicAdapter> = {
  [DRAFT_MODELS.music]: (r) => ({ prompt: r.prompt, duration: r.durationS, output_format: "wav", seed: r.seed }),
  /**
   * musicgen (community: pinned by version, config.ts). The pinned version's `duration` has no
   * maximum (cog-musicgen predict.py; older versions stopped at 30 s), so one call covers a
   * 60 s ad. stereo-large: the melody variants only add conditioning on an input melody.
   */
  "meta/musicgen": (r) => ({
    prompt: r.prompt,
    duration: Math.ceil(r.durationS),
    model_version: "stereo-large",
    output_format: "wav",
    normalization_strategy: "loudness",
    seed: r.seed,
  }),
};

export function musicInput(model: string, request: MusicRequest): Record<string, unknown> {
  const adapter = MUSIC_ADAPTERS[modelName(model)];
  if (!adapter) throw new UnknownModel(model, "music", Object.keys(MUSIC_ADAPTERS));
  return adapter(request);
}

export const MUSIC_MODELS: readonly string[] = Object.keys(MUSIC_ADAPTERS);
