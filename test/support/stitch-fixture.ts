import type { PlanJoin } from "../../lib/stitch-plan.ts";

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
