import { describe, expect, it } from "vitest";
import { ConsistencyReport } from "../../contracts/api.ts";
import { deltaE2000, hexToLab, paletteDistance } from "../../lib/color.ts";
import { type ChunkPalettes, DEFAULT_DRIFT_THRESHOLD, consistencyReport, seamDistance } from "./consistency.ts";

const palette = (...entries: [string, number][]) => entries.map(([hex, share]) => ({ lab: hexToLab(hex), share }));

const TEAL = palette(["#1F6F78", 0.6], ["#F2C14E", 0.4]);
const TEAL_DARKER = palette(["#1A5F66", 0.6], ["#E0B040", 0.4]);
const MAGENTA = palette(["#C0187A", 0.7], ["#101010", 0.3]);

function chunk(chunk_num: number, beat_index: number, last: ReturnType<typeof palette>, start: ReturnType<typeof palette> | null, reference_drift: number | null): ChunkPalettes {
  return { chunk_num, beat_index, palette: last, start_palette: start, reference_drift };
}

describe("consistency report", () => {
  it("scores each seam from the previous chunk's last frame to this chunk's start image, both ways", () => {
    const report = consistencyReport([
      chunk(0, 0, TEAL, TEAL, 4),
      chunk(1, 0, TEAL_DARKER, TEAL, 9),
      chunk(2, 1, MAGENTA, MAGENTA, 40),
    ]);
    expect(ConsistencyReport.parse(report)).toEqual(report);
    const [first, second, third] = report.chunks;
    expect(first!.seam_drift).toBeNull();
    expect(first!.within_beat).toBe(false);
    // Seam 0→1 inside beat 0: chunk 0's last frame (TEAL) against chunk 1's start (TEAL).
    expect(second!.seam_drift).toBe(0);
    expect(second!.within_beat).toBe(true);
    // Seam 1→2 is a cut to beat 1: TEAL_DARKER against MAGENTA, the mean of both directions.
    const expected = (paletteDistance(TEAL_DARKER, MAGENTA) + paletteDistance(MAGENTA, TEAL_DARKER)) / 2;
    expect(third!.seam_drift).toBeCloseTo(expected, 2);
    expect(third!.within_beat).toBe(false);
    expect(report.seam_drift).toEqual({ mean: Math.round(((0 + third!.seam_drift!) / 2) * 100) / 100, max: third!.seam_drift });
    expect(report.within_beat_seam_drift).toEqual({ mean: 0, max: 0 });
  });

  it("summarises reference drift and flags chunks above the threshold", () => {
    const report = consistencyReport([chunk(0, 0, TEAL, TEAL, 4), chunk(1, 0, TEAL, TEAL, 9), chunk(2, 1, MAGENTA, MAGENTA, 40)], 25);
    expect(report.threshold).toBe(25);
    expect(report.reference_drift).toEqual({ mean: 17.67, max: 40 });
    expect(report.flagged_chunks).toEqual([2]);
    expect(report.chunks.map((c) => c.flagged)).toEqual([false, false, true]);
    expect(consistencyReport([chunk(0, 0, TEAL, TEAL, 4), chunk(1, 0, TEAL, TEAL, 9)], 5).flagged_chunks).toEqual([1]);
  });

  it("orders chunks by number and leaves unknowns out of the summaries", () => {
    const report = consistencyReport([chunk(2, 1, MAGENTA, null, null), chunk(0, 0, TEAL, null, null), chunk(1, 0, TEAL, TEAL, 7)]);
    expect(report.chunks.map((c) => c.chunk_num)).toEqual([0, 1, 2]);
    expect(report.chunks.map((c) => c.seam_drift)).toEqual([null, 0, null]);
    expect(report.reference_drift).toEqual({ mean: 7, max: 7 });
    expect(report.flagged_chunks).toEqual([]);
    // A chunk whose predecessor is not done yet has no seam score.
    expect(consistencyReport([chunk(0, 0, TEAL, TEAL, 1), chunk(2, 0, TEAL, TEAL, 1)]).chunks[1]!.seam_drift).toBeNull();
  });

  it("seam distance is symmetric, zero for one palette, and grows with the colour difference", () => {
    expect(seamDistance(TEAL, TEAL)).toBe(0);
    expect(seamDistance(TEAL, MAGENTA)).toBeCloseTo(seamDistance(MAGENTA, TEAL), 10);
    expect(seamDistance(TEAL, TEAL_DARKER)).toBeLessThan(seamDistance(TEAL, MAGENTA));
    // A one-colour palette against another is exactly their ΔE2000.
    expect(seamDistance(palette(["#1F6F78", 1]), palette(["#C0187A", 1]))).toBeCloseTo(deltaE2000(hexToLab("#1F6F78"), hexToLab("#C0187A")), 10);
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
