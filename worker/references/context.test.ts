import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GenerateRequest, type ReferenceImageAnalysis } from "../../contracts/api.ts";
import { deltaE2000, hexToLab } from "../../lib/color.ts";
import { planChunks } from "../chunks/plan.ts";
import { loadConfig } from "../config.ts";
import { planLocally } from "../planning/local.ts";
import { CHUNK_PROMPT_MAX_WORDS, composePrompt, countWords } from "../planning/prompts.ts";
import { type ClaimedJob, stepDeps } from "../steps/step.ts";
import { storyboardSteps } from "../steps/storyboard.ts";
import { CONTEXT_MAX_COLOURS, CONTEXT_SECTION_WORDS, buildConsistencyContext } from "./context.ts";

const SECTIONS = ["CHARACTER APPEARANCE", "PRODUCT FEATURES", "COLOR PALETTE", "VISUAL STYLE", "ENVIRONMENTAL CONTEXT"];

const spec = planLocally({ prompt: "A new citrus sparkling water for beach volleyball players at sunset", duration_s: 30 }).spec;

/** What the openai analyser answers for a rich image: long, detailed fields. */
const vision = (over: Partial<ReferenceImageAnalysis>): ReferenceImageAnalysis => ({
  character_description: "Woman in her early thirties, shoulder-length curly black hair, warm brown skin, wearing a mustard-yellow linen shirt and silver hoop earrings, slim athletic build, relaxed smile.",
  product_features: "",
  colors: ["#1F6F78", "#F2C14E", "#3B2F2F"],
  style: "photorealistic lifestyle photography, shallow depth of field",
  environment: "Outdoor beach boardwalk at golden hour, low warm sunlight from the left, soft haze over the sea.",
  ...over,
});

const references = [
  { type: "character", analysis: vision({ colors: ["#1F6F78", "#F2C14E", "#3B2F2F"] }) },
  { type: "product", analysis: vision({ product_features: "Matte teal stainless-steel water bottle with a bamboo cap, white wave logo near the base.", colors: ["#1F6F79", "#D9D9D9", "#F2C14E"] }) },
  { type: "environment", analysis: vision({ character_description: "", colors: ["#F7F3E9", "#8FB9A8", "#1E6E77", "#223344"] }) },
];

describe("consistency context (SPEC §5.5)", () => {
  it("is exactly the five sections, in order, one per line, each within its word budget", () => {
    const context = buildConsistencyContext(references, spec);
    expect(context).toBe(
      [
        "CHARACTER APPEARANCE: Woman in her early thirties, shoulder-length curly black hair, warm brown skin",
        "PRODUCT FEATURES: Matte teal stainless-steel water bottle with a bamboo cap",
        "COLOR PALETTE: #1F6F78, #F7F3E9, #F2C14E, #D9D9D9, #8FB9A8",
        "VISUAL STYLE: photorealistic lifestyle photography, shallow depth of field",
        "ENVIRONMENTAL CONTEXT: Outdoor beach boardwalk at golden hour",
      ].join("\n"),
    );
    const lines = context.split("\n");
    expect(lines.map((l) => l.split(":")[0])).toEqual(SECTIONS);
    const budgets = [CONTEXT_SECTION_WORDS.character, CONTEXT_SECTION_WORDS.product, CONTEXT_MAX_COLOURS, CONTEXT_SECTION_WORDS.style, CONTEXT_SECTION_WORDS.environment];
    lines.forEach((line, i) => expect(countWords(line.slice(line.indexOf(":") + 1))).toBeLessThanOrEqual(budgets[i]!));
  });

  it("de-duplicates colours a viewer cannot tell apart (ΔE2000 < 3), taking each reference's colours in rank order", () => {
    const palette = buildConsistencyContext(references, spec).split("\n")[2]!.slice("COLOR PALETTE: ".length).split(", ");
    // #1F6F79 and #1E6E77 are within ΔE 3 of #1F6F78 (the first seen); #F2C14E appears twice.
    expect(deltaE2000(hexToLab("#1F6F78"), hexToLab("#1F6F79"))).toBeLessThan(3);
    expect(deltaE2000(hexToLab("#1F6F78"), hexToLab("#1E6E77"))).toBeLessThan(3);
    expect(palette).not.toContain("#1F6F79");
    expect(palette).not.toContain("#1E6E77");
    expect(new Set(palette).size).toBe(palette.length);
    for (let i = 0; i < palette.length; i++) for (let j = i + 1; j < palette.length; j++) expect(deltaE2000(hexToLab(palette[i]!), hexToLab(palette[j]!))).toBeGreaterThanOrEqual(3);
  });

  it("lets the reference typed for a subject speak first and falls back to the spec's facts", () => {
    const context = buildConsistencyContext([{ type: "product", analysis: null }, { type: "environment", analysis: null }], spec);
    expect(context).toBe(
      [
        `CHARACTER APPEARANCE: ${spec.facts.character || "no recurring character"}`,
        `PRODUCT FEATURES: ${spec.facts.product || "no specific product"}`,
        "COLOR PALETTE: natural colours",
        `VISUAL STYLE: ${spec.style}`,
        `ENVIRONMENTAL CONTEXT: ${spec.facts.setting || "consistent setting"}`,
      ].join("\n"),
    );
  });
});

