import type { JobKind } from "../../contracts/live.ts";

/**
 * The phase each job's cost is booked under, in the estimate and in the ledger alike, so
 * `cost_by_phase` compares like with like. Music is generated while the chunks render, but it
 * is the music's cost: it belongs under `adding_music`, where the estimate puts it and where a
 * user looks for it; so do the voiceover's lines (the soundtrack's other half). (Progress keeps its own mapping in run/progress.ts: there music runs
 * inside `generating_chunks`.)
 */
export const COST_PHASE_OF_KIND: Record<JobKind, "planning" | "generating_references" | "storyboarding" | "generating_chunks" | "stitching" | "adding_music"> = {
  plan: "planning",
  reference: "generating_references",
  storyboard: "storyboarding",
  chunk: "generating_chunks",
  music: "adding_music",
  voice: "adding_music",
  soundtrack: "adding_music",
  stitch: "stitching",
  mux: "adding_music",
};
