import { z } from "zod";
import { ChunkPlan } from "../../contracts/spec.ts";

/**
 * A chunk job's input: its plan, and a re-anchored start when the run decided one because the
 * previous chunk of its beat drifted from the references (chunks/drift.ts, docs/SEAMS.md).
 */

export const Reanchor = z.strictObject({
  /** The drifting chunk, whose last frame is recoloured. */
  from_chunk: z.number().int().min(0),
  /** How far toward the storyboard's palette (palette-transfer `strength`). */
  strength: z.number().min(0).max(1),
  drift: z.number(),
});
export type Reanchor = z.infer<typeof Reanchor>;
export const ChunkJobInput = ChunkPlan.extend({ reanchor: Reanchor.optional() });
export type ChunkJobInput = z.infer<typeof ChunkJobInput>;
