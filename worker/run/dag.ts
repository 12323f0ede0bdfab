import { z } from "zod";
import type { GenerateRequest } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
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

export const ReferenceType = z.enum(["character", "product", "environment", "logo"]);
export type ReferenceType = z.infer<typeof ReferenceType>;

export const ReferenceJobInput = z.object({
  index: z.number().int().min(0).max(2),
  type: ReferenceType,
  /** `generated`, an https URL, or `asset:<id>` for an uploaded asset. */
  source: z.string(),
});
export type ReferenceJobInput = z.infer<typeof ReferenceJobInput>;

const GENERATED_ORDER: ReferenceType[] = ["character", "product", "environment"];

/**
 * Seed 004: brand assets first in the order product[0], character[0], logo, then any
 * remaining, up to 3; the rest are generated so that the set covers character, product and
 * environment.
 */
export function chooseReferences(request: Pick<GenerateRequest, "brand_assets">): ReferenceJobInput[] {
  const assets = request.brand_assets;
  const picked: { type: ReferenceType; source: string }[] = [];
  if (assets) {
    const products = assets.product_images ?? [];
    const characters = assets.character_images ?? [];
    const ordered: { type: ReferenceType; source: string | null | undefined }[] = [
      { type: "product", source: products[0] },
      { type: "character", source: characters[0] },
      { type: "logo", source: assets.logo },
      ...products.slice(1).map((source) => ({ type: "product" as const, source })),
      ...characters.slice(1).map((source) => ({ type: "character" as const, source })),
    ];
    for (const candidate of ordered) {
      if (candidate.source && picked.length < 3) picked.push({ type: candidate.type, source: candidate.source });
    }
  }
  const covered = new Set(picked.map((p) => p.type));
  for (const type of GENERATED_ORDER) {
    if (picked.length >= 3) break;
    if (!covered.has(type)) {
      picked.push({ type, source: "generated" });
      covered.add(type);
    }
  }
  return picked.map((p, index) => ({ index, ...p }));
}

export function referenceJobs(request: Pick<GenerateRequest, "brand_assets">): NewJob[] {
  return chooseReferences(request).map((input) => ({ id: `reference:${input.index}`, kind: "reference", beat: null, idx: input.index, input }));
}

export function musicJob(): NewJob {
  return { id: "music", kind: "music", beat: null, idx: 0, input: {} };
}

export function storyboardJobs(spec: VideoSpec): NewJob[] {
  return spec.beats.map((beat) => ({ id: `storyboard:${beat.index}`, kind: "storyboard", beat: beat.index, idx: beat.index, input: { beat: beat.index } }));
}

export function chunkJobId(chunkNum: number): string {
  return `chunk:${String(chunkNum).padStart(3, "0")}`;
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
