import { join } from "node:path";
import type { PlanJoin } from "../../lib/stitch-plan.ts";
import { normalizeChunk } from "../../media-node/video/normalize.ts";
import type { StitchChunk } from "../../media-node/video/stitch.ts";
import { synthClip } from "./synth-media.ts";

/**
 * Five short chunks of distinct synthetic pictures joined by a fade, a dissolve, a cut and a
 * wipe: the stitch tests' shared workload (one-shot and progressive), small enough to run
 * ffmpeg on in a few seconds.
 */
export const W = 320;
export const H = 180;
export const FPS = 24;
export const SOURCES = ["testsrc2", "mandelbrot", "smptehdbars", "testsrc", "rgbtestsrc"];
export const FRAMES = [20, 22, 18, 16, 30];
export const JOINS: PlanJoin[] = [
  { type: "fade", frames: 6 },
  { type: "dissolve", frames: 4 },
  { type: "cut", frames: 0 },
  { type: "wipeleft", frames: 5 },
];
export const TOTAL = FRAMES.reduce((s, f) => s + f, 0) - JOINS.reduce((s, j) => s + j.frames, 0);

/**
 * The workload's chunks, synthesized and normalized into `dir` as the pipeline does: keyframes
 * forced at each incoming seam's cut unless `keyframes` says otherwise; `lastFrames` also writes
 * each chunk's last frame (last-<i>.png).
 */
export function normalizedChunks(dir: string, options: { keyframes?: (i: number, overlapIn: number) => number[]; lastFrames?: boolean } = {}): Promise<StitchChunk[]> {
  return Promise.all(
    SOURCES.map(async (source, i) => {
      const raw = join(dir, `raw-${i}.mp4`);
      await synthClip(raw, { source, width: W, height: H, fps: FPS, seconds: 1.4, hue: i * 1.3 });
      const path = join(dir, `chunk-${i}.mp4`);
      const overlapIn = i > 0 ? JOINS[i - 1]!.frames : 0;
      const keyframes = options.keyframes ? options.keyframes(i, overlapIn) : overlapIn > 0 ? [overlapIn] : [];
      await normalizeChunk(raw, path, options.lastFrames ? join(dir, `last-${i}.png`) : null, { width: W, height: H, fps: FPS, frames: FRAMES[i]!, keyframes });
      return { path, frames: FRAMES[i]! };
    }),
  );
}
