import { FfmpegError, run } from "../ffmpeg.ts";
import { InputError } from "../io.ts";
import { type Mp4VideoIndex, readMp4VideoIndex } from "./mp4-index.ts";

/**
 * What the stitcher needs to know about a video file, without decoding it: frame count,
 * where the keyframes are, and a hash of the SPS/PPS that decides whether two files may be
 * joined by stream copy. MP4s are read from their sample tables (mp4-index.ts); anything
 * else goes through ffprobe's packet list.
 */
export interface ChunkProbe extends Omit<Mp4VideoIndex, "codec"> {
  codec: string;
}

interface RawProbe {
  streams?: { codec_name?: string; width?: number; height?: number; r_frame_rate?: string; extradata_hash?: string }[];
  packets?: { flags?: string }[];
}

function rate(text: string | undefined): number {
  const [num, den] = (text ?? "0/1").split("/").map(Number) as [number, number | undefined];
  return den ? num / den : num;
}

/** Probe the first video stream of `path`; `label` names the input in errors (e.g. `chunks[2]`). */
export async function probeChunk(path: string, label: string): Promise<ChunkProbe> {
  return (await readMp4VideoIndex(path)) ?? probeWithFfprobe(path, label);
}

/**
 * Probe a file this service just wrote. One it cannot read is our failure (a 500 the caller
 * retries), never the client's 422, whatever ffmpeg's exit code said.
 */
export async function probeOutput(path: string, label: string): Promise<ChunkProbe> {
  try {
    return await probeChunk(path, label);
  } catch (error) {
    if (error instanceof InputError) throw new Error(`the ${label} just written is unreadable: ${error.message}`);
    throw error;
  }
}

export async function probeWithFfprobe(path: string, label: string): Promise<ChunkProbe> {
  let raw: RawProbe;
  try {
    const { stdout } = await run(
      "ffprobe",
      [
        "-v", "error",
        "-select_streams", "v:0",
        "-show_data_hash", "sha256",
        "-show_entries", "stream=codec_name,width,height,r_frame_rate,extradata_hash:packet=flags",
        "-of", "json",
        path,
      ],
      { timeoutMs: 60_000 },
    );
    raw = JSON.parse(stdout.toString("utf8")) as RawProbe;
  } catch (error) {
    if (error instanceof FfmpegError) throw new InputError(`${label} is not a readable video: ${error.stderrTail}`);
    throw error;
  }
  const stream = raw.streams?.[0];
  if (!stream?.codec_name || !stream.width || !stream.height) throw new InputError(`${label} has no video stream`);
  const packets = raw.packets ?? [];
  const keyframes: number[] = [];
  packets.forEach((p, i) => {
    if (p.flags?.startsWith("K")) keyframes.push(i);
  });
  return {
    codec: stream.codec_name,
    width: stream.width,
    height: stream.height,
    fps: rate(stream.r_frame_rate),
    frames: packets.length,
    keyframes,
    parameterSetsHash: stream.extradata_hash ?? "",
  };
}
