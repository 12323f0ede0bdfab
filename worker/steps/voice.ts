import { z } from "zod";
import { PrepareMusicResponse, SpeechSpan, SpeechTimingResponse } from "../../contracts/media.ts";
import { FPS, spokenLines } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import { speechInput } from "../providers/models/speech.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { type JobSteps, PermanentError, outputUrl, storeAudioOutput } from "./step.ts";

/**
 * The voiceover (issue 15): one speech prediction per line of the script, each stored as the
 * model returned it; then the `soundtrack` job places every line on its beat, ducks the music
 * under the voice, normalizes the mix and writes the voice track and the WebVTT captions
 * (media-node `/v1/media/audio/prepare`). All of it runs beside the chunks: only the stitch's
 * burned captions and the mux wait for it.
 */

export const VoiceJobInput = z.object({ line: z.number().int().min(0) });

/**
 * A spoken line as stored: what the soundtrack mix places, its seconds of speech as the mix
 * trims it (`speech_s`), by which the captions are timed before the mix is done
 * (run/decorations-wait.ts `timedCues`), and where that speech is in the stored file (`span`),
 * handed to the mix so it does not trim the line again. Absent on lines stored before they were
 * measured (`speech_s`) or before the span was kept (`span`): the mix trims those itself.
 */
export const VoiceOutput = z.object({
  key: z.string(),
  text: z.string(),
  at_frame: z.number().int().min(0),
  bytes: z.number().int(),
  speech_s: z.number().positive().optional(),
  span: SpeechSpan.optional(),
});
export type VoiceOutput = z.infer<typeof VoiceOutput>;

/** A voiced ad's music job leaves the model's track as it came, for the mix to fit. */
export const MusicSource = z.object({ source_key: z.string(), bytes: z.number().int() });
export type MusicSource = z.infer<typeof MusicSource>;

export const SoundtrackInput = z.object({ music: MusicSource, phrases: z.array(VoiceOutput).min(1) });
export type SoundtrackInput = z.infer<typeof SoundtrackInput>;

export type SoundtrackOutput = PrepareMusicResponse & { key: string; voice_key: string; captions_key: string | null };

export const voiceSteps: JobSteps = {
  async start(deps, claim) {
    const spec = claim.video.spec!;
    const { line: index } = VoiceJobInput.parse(claim.job.input);
    const line = spokenLines(spec)[index];
    if (!line) throw new PermanentError(`voice line ${index} is not in the script`);
    const model = deps.config.models.speech;
    if (!model) throw new PermanentError("no speech model is configured (SPEECH_MODEL)");
    const input = speechInput(model, { text: line.text, voice: spec.copy.voiceover.voice, speed: 1 });
    // A line is at most as long as its beat: the bound a model billed by running time is estimated at.
    const beatSeconds = spec.beats[line.beat_index]!.frames / FPS;
    return { kind: "predict", model, input, estimateUsd: estimatePrediction(deps.config, model, beatSeconds, input) };
  },
  async ingest(deps, claim) {
    const spec = claim.video.spec!;
    const { line: index } = VoiceJobInput.parse(claim.job.input);
    const line = spokenLines(spec)[index]!;
    const stored = await storeAudioOutput(deps, outputUrl(claim), (extension) => mediaKeys.voiceLine(claim.video.video_id, index, extension));
    // Measured now, not in the mix: with every line's speech known the captions are timed, and the
    // chunks normalized from then on draw them in their own passes instead of windows re-encoding them.
    const timing = await deps.media.call("/v1/media/audio/speech", { url: await deps.url(stored.key) }, SpeechTimingResponse);
    return { kind: "done", output: { key: stored.key, text: line.text, at_frame: line.start_frame, bytes: stored.bytes, speech_s: timing.speech_s, span: timing.span } satisfies VoiceOutput };
  },
};

export const soundtrackSteps: JobSteps = {
  async start(deps, claim) {
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const { music, phrases } = SoundtrackInput.parse(claim.job.input);
    const key = mediaKeys.music(videoId);
    const voiceKey = mediaKeys.voice(videoId);
    const captionsKey = spec.copy.captions === "none" ? null : mediaKeys.captions(videoId);
    const result = await deps.media.call(
      "/v1/media/audio/prepare",
      {
        music_url: await deps.url(music.source_key),
        frames: spec.total_frames,
        fps: spec.fps,
        voiceover: {
          phrases: await Promise.all(phrases.map(async (p) => ({ url: await deps.url(p.key), text: p.text, at_frame: p.at_frame, ...(p.span ? { speech: p.span } : {}) }))),
          voice_url: await deps.url(voiceKey, "put"),
          ...(captionsKey ? { captions_url: await deps.url(captionsKey, "put") } : {}),
        },
        output_url: await deps.url(key, "put"),
      },
      PrepareMusicResponse,
    );
    return { kind: "done", output: { key, voice_key: voiceKey, captions_key: captionsKey, ...result } satisfies SoundtrackOutput };
  },
};
