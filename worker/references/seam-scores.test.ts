import { describe, expect, it } from "vitest";
import { SeamReport } from "../../contracts/api.ts";
import type { SeamsResponse } from "../../contracts/media.ts";
import { planChunks } from "../chunks/plan.ts";
import { planLocally } from "../planning/local.ts";
import { SEAM_THRESHOLDS, plannedSeams, scoreSeams } from "./seam-scores.ts";

const spec = planLocally({ prompt: "A cosy neighbourhood bakery launches a sourdough subscription", duration_s: 30 }).spec;
const plan = planChunks(spec, { maxChunkFrames: 48 });

describe("planned seams", () => {
  it("one before every chunk but the first, where the stitch joins them: inside a beat a cut, between beats the beat's transition", () => {
    const seams = plannedSeams(plan);
    expect(seams).toHaveLength(plan.length - 1);
    let at = 0;
    plan.slice(0, -1).forEach((chunk, i) => {
      // The stitch places chunk i+1 at Σ (frames − outgoing overlap) of the chunks before it.
      at += chunk.frames - chunk.seam_out.frames;
      const next = plan[i + 1]!;
      expect(seams[i]).toEqual({ chunk_num: next.chunk_num, beat_index: next.beat_index, at_frame: at, transition: chunk.seam_out, within_beat: chunk.beat_index === next.beat_index });
    });
    expect(seams.some((s) => s.within_beat)).toBe(true);
    expect(seams.some((s) => !s.within_beat && s.transition.frames > 0)).toBe(true);
  });
});

describe("seam scores", () => {
  const planned = plannedSeams(plan);
  const inside = planned.findIndex((s) => s.within_beat);
  const between = planned.findIndex((s) => !s.within_beat);
  const measured = (change: (i: number) => Partial<SeamsResponse["seams"][number]> = () => ({})): SeamsResponse => ({
    analysis_width: 256,
    analysis_height: 144,
    decoded_frames: 300,
    measure_seconds: 0.8,
    seams: planned.map((s, i) => ({
      at_frame: s.at_frame,
      within_beat: s.within_beat,
      transition: s.transition,
      ssim: s.within_beat ? 0.99 : 0.7,
      palette_delta_e: s.within_beat ? 1.2 : 9,
      difference: s.within_beat ? 0.5 : 30,
      motion: 1,
      jump_ratio: s.within_beat ? 0.5 : 30,
      transition_check: s.within_beat ? null : { delivered: true, detail: "as planned" },
      rows: { from: 0, to: 144 },
      unjudged: null,
      ...change(i),
    })),
  });

  it("flags nothing on joins a viewer cannot see, and beat transitions that play as planned", () => {
    const report = scoreSeams(planned, measured());
    expect(SeamReport.parse(report)).toEqual(report);
    expect(report.thresholds).toEqual(SEAM_THRESHOLDS);
    expect(report.seams.filter((s) => s.flagged)).toEqual([]);
    // A beat's cut changes everything, as it should: its SSIM and jump are not held against it.
    expect(report.seams[between]).toMatchObject({ kind: "beat_transition", transition_delivered: true, flags: [] });
    expect(report.seams[inside]).toMatchObject({ kind: "within_beat", transition_delivered: null, chunk_num: planned[inside]!.chunk_num });
  });

  it("flags a join inside a beat on each measure past its threshold, and a beat transition that does not play as planned", () => {
    const report = scoreSeams(planned, measured((i) => (i === inside ? { ssim: 0.6, palette_delta_e: 7, jump_ratio: 5.5 } : i === between ? { transition_check: { delivered: false, detail: "no abrupt change" } } : {})));
    expect(report.seams[inside]).toMatchObject({ flagged: true, flags: ["ssim", "palette", "jump"] });
    expect(report.seams[between]).toMatchObject({ flagged: true, flags: ["transition"], transition_delivered: false, transition_detail: "no abrupt change" });
    const jumpOnly = scoreSeams(planned, measured((i) => (i === inside ? { jump_ratio: SEAM_THRESHOLDS.jump_ratio_max + 0.01 } : {})));
    expect(jumpOnly.seams[inside]!.flags).toEqual(["jump"]);
    expect(scoreSeams(planned, measured((i) => (i === inside ? { jump_ratio: SEAM_THRESHOLDS.jump_ratio_max } : {}))).seams[inside]!.flagged).toBe(false);
  });

  it("never flags a seam the ad's decorations kept media-node from judging, and says why", () => {
    const why = "the ad's overlays and captions leave at most 8 of 144 rows clear around frame 600 (29 needed)";
    const report = scoreSeams(planned, measured((i) => (i === inside ? { jump_ratio: 5.5, ssim: 0.5, unjudged: why } : i === between ? { transition_check: null, unjudged: why } : {})));
    expect(report.seams[inside]).toMatchObject({ flagged: false, flags: [], unjudged: why, transition_detail: null });
    expect(report.seams[between]).toMatchObject({ flagged: false, flags: [], unjudged: why, transition_delivered: null, transition_detail: why });
    expect(report.seams.filter((s) => s.unjudged !== null)).toHaveLength(2);
  });

  it("refuses measures that do not match the seams asked for", () => {
    expect(() => scoreSeams(planned, { ...measured(), seams: measured().seams.slice(1) })).toThrow(/measured \d+ seams, \d+ were asked for/);
    expect(() => scoreSeams(planned, measured((i) => (i === 0 ? { at_frame: 3 } : {})))).toThrow(/seam 0 was measured at frame 3/);
  });
});
