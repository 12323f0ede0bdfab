import { describe, expect, it } from "vitest";
import type { SpecBeat } from "../../contracts/spec.ts";
import { BEAT_PROMPT_MAX_WORDS, CHUNK_PROMPT_MAX_WORDS, chunkPrompt, composePrompt, countWords, fillTemplate, limitWords, sanitiseSlot } from "./prompts.ts";

const beat: Pick<SpecBeat, "prompt" | "camera" | "beat_id"> = {
  beat_id: "product_hero",
  prompt: "Hero shot of wireless headphones rotating slowly on a reflective surface, crisp detail, clean premium lighting, no people.",
  camera: "orbit",
};
const CONTEXT = Array.from({ length: 120 }, (_, i) => `detail${i}`).join(" ");

describe("prompt hygiene", () => {
  it("sanitises slots: control characters, quotes, braces, newlines, length", () => {
    expect(sanitiseSlot('  "Acme\u0000 {product}"\n\r<b>[x] `co`\\ ', 100)).toBe("Acme product bx co");
    expect(sanitiseSlot("word ".repeat(50), 30)).toBe("word word word word word word");
    expect(sanitiseSlot("ａｂｃ", 10)).toBe("abc");
  });

  it("fills templates in one pass, so a slot value cannot open another slot", () => {
    const filled = fillTemplate("{character} holds {product} in {setting}: {action}.", {
      product: "{setting}{action}",
      character: "a barista",
      setting: "a café",
      action: "smiling",
      brand: "",
    });
    expect(filled).toBe("A barista holds settingaction in a café: smiling.");
  });

  it("caps slot words so a filled beat prompt stays within its budget", () => {
    const long = "very ".repeat(40);
    const filled = fillTemplate("Final shot in {setting}: {character} {action}, {product} in clear view, inviting the viewer to act.", { product: long, character: long, setting: long, action: long, brand: long });
    expect(countWords(filled)).toBeLessThanOrEqual(BEAT_PROMPT_MAX_WORDS);
    expect(filled).toMatch(/inviting the viewer to act\.$/);
  });

  it("composes a chunk prompt: beat, camera and motion, look, context within the budget", () => {
    const prompt = chunkPrompt(beat, { style: "dark moody studio, rim light", consistencyContext: "Product: matte black headphones with copper accents." });
    expect(prompt).toBe(
      `${beat.prompt} Camera: gentle orbit around the subject, slow, graceful motion. Look: dark moody studio, rim light. Consistency: Product: matte black headphones with copper accents.`,
    );
    expect(countWords(prompt)).toBeLessThanOrEqual(CHUNK_PROMPT_MAX_WORDS);
  });

  it("truncates the consistency context first and never the beat's own prompt", () => {
    const prompt = chunkPrompt(beat, { style: "dark moody studio", consistencyContext: CONTEXT, part: { index: 1, count: 3 } });
    expect(countWords(prompt)).toBe(CHUNK_PROMPT_MAX_WORDS);
    expect(prompt.startsWith(beat.prompt)).toBe(true);
    expect(prompt).toContain("Continuous shot, part 2 of 3.");
    expect(prompt).toContain("Look: dark moody studio.");
    expect(prompt).toContain("detail0 detail1");
    expect(prompt).not.toContain("detail119");

    const tight = chunkPrompt(beat, { style: "dark moody studio", consistencyContext: CONTEXT, maxWords: 20 });
    expect(tight).toBe(sanitiseSlot(beat.prompt, 700));
  });

  it("adds late context to a finished prompt without cutting the prompt", () => {
    const base = chunkPrompt(beat, { style: "dark moody studio" });
    const late = composePrompt(base, CONTEXT);
    expect(late.startsWith(base)).toBe(true);
    expect(countWords(late)).toBe(CHUNK_PROMPT_MAX_WORDS);
    expect(composePrompt(base, "")).toBe(base);
    expect(composePrompt(base, 'a "quoted"\n{ctx}')).toBe(`${base} Consistency: a quoted ctx`);
    expect(limitWords("one two, three", 2)).toBe("one two");
  });
});
