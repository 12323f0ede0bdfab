import { FfmpegError, type ProbeResult, type RunOptions, ffmpeg, ffprobe } from "../ffmpeg.ts";
import { InputError, fileSize } from "../io.ts";
import { readMp4AudioIsAac, readMp4VideoIndex } from "../video/mp4-index.ts";

/**
 * The final MP4: the stitched video and the prepared music, both stream-copied (this is all
 * the audio work left on the critical path), `+faststart` so playback starts before the
 * whole file has arrived. The result never runs longer than the video.
 */

export interface MuxedVideo {
  durationS: number;
  videoDurationS: number;
  audioDurationS: number;
  bytes: number;
}

/** `label` is the request field the file came from (`video_url`, `audio_url`), which a refusal names. */
async function probeInput(path: string, label: string, kind: "video" | "audio"): Promise<ProbeResult> {
  try {
    const probe = await ffprobe(path);
    if (!probe.streams.some((s) => s.codec_type === kind)) throw new InputError(`${label} has no ${kind} stream`, label);
    return probe;
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`${label} is not a readable media file: ${error.stderrTail}`, label);
    throw error;
  }
}

function streamSeconds(probe: ProbeResult, kind: "video" | "audio"): number {
  const stream = probe.streams.find((s) => s.codec_type === kind);
  return Number(stream?.duration ?? probe.format.duration ?? Number.NaN);
}

/** Codec and length of the video, from its MP4 index when it is one of ours (no ffprobe start-up on the critical path). */
async function videoFacts(path: string): Promise<{ codec: string | undefined; seconds: number }> {
  const index = await readMp4VideoIndex(path);
  if (index) return { codec: index.codec, seconds: index.frames / index.fps };
  const probe = await probeInput(path, "video_url", "video");
  return { codec: probe.streams.find((s) => s.codec_type === "video")?.codec_name, seconds: streamSeconds(probe, "video") };
}

/**
 * How the final file carries the music: prepared music is AAC already; anything else is encoded
 * rather than refused. Told from the MP4's sample description when it has one (our prepared
 * .m4a: no ffprobe start-up on the critical path), else by ffprobe.
 */
export async function audioCodecArgs(audioPath: string): Promise<string[]> {
  let isAac = await readMp4AudioIsAac(audioPath);
  if (isAac === null) {
    const audio = await probeInput(audioPath, "audio_url", "audio");
    isAac = audio.streams.find((s) => s.codec_type === "audio")?.codec_name === "aac";
  }
  return isAac ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2"];
}

/** Seconds of the final file and of each of its streams. */
export async function muxedFacts(outputPath: string, run: RunOptions = {}): Promise<MuxedVideo> {
  const out = await ffprobe(outputPath, false, run);
  return {
    durationS: Number(out.format.duration),
    videoDurationS: streamSeconds(out, "video"),
    audioDurationS: streamSeconds(out, "audio"),
    bytes: await fileSize(outputPath),
  };
}

export async function muxFinal(videoPath: string, audioPath: string, outputPath: string): Promise<MuxedVideo> {
  const [video, audioArgs] = await Promise.all([videoFacts(videoPath), audioCodecArgs(audioPath)]);
  if (video.codec !== "h264") throw new InputError(`video_url is ${video.codec}, expected h264`, "video_url");
  const videoSeconds = video.seconds;
  await ffmpeg(
    [
      "-i", videoPath,
      "-i", audioPath,
      "-map", "0:v:0", "-map", "1:a:0",
      "-c:v", "copy", ...audioArgs,
      ...(Number.isFinite(videoSeconds) ? ["-t", videoSeconds.toFixed(6)] : []),
      "-movflags", "+faststart",
      "-f", "mp4", outputPath,
    ],
    { timeoutMs: 5 * 60_000 },
  );
  return muxedFacts(outputPath);
}
