import { describe, expect, it } from "vitest";
import { cueFrames, holdCuesToKeyframes } from "../../contracts/media.ts";
import { copyWindows } from "../../contracts/spec.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { planChunks, seamKeyframes, stitchKeyframes } from "../chunks/plan.ts";
import { planLocally } from "../planning/local.ts";

/** Where the stitch may copy again after the finish's decorations: keyframes planned at overlay ends, burned cues held to the next keyframe. */

const { spec } = planLocally({ prompt: "Ledgerly, the mobile app that tracks every expense for you", duration_s: 30 });
const plan = planChunks(spec);

describe("keyframes for the copy's overlays", () => {
  it("puts one wherever an overlay ends inside a chunk, besides the seams'", () => {
    const windows = copyWindows(spec);
    for (const chunk of plan) {
      const keyframes = stitchKeyframes(chunk, spec);
      expect(keyframes).toEqual(expect.arrayContaining(seamKeyframes(chunk)));
      for (const end of [windows.headline.to_frame, windows.end_card.to_frame].map((f) => f - chunk.video_start_frame)) {
        if (end > 0 && end < chunk.frames) expect(keyframes).toContain(end);
      }
    }
  });
});

describe("burned cues", () => {
  it("put keyframes where they end inside a chunk, when timed before it is normalized", () => {
    const chunk = plan.find((c) => c.frames > 40)!;
    const cue = { start_s: (chunk.video_start_frame + 5) / 24, end_s: (chunk.video_start_frame + 29) / 24, text: "spoken" };
    expect(stitchKeyframes(chunk, spec, [cue])).toContain(29);
    expect(stitchKeyframes(chunk, spec)).not.toContain(29);
  });

  const outputs = plan.map((c) => ({ keyframes: [0, 24, 48, 72, 96].filter((k) => k < c.frames) }) as unknown as ChunkOutput);
  const at = (chunk: number, k: number) => plan[chunk]!.video_start_frame + k;

  it("are held to the next keyframe, never into the next cue nor past the end, and never shortened", () => {
    const cues = [
      { start_s: at(0, 5) / 24, end_s: at(0, 30) / 24, text: "one" },
      { start_s: at(0, 50) / 24, end_s: at(0, 52) / 24, text: "two" },
      { start_s: at(0, 60) / 24, end_s: at(0, 72) / 24, text: "three" },
    ];
    const held = holdCuesToKeyframes(cues, plan, outputs, 24, spec.total_frames);
    expect(held.map((c) => cueFrames(c, 24).to)).toEqual([at(0, 48), at(0, 60), at(0, 72)]);
    expect(held.map((c) => c.start_s)).toEqual(cues.map((c) => c.start_s));
    const last = { start_s: (spec.total_frames - 10) / 24, end_s: (spec.total_frames - 5) / 24, text: "end" };
    expect(cueFrames(holdCuesToKeyframes([last], plan, outputs, 24, spec.total_frames)[0]!, 24).to).toBeLessThanOrEqual(spec.total_frames);
  });

  it("stay as they are when the chunks' keyframes are not known", () => {
    const cues = [{ start_s: 1, end_s: 2.1, text: "one" }];
    expect(holdCuesToKeyframes(cues, plan, plan.map(() => ({}) as ChunkOutput), 24, spec.total_frames)).toEqual(cues);
  });
});
