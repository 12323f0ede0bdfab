import type { ReferenceImageAnalysis } from "../../contracts/api.ts";
import { dedupeColors } from "../../lib/color.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { countWords, limitWords, sanitiseSlot } from "../planning/prompts.ts";

/**
 * The consistency context (SPEC §5.5): five sections, in this order and with these headings,
 * built from the three references' analyses and injected into every storyboard and chunk
 * prompt so each shot describes the same world.
 *
 * Every section has a word budget. The context rides at the end of prompts that have a
 * 100-word budget (planning/prompts.ts `composePrompt`), after a beat prompt of ~35–55
 * words; left unbounded, three vision-model descriptions per section would make the first
 * section eat the whole budget and the palette, style and setting would never reach the
 * model. The full analyses stay on each reference image.
 */

export interface AnalysedReference {
  type: string;
  analysis: ReferenceImageAnalysis | null;
}

/** Words per section (headings excluded): 48 words of content + 10 of headings at most. */
export const CONTEXT_SECTION_WORDS = { character: 12, product: 10, style: 8, environment: 8 } as const;
export const CONTEXT_MAX_COLOURS = 5;

/** The first `maxWords` words, ending at a clause boundary when one keeps at least half of them. */
function clip(text: string, maxWords: number): string {
  const words = text.trim().split(/\s+/);
  const cut = limitWords(text, maxWords);
  // Whole text, or the cut already falls at the end of a clause.
  if (words.length <= maxWords || /[,;.]$/.test(words[maxWords - 1]!)) return cut.replace(/[.]$/, "");
  const boundary = Math.max(cut.lastIndexOf(","), cut.lastIndexOf(";"));
  return boundary > 0 && boundary >= cut.length / 2 ? cut.slice(0, boundary) : cut;
}

/**
 * Distinct values (case-insensitive), the most relevant first, within a word budget. A `gap`
 * (a reference that should have spoken for this section is missing) is said at the end, inside
 * the budget, so the model is not told a guess is what the references show.
 */
function section(values: string[], maxWords: number, fallback: string, gap: string | null = null): string {
  const seen = new Set<string>();
  const kept = values
    .map((v) => sanitiseSlot(v, 600))
    .filter((v) => v && !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
  const room = gap ? maxWords - countWords(gap) : maxWords;
  const text = kept.length ? clip(kept.join("; "), room) : gap ? clip(fallback, room) : fallback;
  return gap ? `${text}; ${gap}` : text;
}

/** Each reference's 1st colour, then each one's 2nd, …: the palette represents all three. */
function interleavedColours(analyses: ReferenceImageAnalysis[]): string[] {
  const out: string[] = [];
  const longest = Math.max(0, ...analyses.map((a) => a.colors.length));
  for (let rank = 0; rank < longest; rank++) for (const a of analyses) if (a.colors[rank]) out.push(a.colors[rank]!);
  return out;
}

/**
 * `missing`: the types of references that failed every attempt (SPEC §5.7). The section such a
 * reference would have led says it has no image, and with no reference at all the style
 * section says the storyboard sets the look.
 */
export function buildConsistencyContext(references: AnalysedReference[], spec: Pick<VideoSpec, "facts" | "style">, missing: readonly string[] = []): string {
  const analyses = references.map((r) => r.analysis).filter((a): a is ReferenceImageAnalysis => a !== null);
  // The reference typed for a subject speaks for it first; the others only add to it.
  const by = (type: string) => references.filter((r) => r.type === type && r.analysis).map((r) => r.analysis!);
  const gap = (...types: string[]) => {
    const lost = types.find((t) => missing.includes(t) && !references.some((r) => r.type === t));
    return lost ? `no ${lost} reference image` : null;
  };
  const words = CONTEXT_SECTION_WORDS;
  const character = section([...by("character"), ...analyses].map((a) => a.character_description), words.character, spec.facts.character || "no recurring character", gap("character"));
  const product = section([...by("product"), ...by("logo"), ...analyses].map((a) => a.product_features), words.product, spec.facts.product || "no specific product", gap("product", "logo"));
  const colors = dedupeColors(interleavedColours(analyses)).slice(0, CONTEXT_MAX_COLOURS);
  // What the references look like (SPEC §5.4: style from analysis); the spec's look, which
  // chunk prompts carry anyway, only when no analysis says.
  // With no reference at all, the storyboard frames set the look: the style section says there are none.
  const unseen = references.length === 0 && missing.length > 0 ? "no reference images" : null;
  const style = section(analyses.map((a) => a.style), words.style, sanitiseSlot(spec.style, 300) || "consistent look", unseen);
  const environment = section([...by("environment"), ...analyses].map((a) => a.environment), words.environment, spec.facts.setting || "consistent setting", gap("environment"));
  return [
    `CHARACTER APPEARANCE: ${character}`,
    `PRODUCT FEATURES: ${product}`,
    `COLOR PALETTE: ${colors.length ? colors.join(", ") : "natural colours"}`,
    `VISUAL STYLE: ${style}`,
    `ENVIRONMENTAL CONTEXT: ${environment}`,
  ].join("\n");
}
