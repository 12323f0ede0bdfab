import { z } from "zod";
import { type ChunkConsistency, type ConsistencyReport, SeamReport } from "../../contracts/api.ts";
import { type WeightedLab } from "../../lib/color.ts";
import { SEAM_THRESHOLDS } from "./seam-scores.ts";

/**
 * Consistency score (issue item 8), from what media-node measured while the video was made —
 * no decoding at read time:
 *
 * - reference drift: a chunk's last frame against the three references' pooled palette
 *   (CIEDE2000 between share-weighted palettes, lib/color.ts `paletteDistance`; steps/chunk.ts
 *   computes it when the chunk is normalized). A chunk is flagged above the threshold.
 * - seams: every join of the stitched video as the viewer sees it (SSIM and palette ΔE of the
 *   frames either side, the jump against the shot's own motion, and at beat transitions whether
 *   the planned transition is what plays), measured by media-node on the stitched file and
 *   scored by the stitch step (steps/stitch.ts, references/seam-scores.ts). They come from the
 *   stitch job's output, so they exist once the video is stitched.
 */

/**
 * ΔE above which a chunk counts as drifted. Measured on the local stack (draft provider,
 * five 15 s ads, 40 chunks): reference drift 1.6–10.8 per chunk with generated references
 * and 8.6–15.4 with brand assets. 20 leaves headroom over all of those, while a frame in
 * colours the references do not have (saturated blue and green, or magenta and black, against
 * a teal and sand palette) scores 25–31 (consistency.test.ts).
 */
export const DEFAULT_DRIFT_THRESHOLD = 20;

export interface ChunkPalettes {
  chunk_num: number;
  beat_index: number | null;
  /** Last frame's palette. */
  palette: WeightedLab[];
  reference_drift: number | null;
}

/** What the report reads from the stitch job's output: its scored seams (absent while unmeasured, or if measuring failed). */
const StitchSeams = z.object({ seams: SeamReport.nullish() });

const round2 = (n: number) => Math.round(n * 100) / 100;

function summary(values: (number | null)[]): { mean: number; max: number } | null {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return null;
  return { mean: round2(known.reduce((s, v) => s + v, 0) / known.length), max: round2(Math.max(...known)) };
}

/** `stitch`: the stitch job's output (the run's `outputs.stitch`), if the video has been stitched. */
export function consistencyReport(chunks: readonly ChunkPalettes[], threshold = DEFAULT_DRIFT_THRESHOLD, stitch?: unknown): ConsistencyReport {
  const scored: ChunkConsistency[] = [...chunks]
    .sort((a, b) => a.chunk_num - b.chunk_num)
    .map((chunk) => ({
      chunk_num: chunk.chunk_num,
      beat_index: chunk.beat_index,
      reference_drift: chunk.reference_drift,
      flagged: chunk.reference_drift !== null && chunk.reference_drift > threshold,
    }));
  const parsed = StitchSeams.safeParse(stitch);
  const report = parsed.success ? parsed.data.seams : null;
  const seams = report?.seams ?? [];
  return {
    threshold,
    reference_drift: summary(scored.map((c) => c.reference_drift)),
    flagged_chunks: scored.filter((c) => c.flagged).map((c) => c.chunk_num),
    chunks: scored,
    seam_thresholds: report?.thresholds ?? SEAM_THRESHOLDS,
    seams,
    flagged_seams: seams.filter((s) => s.flagged).map((s) => s.chunk_num),
    within_beat_jump_ratio: summary(seams.filter((s) => s.kind === "within_beat").map((s) => s.jump_ratio)),
  };
}
