import type { GenerateRequest } from "../../contracts/api.ts";
import { spokenLines, type VideoSpec } from "../../contracts/spec.ts";
import { chunkJobId } from "../../contracts/live.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import { chooseReferences } from "../references/selection.ts";
import type { JobKind } from "./jobs.ts";

/** Which jobs each phase creates, and what each depends on. */

export interface NewJob {
  id: string;
  kind: JobKind;
  beat: number | null;
  idx: number;
  input: unknown;
  /** Job id that must be done first (chunk k+1 of a beat waits for chunk k's last frame). */
  dependsOn?: string;
}

export function referenceJobs(request: Pick<GenerateRequest, "brand_assets">): NewJob[] {
  return chooseReferences(request).map((input) => ({ id: `reference:${input.index}`, kind: "reference", beat: null, idx: input.index, input }));
}

export function musicJob(): NewJob {
  return { id: "music", kind: "music", beat: null, idx: 0, input: {} };
}

/** One job per spoken line: each is one speech prediction, and needs nothing but the spec. */
export function voiceJobs(spec: VideoSpec): NewJob[] {
  return spokenLines(spec).map((line, i) => ({ id: `voice:${i}`, kind: "voice", beat: line.beat_index, idx: i, input: { line: i } }));
}

/**
 * The soundtrack's jobs, all started with the spec: the music and, for a voiced ad, each voice
 * line. A voiced ad's music is mixed with the voice by a `soundtrack` job once both are done
 * (pipeline.ts); without a voice the music job prepares the soundtrack itself.
 */
export function soundtrackJobs(spec: VideoSpec): NewJob[] {
  return [musicJob(), ...voiceJobs(spec)];
}

export function soundtrackMixJob(): NewJob {
  return { id: "soundtrack", kind: "soundtrack", beat: null, idx: 0, input: {} };
}

export function storyboardJobs(spec: VideoSpec): NewJob[] {
  return spec.beats.map((beat) => ({ id: `storyboard:${beat.index}`, kind: "storyboard", beat: beat.index, idx: beat.index, input: { beat: beat.index } }));
}

export function chunkJobs(plan: ChunkPlan[]): NewJob[] {
  return plan.map((chunk) => ({
    id: chunkJobId(chunk.chunk_num),
    kind: "chunk",
    beat: chunk.beat_index,
    idx: chunk.chunk_num,
    input: chunk,
    dependsOn: chunk.first_in_beat ? undefined : chunkJobId(chunk.chunk_num - 1),
  }));
}
