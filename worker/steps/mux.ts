import { MuxResponse } from "../../contracts/media.ts";
import { mediaKeys } from "../media/keys.ts";
import { type AssembleInput, assembleStep } from "./assembly.ts";
import type { JobSteps } from "./step.ts";

/**
 * The last job: the stitched video and the music prepared beside the chunks (music.ts) go into
 * the final MP4 by a stream-copy mux, the only audio work left on the critical path. With
 * progressive assembly (run/assembly.ts) this job is the assembly itself: the chunks and their
 * windows joined by stream copy with the soundtrack muxed in the same pass (steps/assembly.ts).
 */

export const muxSteps: JobSteps = {
  async start(deps, claim) {
    if ((claim.job.input as Partial<AssembleInput>).assemble) return assembleStep(deps, claim);
    const videoId = claim.video.video_id;
    const key = mediaKeys.final(videoId);
    const result = await deps.media.call(
      "/v1/media/audio/mux",
      { video_url: await deps.url(mediaKeys.stitched(videoId)), audio_url: await deps.url(mediaKeys.music(videoId)), output_url: await deps.url(key, "put") },
      MuxResponse,
    );
    return { kind: "done", output: { key, ...result } };
  },
};
