import { describe, expect, it } from "vitest";
import { GenerateRequest } from "../../contracts/api.ts";
import { ArchetypeId, VOICE_LEAD_IN_FRAMES, VideoSpec, copyWindows, countWords, voiceWordBudget } from "../../contracts/spec.ts";
import { readBriefPhrases, sanitiseCopy, shorterForms } from "./copy.ts";
import { repeats } from "./compose.ts";
import { planLocally } from "./local.ts";

const LEDGERLY = "Tired of juggling receipts? Ledgerly, the mobile app that tracks every expense for you.";

describe("voice word budget", () => {
  it("is 2.5 words a second of the beat, less half a second of breath", () => {
    expect(voiceWordBudget(48)).toBe(3); // 2 s → 1.5 s of speech → 3.75
    expect(voiceWordBudget(96)).toBe(8); // 4 s → 8.75
    expect(voiceWordBudget(12)).toBe(0);
    expect(voiceWordBudget(36)).toBe(2);
  });
});

describe("reading the brief's own phrases", () => {
  it("finds the opening question, the claim, an offer and a call to action", () => {
    expect(readBriefPhrases(LEDGERLY, "Ledgerly")).toEqual({ question: "Tired of juggling receipts?", claim: "tracks every expense for you", offer: null, cta: null });
    const launch = readBriefPhrases("Dragonfall, the open-world RPG, launches March 12. Pre-order now.", "Dragonfall");
    expect(launch).toMatchObject({ offer: "Launches March 12", cta: "Pre-order now" });
    expect(readBriefPhrases("FlowDesk automates reporting for finance teams. Start your free trial.", "FlowDesk")).toMatchObject({
      claim: "automates reporting for finance teams",
      offer: "Free trial",
      cta: "Start your free trial",
    });
    expect(readBriefPhrases("Crisp linen shirts, 20% off your first order this week", undefined).offer).toBe("20% off your first order this week");
    expect(readBriefPhrases("Meal kits with your first box free", undefined).offer).toBe("Your first box free");
  });

  it("keeps apostrophes and drops markup from on-screen text", () => {
    expect(sanitiseCopy("Luigi’s <b>{best}</b> pasta\u0000 \\ [now]", 60)).toBe("Luigi's b best /b pasta now");
    expect(sanitiseCopy("word ".repeat(40), 30).length).toBeLessThanOrEqual(30);
  });

  it("shortens a written line to its first sentences", () => {
    expect(shorterForms("Snap a receipt. Ledgerly files it! Done?")).toEqual(["Snap a receipt. Ledgerly files it! Done?", "Snap a receipt. Ledgerly files it!", "Snap a receipt."]);
  });
});

