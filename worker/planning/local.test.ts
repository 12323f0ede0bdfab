import { describe, expect, it } from "vitest";
import { ArchetypeId, AspectRatio, VideoSpec, stitchedFrames } from "../../contracts/spec.ts";
import { planChunks, stitchedChunkFrames } from "../chunks/plan.ts";
import { ARCHETYPES } from "./archetypes.ts";
import { BEATS } from "./beats.ts";
import { planLocally } from "./local.ts";
import { BEAT_PROMPT_MAX_WORDS, countWords } from "./prompts.ts";
import { PlanResult } from "./request.ts";

const BRIEF = "Tired of juggling receipts? Ledgerly, the mobile app that tracks every expense for you.";

describe("local planner: every archetype × creativity × duration × aspect", () => {
  for (const archetype of ArchetypeId.options) {
    it(`${archetype}: 27 plans parse, stitch to duration × 24 frames and chunk exactly`, () => {
      for (const creativity_level of [0, 0.5, 1]) {
        for (const duration_s of [15, 30, 60] as const) {
          for (const aspect_ratio of AspectRatio.options) {
            const { spec } = planLocally({ prompt: BRIEF, archetype, creativity_level, duration_s, aspect_ratio });
            const where = `${archetype} c=${creativity_level} ${duration_s}s ${aspect_ratio}`;
            expect(VideoSpec.safeParse(spec).success, where).toBe(true);
            expect(stitchedFrames(spec), where).toBe(duration_s * 24);
            expect(spec.archetype).toBe(archetype);
            expect(spec.beats[0]!.beat_id, where).toBe("hook");
            expect(spec.beats.at(-1)!.beat_id, where).toBe("call_to_action");
            const chunks = planChunks(spec);
            const overlaps = chunks.reduce((sum, c) => sum + c.seam_out.frames, 0);
            expect(chunks.reduce((sum, c) => sum + c.frames, 0) - overlaps, where).toBe(spec.total_frames);
            expect(stitchedChunkFrames(chunks), where).toBe(spec.total_frames);
            for (const beat of spec.beats) {
              expect(countWords(beat.prompt), where).toBeLessThanOrEqual(BEAT_PROMPT_MAX_WORDS);
              expect(beat.prompt, where).not.toMatch(/[{}]/);
            }
          }
        }
      }
    });
  }
});

describe("local planner: creativity", () => {
  it("at 0 follows the archetype template exactly", () => {
    for (const archetype of ArchetypeId.options) {
      for (const duration_s of [15, 30, 60] as const) {
        const { spec } = planLocally({ prompt: BRIEF, archetype, duration_s, creativity_level: 0 });
        const template = ARCHETYPES[archetype].templates[duration_s];
        expect(spec.beats.map((b) => b.beat_id)).toEqual(template.map((t) => t.beat));
        expect(spec.beats.map((b) => b.frames)).toEqual(template.map((t) => t.seconds * 24));
        expect(spec.beats.map((b) => b.camera)).toEqual(template.map((t) => t.camera ?? BEATS[t.beat].cameras[0]));
        expect(spec.beats.slice(0, -1).map((b) => b.transition_out.type)).toEqual(
          template.slice(0, -1).map((t) => t.transition ?? BEATS[t.beat].transitions[0]),
        );
        expect(spec.style).toBe(ARCHETYPES[archetype].looks[0]);
        expect(spec.music.tempo_bpm).toBe(ARCHETYPES[archetype].music.tempo_bpm);
      }
    }
  });

  it("is deterministic: the same request gives a deep-equal plan", () => {
    for (const creativity_level of [0, 0.3, 0.5, 1]) {
      const request = { prompt: BRIEF, creativity_level, duration_s: 30 as const, aspect_ratio: "9:16" as const };
      expect(planLocally(request)).toEqual(planLocally({ ...request }));
    }
  });

  it("varies the plan with creativity: beats differ between levels above 0", () => {
    const prompts = [BRIEF, "A cozy Friday night at Luigi's trattoria", "Introducing the Aurora X1 smartwatch", "Real customers share results with GlowLab serum"];
    for (const prompt of prompts) {
      const at = (creativity_level: number) => planLocally({ prompt, creativity_level }).spec.beats;
      expect(at(0.5), prompt).not.toEqual(at(0));
      expect(at(1), prompt).not.toEqual(at(0.5));
      expect(at(0.25), prompt).not.toEqual(at(0.75));
    }
  });

  it("never moves the first hook or the final call to action, and keeps signature beats", () => {
    for (let i = 0; i < 40; i++) {
      const { spec } = planLocally({ prompt: `${BRIEF} variant ${i}`, creativity_level: 1, duration_s: 60 });
      expect(spec.beats[0]!.beat_id).toBe("hook");
      expect(spec.beats.at(-1)!.beat_id).toBe("call_to_action");
      for (const id of ARCHETYPES[spec.archetype].signature) expect(spec.beats.map((b) => b.beat_id)).toContain(id);
    }
  });

  it("records what it inferred or was told, and what it varied", () => {
    const inferred = planLocally({ prompt: BRIEF, creativity_level: 1 });
    expect(PlanResult.parse(inferred)).toEqual(inferred);
    expect(inferred.events[0]).toMatchObject({ type: "archetype_inferred" });
    expect(inferred.events[0]!.message).toMatch(/^problem_solution from the brief/);
    const forced = planLocally({ prompt: BRIEF, archetype: "testimonial", creativity_level: 0 });
    expect(forced.spec.archetype).toBe("testimonial");
    expect(forced.events).toEqual([{ type: "archetype_forced", message: "archetype testimonial requested" }]);
  });
});

describe("local planner: a default 30 s ad at creativity 0.5", () => {
  const prompts = [
    BRIEF,
    "A cozy Friday night at Luigi's trattoria: friends share fresh pasta and laughter.",
    "Sleek minimalist leather jackets from Noir Atelier, crafted from premium materials.",
    "Real customers share their results after 30 days with GlowLab vitamin C serum.",
    "Dragonfall, the open-world RPG, launches March 12. Pre-order now.",
    "Find the home where your family's next chapter begins with Harbor Realty.",
    "ad",
  ];
  for (const prompt of prompts) {
    it(`"${prompt.slice(0, 40)}": 6–10 beats, a fade or dissolve, 13–17 chunks`, () => {
      const { spec } = planLocally({ prompt });
      expect(spec.duration_s).toBe(30);
      expect(spec.creativity_level).toBe(0.5);
      expect(spec.beats.length).toBeGreaterThanOrEqual(6);
      expect(spec.beats.length).toBeLessThanOrEqual(10);
      expect(spec.beats.some((b) => b.transition_out.type === "fade" || b.transition_out.type === "dissolve")).toBe(true);
      const chunks = planChunks(spec).length;
      expect(chunks).toBeGreaterThanOrEqual(13);
      expect(chunks).toBeLessThanOrEqual(17);
    });
  }
});

describe("plan request", () => {
  it("accepts a whole generate request and ignores the fields planning does not use", () => {
    const generate = { prompt: BRIEF, quality: "standard", dry_run: true, brand_assets: { product_images: [], character_images: [] } };
    expect(planLocally(generate).spec).toEqual(planLocally({ prompt: BRIEF }).spec);
    expect(() => planLocally({ prompt: "   " })).toThrow(/must not be empty/);
    expect(() => planLocally({ prompt: "x", duration_s: 20 as 15 })).toThrow();
  });
});
