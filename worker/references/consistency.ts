import type { ChunkConsistency, ConsistencyReport } from "../../contracts/api.ts";
import { type WeightedLab, paletteDistance } from "../../lib/color.ts";

/**
 * Consistency score (issue item 8), from palettes media-node measured while the video was
 * made — no extra decoding at read time. All distances are CIEDE2000 between
 * share-weighted 8-colour palettes (lib/color.ts `paletteDistance`):
 *
 * - reference drift: a chunk's last frame against the three references' pooled palette
 *   (steps/chunk.ts computes it when the chunk is normalized);
 * - seam drift: the previous chunk's last frame against this chunk's start image — the
 *   conditioning image the video model starts from (its composite). Image-to-video models
 *   open on that image, so it stands in for the chunk's first frame; it is not a decoded
 *   first frame. Measured both ways and averaged, since neither side of a seam is the
 *   reference.
 *
 * A chunk is flagged when its reference drift is above the threshold.
 */

/**
 * ΔE above which a chunk counts as drifted. Measured on the local stack (draft provider,
 * five 15 s ads, 40 chunks): reference drift 1.6–10.8 per chunk with generated references
 * and 8.6–15.4 with brand assets; seams inside a beat 1.4–3.9, cuts between beats up to 14.
 * 20 leaves headroom over all of those, while a frame in colours the references do not
 * have (saturated blue and green, or magenta and black, against a teal and sand palette)
 * scores 25–31 (consistency.test.ts).
 */
export const DEFAULT_DRIFT_THRESHOLD = 20;

export interface ChunkPalettes {
  chunk_num: number;
  beat_index: number | null;
  /** Last frame's palette. */
  palette: WeightedLab[];
  /** Start (conditioning) image's palette; absent for chunks made before it was measured. */
  start_palette?: WeightedLab[] | null;
  reference_drift: number | null;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Symmetric palette distance: the mean of both directions. */
export function seamDistance(a: readonly WeightedLab[], b: readonly WeightedLab[]): number {
  return (paletteDistance(a, b) + paletteDistance(b, a)) / 2;
}

function summary(values: (number | null)[]): { mean: number; max: number } | null {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return null;
  return { mean: round2(known.reduce((s, v) => s + v, 0) / known.length), max: round2(Math.max(...known)) };
}

export function consistencyReport(chunks: readonly ChunkPalettes[], threshold = DEFAULT_DRIFT_THRESHOLD): ConsistencyReport {
  const ordered = [...chunks].sort((a, b) => a.chunk_num - b.chunk_num);
  const scored: ChunkConsistency[] = ordered.map((chunk, i) => {
    const previous = i > 0 && ordered[i - 1]!.chunk_num === chunk.chunk_num - 1 ? ordered[i - 1]! : null;
    const seam = previous && previous.palette.length && chunk.start_palette?.length ? round2(seamDistance(previous.palette, chunk.start_palette)) : null;
    return {
      chunk_num: chunk.chunk_num,
      beat_index: chunk.beat_index,
      reference_drift: chunk.reference_drift,
      seam_drift: seam,
      within_beat: previous !== null && previous.beat_index !== null && previous.beat_index === chunk.beat_index,
      flagged: chunk.reference_drift !== null && chunk.reference_drift > threshold,
    };
  });
  return {
    threshold,
    reference_drift: summary(scored.map((c) => c.reference_drift)),
    seam_drift: summary(scored.map((c) => c.seam_drift)),
    within_beat_seam_drift: summary(scored.filter((c) => c.within_beat).map((c) => c.seam_drift)),
    flagged_chunks: scored.filter((c) => c.flagged).map((c) => c.chunk_num),
    chunks: scored,
  };
}