describe("copy in the local plan", () => {
  it("writes brand, headline, call to action and a script inside every beat's budget", () => {
    for (const archetype of ArchetypeId.options) {
      for (const duration_s of [15, 30, 60] as const) {
        const { spec } = planLocally({ prompt: LEDGERLY, archetype, duration_s });
        const where = `${archetype} ${duration_s}s`;
        const { copy } = spec;
        expect(copy.brand, where).toBe("Ledgerly");
        expect(copy.cta, where).toBe("Download Ledgerly today");
        expect(copy.end_card_beat, where).toBeGreaterThanOrEqual(spec.beats.length - 2);
        expect(copy.headline_beat, where).toBeLessThan(copy.end_card_beat);
        // Most beats speak; each line sits on its beat, in its budget, once.
        expect(copy.voiceover.lines.length, where).toBeGreaterThanOrEqual(Math.ceil(spec.beats.length / 2));
        expect(new Set(copy.voiceover.lines.map((l) => l.text)).size, where).toBe(copy.voiceover.lines.length);
        for (const line of copy.voiceover.lines) {
          const beat = spec.beats[line.beat_index]!;
          expect(line.start_frame, where).toBe(beat.start_frame + VOICE_LEAD_IN_FRAMES);
          expect(countWords(line.text), where).toBeLessThanOrEqual(voiceWordBudget(beat.frames));
        }
        expect(copy.voiceover.enabled).toBe(true);
        expect(copy.captions).toBe("burned");
      }
    }
  });

  it("places the headline on the reveal and the end card from the brand moment to the end", () => {
    const { spec } = planLocally({ prompt: "Sleek minimalist leather jackets from Noir Atelier", archetype: "product_showcase", duration_s: 15, creativity_level: 0 });
    expect(spec.beats.map((b) => b.beat_id)).toEqual(["hook", "product_hero", "feature_demo", "brand_moment", "call_to_action"]);
    expect(spec.copy).toMatchObject({ headline_beat: 1, end_card_beat: 3, headline: "Meet Noir Atelier", cta: "Shop the collection" });
    const windows = copyWindows(spec);
    expect(windows.end_card).toEqual({ from_frame: spec.beats[3]!.start_frame + spec.beats[2]!.transition_out.frames, to_frame: 360 });
    expect(windows.headline.to_frame).toBe(spec.beats[2]!.start_frame);
  });

  it("says each phrase once: a claim spoken on one beat is not spoken again on the next", () => {
    const { spec } = planLocally({ prompt: "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop", duration_s: 30, creativity_level: 0.5 });
    const lines = spec.copy.voiceover.lines.map((l) => l.text);
    expect(lines.filter((l) => /glows blue to remind/i.test(l))).toHaveLength(1);
    lines.forEach((line, i) => lines.slice(0, i).forEach((said) => expect(repeats(line, said), `${said} → ${line}`).toBe(false)));
    expect(repeats("Glows blue to remind busy professionals, in a single move.", "This is Aurora. It glows blue to remind busy professionals.")).toBe(true);
    expect(repeats("Meet Aurora.", "This is Aurora.")).toBe(false);
    expect(repeats("Aurora.", "Aurora.")).toBe(true);
  });

  it("speaks the offer and the brief's own call to action", () => {
    const { spec } = planLocally({ prompt: "Dragonfall, the open-world RPG, launches March 12. Pre-order now.", duration_s: 30, creativity_level: 0 });
    expect(spec.copy).toMatchObject({ brand: "Dragonfall", headline: "Introducing Dragonfall", offer: "Launches March 12", cta: "Pre-order now" });
    expect(spec.copy.voiceover.lines.at(-1)!.text).toBe("Pre-order now.");
  });

  it("applies the request's overrides", () => {
    const request = GenerateRequest.parse({
      prompt: LEDGERLY,
      duration_s: 30,
      copy: { headline: "  Receipts, handled  ", cta: "Get Ledgerly free" },
      voiceover: { voice: "en-gb" },
      captions: "sidecar",
    });
    const { spec } = planLocally(request);
    expect(spec.copy).toMatchObject({ headline: "Receipts, handled", cta: "Get Ledgerly free", captions: "sidecar", voiceover: { enabled: true, voice: "en-gb" } });
    expect(spec.copy.voiceover.lines.at(-1)).toMatchObject({ beat_index: spec.beats.length - 1, text: "Get Ledgerly free." });
    const silent = planLocally({ prompt: LEDGERLY, voiceover: { enabled: false } }).spec.copy;
    expect(silent.voiceover.enabled).toBe(false);
    expect(silent.captions).toBe("none");
    // The script is kept, for a later render with the voice on.
    expect(silent.voiceover.lines.length).toBeGreaterThan(3);
  });

  it("refuses a spec whose copy breaks the placement rules", () => {
    const { spec } = planLocally({ prompt: LEDGERLY, duration_s: 15 });
    const broken = structuredClone(spec);
    broken.copy.voiceover.lines[0]!.text = "word ".repeat(20).trim();
    broken.copy.headline_beat = broken.copy.end_card_beat;
    broken.copy.voiceover.enabled = false;
    const issues = VideoSpec.safeParse(broken).error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^copy\.voiceover\.lines\.0\.text: has 20 words, over the beat's budget/),
        "copy.headline_beat: the headline must come before the end card",
        "copy.captions: captions need the voiceover",
      ]),
    );
  });
});

describe("finishing options in the generate request", () => {
  const issue = (body: object) => {
    const result = GenerateRequest.safeParse({ prompt: "ad", ...body });
    return result.success ? null : `${result.error.issues[0]!.path.join(".")}: ${result.error.issues[0]!.message}`;
  };

  it("names the field and the problem", () => {
    expect(issue({ copy: { headline: "x".repeat(61) } })).toBe("copy.headline: must be at most 60 characters");
    expect(issue({ copy: { cta: "   " } })).toBe("copy.cta: must not be empty");
    expect(issue({ copy: { cta: "Buy <now>" } })).toMatch(/^copy\.cta: must not contain control characters/);
    expect(issue({ copy: { tagline: "x" } })).toMatch(/^copy: /);
    expect(issue({ voiceover: { enabled: "yes" } })).toMatch(/^voiceover\.enabled: /);
    expect(issue({ voiceover: { voice: "en us; rm -rf" } })).toBe("voiceover.voice: must be a voice name such as en-us or Wise_Woman");
    expect(issue({ captions: "subtitles" })).toMatch(/^captions: /);
    expect(issue({ captions: "burned", voiceover: { enabled: false } })).toBe("captions: burned captions need the voiceover: they are timed to the spoken lines (voiceover.enabled is false)");
    expect(issue({ captions: "none", voiceover: { enabled: false }, copy: { headline: "Hi" } })).toBeNull();
  });
});
