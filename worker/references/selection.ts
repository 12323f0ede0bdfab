import { z } from "zod";
import type { GenerateRequest, MissingReference } from "../../contracts/api.ts";

/** Which three reference images a video gets, and where each comes from. */

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
 * SPEC §5.2–5.3: brand assets first in the order product[0], character[0], logo, then any
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

/** A reference job that failed every attempt (SPEC §5.7), as the record and the events show it. */
export function missingReference(input: ReferenceJobInput, reason: string | null): MissingReference {
  return { index: input.index, type: input.type, source: input.source, reason: reason ?? "no reason recorded" };
}

export function missingReferenceMessage(missing: MissingReference): string {
  return `reference image ${missing.index + 1} (${missing.type}) could not be made, the other image models included: ${missing.reason}; the video goes on without it`;
}
