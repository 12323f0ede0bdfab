import { describe, expect, it } from "vitest";
import { ConsistencyReport, type SeamReport } from "../../contracts/api.ts";
import { hexToLab, paletteDistance } from "../../lib/color.ts";
import { type ChunkPalettes, DEFAULT_DRIFT_THRESHOLD, consistencyReport } from "./consistency.ts";
import { SEAM_THRESHOLDS } from "./seam-scores.ts";

const palette = (...entries: [string, number][]) => entries.map(([hex, share]) => ({ lab: hexToLab(hex), share }));

const TEAL = palette(["#1F6F78", 0.6], ["#F2C14E", 0.4]);
const TEAL_DARKER = palette(["#1A5F66", 0.6], ["#E0B040", 0.4]);
const MAGENTA = palette(["#C0187A", 0.7], ["#101010", 0.3]);

function chunk(chunk_num: number, beat_index: number, last: ReturnType<typeof palette>, reference_drift: number | null): ChunkPalettes {
  return { chunk_num, beat_index, palette: last, reference_drift };
}

const seam = (chunk_num: number, kind: "within_beat" | "beat_transition", jump_ratio: number, flagged: boolean): SeamReport["seams"][number] => ({
  chunk_num,
  beat_index: chunk_num,
  at_frame: 48 * chunk_num,
  kind,
  transition: { type: "cut", frames: 0 },
  ssim: 0.99,
  palette_delta_e: 1,
  jump_ratio,
  transition_delivered: kind === "within_beat" ? null : true,
  transition_detail: null,
  unjudged: null,
  flagged,
  flags: flagged ? ["jump"] : [],
});

/** A stitch job's output, as steps/stitch.ts stores it. */
const stitched = (seams: SeamReport["seams"]) => ({ key: "videos/x/stitched.mp4", frames: 144, duration_s: 6, bytes: 1, method: "seams", encode_seconds: 1, copied_frames: 100, decorated_frames: 0, seams: { thresholds: SEAM_THRESHOLDS, decoded_frames: 40, measure_seconds: 0.4, seams } });

describe("consistency report", () => {
  it("summarises reference drift and flags chunks above the threshold", () => {
    const report = consistencyReport([chunk(0, 0, TEAL, 4), chunk(1, 0, TEAL, 9), chunk(2, 1, MAGENTA, 40)], 25);
    expect(ConsistencyReport.parse(report)).toEqual(report);
    expect(report.threshold).toBe(25);
    expect(report.reference_drift).toEqual({ mean: 17.67, max: 40 });
    expect(report.flagged_chunks).toEqual([2]);
    expect(report.chunks.map((c) => c.flagged)).toEqual([false, false, true]);
    expect(consistencyReport([chunk(0, 0, TEAL, 4), chunk(1, 0, TEAL, 9)], 5).flagged_chunks).toEqual([1]);
  });

  it("orders chunks by number and leaves unknowns out of the summaries", () => {
    const report = consistencyReport([chunk(2, 1, MAGENTA, null), chunk(0, 0, TEAL, null), chunk(1, 0, TEAL, 7)]);
    expect(report.chunks.map((c) => c.chunk_num)).toEqual([0, 1, 2]);
    expect(report.reference_drift).toEqual({ mean: 7, max: 7 });
    expect(report.flagged_chunks).toEqual([]);
  });

  it("reports the seams the stitch measured, with their thresholds, flags and the within-beat jump summary", () => {
    const seams = [seam(1, "within_beat", 0.5, false), seam(2, "beat_transition", 30, false), seam(3, "within_beat", 4, true)];
    const report = consistencyReport([chunk(0, 0, TEAL, 4), chunk(1, 0, TEAL_DARKER, 5)], DEFAULT_DRIFT_THRESHOLD, stitched(seams));
    expect(ConsistencyReport.parse(report)).toEqual(report);
    expect(report.seams).toEqual(seams);
    expect(report.seam_thresholds).toEqual(SEAM_THRESHOLDS);
    expect(report.flagged_seams).toEqual([3]);
    expect(report.within_beat_jump_ratio).toEqual({ mean: 2.25, max: 4 });
  });

  it("has no seams before the video is stitched, or when measuring them failed", () => {
    for (const stitch of [undefined, null, { key: "k", seams: null, seams_error: "media-node answered 500" }, { unexpected: true }]) {
      const report = consistencyReport([chunk(0, 0, TEAL, 4)], DEFAULT_DRIFT_THRESHOLD, stitch);
      expect(report.seams).toEqual([]);
      expect(report.flagged_seams).toEqual([]);
      expect(report.within_beat_jump_ratio).toBeNull();
      expect(report.seam_thresholds).toEqual(SEAM_THRESHOLDS);
    }
  });

  it("the default threshold separates a shade of the references' colours from colours they do not have", () => {
    const references = palette(["#1F6F78", 0.3], ["#F2C14E", 0.2], ["#F7F3E9", 0.2], ["#3B2F2F", 0.15], ["#E8B49A", 0.15]);
    expect(paletteDistance(TEAL_DARKER, references)).toBeLessThan(DEFAULT_DRIFT_THRESHOLD / 2);
    for (const foreign of [MAGENTA, palette(["#2040C0", 0.5], ["#30B030", 0.5]), palette(["#D02020", 0.5], ["#6020A0", 0.5])]) {
      expect(paletteDistance(foreign, references)).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLD);
    }
  });

  it("uses the default threshold when none is given", () => {
    expect(consistencyReport([]).threshold).toBe(DEFAULT_DRIFT_THRESHOLD);
    expect(consistencyReport([]).reference_drift).toBeNull();
  });
});
