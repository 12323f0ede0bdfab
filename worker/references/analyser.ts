import type { ReferenceImageAnalysis } from "../../contracts/api.ts";
import type { AnalyzeImageResponse } from "../../contracts/media.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { ReferenceType } from "./selection.ts";

/**
 * Reference image analysis (SPEC §5.4): character, product, colours, style, setting.
 * Two analysers sit behind one interface, chosen by `config.analyser`: `local` (media-node's
 * measured statistics + the spec's facts) and `openai` (a vision model, vision.ts), which
 * falls back to `local` and says why.
 */

export interface AnalysisSubject {
  type: ReferenceType;
  spec: Pick<VideoSpec, "facts" | "style">;
  /** media-node's measurement of the image (palette, tone, lighting and style hints). */
  stats: AnalyzeImageResponse;
  /** A URL the vision model can fetch the image from; asked for only by analysers that need it. */
  imageUrl(): Promise<string>;
}

export interface AnalysisResult {
  analysis: ReferenceImageAnalysis;
  analyser: "openai" | "local";
  /** Why the configured analyser's answer was not used, when it was not. */
  note?: string;
  usage?: { input_tokens: number; output_tokens: number };
}

export interface Analyser {
  readonly name: "openai" | "local";
  analyse(subject: AnalysisSubject): Promise<AnalysisResult>;
}

/**
 * The local analysis: colour, light and style are measured; what the subject looks like
 * comes from the spec's facts, which the planner extracted from the prompt.
 */
export function localAnalysis({ type, spec, stats }: Pick<AnalysisSubject, "type" | "spec" | "stats">): ReferenceImageAnalysis {
  const { character, product, setting } = spec.facts;
  return {
    character_description: type === "character" ? `${character || "the main character"}, as in the character reference, ${stats.lighting}` : character,
    product_features: type === "product" || type === "logo" ? `${product || "the product"}, colours ${stats.palette.slice(0, 3).map((p) => p.hex).join(", ")}` : product,
    colors: stats.palette.map((p) => p.hex),
    style: stats.style,
    environment: type === "environment" ? `${setting || "the setting"}, ${stats.lighting}` : `${setting}${setting ? ", " : ""}${stats.lighting}`,
  };
}

export const localAnalyser: Analyser = {
  name: "local",
  async analyse(subject) {
    return { analysis: localAnalysis(subject), analyser: "local" };
  },
};
