import { join } from "node:path";
import { expect } from "vitest";
import { isEndStatus, type StatusResponse, type VideoResponse } from "../../contracts/api.ts";
import type { AdreelClient } from "../../cli/client.ts";
import { ffprobe } from "../../media-node/ffmpeg.ts";

/** Checks shared by the end-to-end runs against a Replicate-like provider (emulated or real). */

/** Poll a video's status until it ends (bounded). */
export async function followToEnd(client: AdreelClient, id: string, timeoutMs: number): Promise<StatusResponse> {
  const deadline = Date.now() + timeoutMs;
  let status = await client.status(id);
  while (!isEndStatus(status.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    status = await client.status(id);
  }
  return status;
}

/** The ledger's actual total, every prediction ended (NaN if one has no actual cost). */
export function ledgerActual(video: VideoResponse): number {
  return (video.cost_ledger ?? []).reduce((sum, e) => sum + (e.actual_usd ?? Number.NaN), 0);
}

/** Download the final MP4 and check it: H.264, 24 fps, `frames` frames, the ad's frame size. */
export async function expectFinalMp4(client: AdreelClient, video: VideoResponse, dir: string, frames: number): Promise<void> {
  const path = join(dir, `${video.video_id}.mp4`);
  await client.download(video.final_video_url!, path);
  const probe = await ffprobe(path, true);
  const stream = probe.streams.find((s) => s.codec_type === "video")!;
  expect(stream).toMatchObject({ codec_name: "h264", r_frame_rate: "24/1", nb_read_frames: String(frames), width: video.spec!.width, height: video.spec!.height });
}
