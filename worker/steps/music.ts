import { PrepareMusicResponse } from "../../contracts/media.ts";
import { mediaKeys } from "../media/keys.ts";
import { musicInput } from "../providers/models/music.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { spokenLines } from "../../contracts/spec.ts";
import { type JobSteps, outputUrl, storeAudioOutput } from "./step.ts";
import type { MusicSource } from "./voice.ts";

/**
 * Music (SPEC §9) starts as soon as the spec exists and runs beside the chunks. Its ingest
 * step already fits the track to the ad (exact length, fades, −14 LUFS), so after the stitch
 * only a stream-copy mux remains on the critical path. A voiced ad's track is stored as it came:
 * the soundtrack job (voice.ts) fits it and mixes the voice over it in one pass.
 */

export const musicSteps: JobSteps = {
  async start(deps, claim) {
    const spec = claim.video.spec!;
    const model = deps.config.models.music;
    const prompt = `${spec.music.prompt}, ${spec.music.mood}, ${spec.music.tempo_bpm} bpm, instrumental, no vocals`;
    return {
      kind: "predict",
      model,
      input: musicInput(model, { prompt, durationS: spec.duration_s, seed: spec.seed }),
      estimateUsd: estimatePrediction(deps.config, model, spec.duration_s),
    };
  },
  async ingest(deps, claim) {
    const spec = claim.video.spec!;
    if (spokenLines(spec).length > 0) {
      const stored = await storeAudioOutput(deps, outputUrl(claim), (extension) => mediaKeys.musicSource(claim.video.video_id, extension));
      return { kind: "done", output: { source_key: stored.key, bytes: stored.bytes } satisfies MusicSource };
    }
    const key = mediaKeys.music(claim.video.video_id);
    const result = await deps.media.call(
      "/v1/media/audio/prepare",
      { music_url: outputUrl(claim), frames: spec.total_frames, fps: spec.fps, output_url: await deps.url(key, "put") },
      PrepareMusicResponse,
    );
    return { kind: "done", output: { key, ...result } };
  },
};