describe("a context with references missing (SPEC §5.7)", () => {
  const budgets = [CONTEXT_SECTION_WORDS.character, CONTEXT_SECTION_WORDS.product, CONTEXT_MAX_COLOURS, CONTEXT_SECTION_WORDS.style, CONTEXT_SECTION_WORDS.environment];
  const withinBudgets = (context: string) => context.split("\n").forEach((line, i) => expect(countWords(line.slice(line.indexOf(":") + 1)), line).toBeLessThanOrEqual(budgets[i]!));

  it("says which reference has no image in the section it would have led, within the budget", () => {
    const context = buildConsistencyContext([references[1]!, references[2]!], spec, ["character"]);
    withinBudgets(context);
    const lines = context.split("\n");
    expect(lines[0]).toMatch(/^CHARACTER APPEARANCE: .+; no character reference image$/);
    // The references that are there still speak for their own sections.
    expect(lines[1]).toBe("PRODUCT FEATURES: Matte teal stainless-steel water bottle with a bamboo cap");
    expect(lines[4]).not.toContain("no environment reference image");
  });

  it("with none at all, says there are no reference images, from the plan's own facts", () => {
    const context = buildConsistencyContext([], spec, ["character", "product", "environment"]);
    withinBudgets(context);
    expect(context.split("\n").map((l) => l.split(": ")[0])).toEqual(SECTIONS);
    expect(context).toContain("COLOR PALETTE: natural colours");
    expect(context).toMatch(/VISUAL STYLE: .*; no reference images/);
  });
});

describe("the context in every prompt", () => {
  const context = buildConsistencyContext(references, spec);
  const sectionsIn = (prompt: string) => SECTIONS.filter((s) => prompt.includes(`${s}:`));

  it("reaches every chunk prompt whole, within the 100-word budget", () => {
    for (const duration_s of [15, 30, 60] as const) {
      const planned = planLocally({ prompt: "Handmade leather boots for city hikers", duration_s }).spec;
      for (const chunk of planChunks(planned, { maxChunkFrames: 48 })) {
        // Exactly what steps/chunk.ts sends the video model.
        const prompt = composePrompt(chunk.prompt, context);
        expect(countWords(prompt)).toBeLessThanOrEqual(CHUNK_PROMPT_MAX_WORDS);
        expect(prompt.startsWith(chunk.prompt.trim())).toBe(true);
        expect(sectionsIn(prompt)).toEqual(SECTIONS);
        expect(prompt).toContain("ENVIRONMENTAL CONTEXT: Outdoor beach boardwalk at golden hour");
      }
    }
  });

  it("reaches every storyboard prompt the storyboard step sends, within the budget", async () => {
    const deps = stepDeps(env, loadConfig(env));
    const request = GenerateRequest.parse({ prompt: "A new citrus sparkling water for beach volleyball players at sunset", duration_s: 30 });
    for (const beat of spec.beats) {
      const claim: ClaimedJob = {
        video: { video_id: "00000000-0000-4000-8000-000000000001", tenant_id: "t", request, spec, consistency_context: context },
        references: [],
        job: { id: `storyboard:${beat.index}`, kind: "storyboard", beat: beat.index, idx: beat.index, attempt: 1, input: { beat: beat.index }, prediction_id: null },
        prediction: null,
        published: null,
      };
      const outcome = await storyboardSteps.start(deps, claim);
      expect(outcome.kind).toBe("predict");
      const prompt = String((outcome as Extract<typeof outcome, { kind: "predict" }>).input.prompt);
      expect(countWords(prompt)).toBeLessThanOrEqual(CHUNK_PROMPT_MAX_WORDS);
      expect(prompt).toContain(beat.name);
      expect(prompt).toContain(`Consistency: ${context.replace(/\n/g, " ")}`);
    }
  });
});
