import type { ReferenceImageAnalysis } from "../../contracts/api.ts";
import { dedupeColors } from "../../contracts/color.ts";
import type { VideoSpec } from "../../contracts/spec.ts";

/**
 * Seed 004's consistency context: five sections, in this order and with these headings,
 * built from the three references' analyses and injected into every storyboard and chunk
 * prompt so each shot describes the same world.
 */

export interface AnalysedReference {
  type: string;
  analysis: ReferenceImageAnalysis | null;
}

function joinDistinct(values: string[], fallback: string): string {
  const seen = new Set<string>();
  const kept = values.map((v) => v.trim()).filter((v) => v && !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
  return kept.length ? kept.join("; ") : fallback;
}

export function buildConsistencyContext(references: AnalysedReference[], spec: Pick<VideoSpec, "facts" | "style">): string {
  const analyses = references.map((r) => r.analysis).filter((a): a is ReferenceImageAnalysis => a !== null);
  // The reference typed for a subject speaks for it first; the others only add to it.
  const by = (type: string) => references.filter((r) => r.type === type && r.analysis).map((r) => r.analysis!);
  const character = joinDistinct([...by("character"), ...analyses].map((a) => a.character_description), spec.facts.character || "no recurring character");
  const product = joinDistinct([...by("product"), ...by("logo"), ...analyses].map((a) => a.product_features), spec.facts.product || "no specific product");
  const colors = dedupeColors(analyses.flatMap((a) => a.colors)).slice(0, 8);
  const style = joinDistinct([spec.style, ...analyses.map((a) => a.style)], spec.style);
  const environment = joinDistinct([...by("environment"), ...analyses].map((a) => a.environment), spec.facts.setting || "consistent setting");
  return [
    `CHARACTER APPEARANCE: ${character}`,
    `PRODUCT FEATURES: ${product}`,
    `COLOR PALETTE: ${colors.length ? colors.join(", ") : "natural colours"}`,
    `VISUAL STYLE: ${style}`,
    `ENVIRONMENTAL CONTEXT: ${environment}`,
  ].join("\n");
}
