import type { Phase } from "../../contracts/api.ts";
import type { JobKind, JobStatus } from "./jobs.ts";

/**
 * Progress from real work done: each phase owns a span of 0..100 and moves through it as
 * its jobs finish. Music, the voiceover and the soundtrack they make run in parallel with the chunks, so they are
 * counted in the chunk span.
 */

export const PHASE_SPANS: Record<Phase, [number, number]> = {
  queued: [0, 0],
  planning: [0, 5],
  generating_references: [5, 20],
  storyboarding: [20, 35],
  generating_chunks: [35, 85],
  stitching: [85, 95],
  adding_music: [95, 99],
  complete: [100, 100],
  failed: [0, 0],
  cancelled: [0, 0],
};

export const PHASE_OF_KIND: Record<JobKind, Phase> = {
  plan: "planning",
  reference: "generating_references",
  storyboard: "storyboarding",
  chunk: "generating_chunks",
  music: "generating_chunks",
  voice: "generating_chunks",
  soundtrack: "generating_chunks",
  stitch: "stitching",
  mux: "adding_music",
};

/** Credit for a job part-way through: a prediction running is half done, ingesting most of it. */
// A job that failed for good and did not end the video (a reference the run goes on without) is settled, like a done one.
const PARTIAL: Partial<Record<JobStatus, number>> = { predicting: 0.4, ingesting: 0.8, normalizing: 0.9, done: 1, failed: 1 };

export function phaseProgress(phase: Phase, jobs: readonly { kind: JobKind; status: JobStatus }[]): number {
  const [from, to] = PHASE_SPANS[phase];
  const mine = jobs.filter((job) => PHASE_OF_KIND[job.kind] === phase);
  if (mine.length === 0) return from;
  const done = mine.reduce((sum, job) => sum + (PARTIAL[job.status] ?? 0), 0);
  return from + ((to - from) * done) / mine.length;
}
