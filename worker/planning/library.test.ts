import { describe, expect, it } from "vitest";
import { ArchetypeId, CameraMove, TransitionType } from "../../contracts/spec.ts";
import { ARCHETYPES } from "./archetypes.ts";
import { BEATS, BEAT_IDS, TRANSITION_FRAMES, substitutesFor } from "./beats.ts";
import { MAX_BEATS } from "./local.ts";
import { lowerBounds } from "./timing.ts";

describe("beat library", () => {
  it("has 15 well-formed beats", () => {
    expect(BEAT_IDS).toHaveLength(15);
    for (const id of BEAT_IDS) {
      const beat = BEATS[id];
      expect(beat.id).toBe(id);
      expect(beat.minFrames).toBeGreaterThanOrEqual(12);
      expect(beat.minFrames).toBeLessThanOrEqual(beat.defaultFrames);
      expect(beat.defaultFrames).toBeLessThanOrEqual(beat.maxFrames);
      expect(beat.template).toMatch(/\{(product|brand|character)\}/);
      for (const slot of beat.template.match(/\{[a-z]+\}/g) ?? []) expect(["{product}", "{character}", "{setting}", "{action}", "{brand}"]).toContain(slot);
      expect(beat.actions.length).toBeGreaterThanOrEqual(2);
      expect(beat.cameras.every((c) => CameraMove.options.includes(c))).toBe(true);
      expect(beat.transitions.every((t) => TransitionType.options.includes(t))).toBe(true);
    }
    expect(BEATS.call_to_action.transitions).toEqual(["cut"]);
    expect(substitutesFor("hook")).toEqual([]);
    expect(substitutesFor("feature_demo")).toContain("how_it_works");
  });

  it("gives every blended transition an overlap and a cut none", () => {
    for (const type of TransitionType.options) expect(TRANSITION_FRAMES[type] === 0).toBe(type === "cut");
  });
});

describe("archetype templates", () => {
  for (const id of ArchetypeId.options) {
    it(`${id}: each duration sums exactly, fits the library bounds and chunks efficiently`, () => {
      const archetype = ARCHETYPES[id];
      expect(archetype.id).toBe(id);
      for (const duration of [15, 30, 60] as const) {
        const template = archetype.templates[duration];
        expect(template[0]!.beat).toBe("hook");
        expect(template.at(-1)!.beat).toBe("call_to_action");
        expect(template.length).toBeLessThanOrEqual(MAX_BEATS[duration]);
        expect(template.reduce((sum, t) => sum + t.seconds * 24, 0)).toBe(duration * 24);
        const outs = template.map((t, i) => (i === template.length - 1 ? 0 : TRANSITION_FRAMES[t.transition ?? BEATS[t.beat].transitions[0]!]));
        const lo = lowerBounds(template.map((t, i) => ({ target: t.seconds * 24, min: BEATS[t.beat].minFrames, max: BEATS[t.beat].maxFrames, out: outs[i]! })));
        template.forEach((t, i) => {
          expect(Number.isInteger(t.seconds * 24)).toBe(true);
          expect(t.seconds * 24).toBeGreaterThanOrEqual(lo[i]!);
          expect(t.seconds * 24).toBeLessThanOrEqual(BEATS[t.beat].maxFrames);
        });
        for (const sig of archetype.signature) expect(template.map((t) => t.beat)).toContain(sig);
        // The fewest 48-frame chunks the rendered frames could possibly fill.
        const rendered = template.reduce((sum, t, i) => sum + t.seconds * 24 + outs[i]!, 0);
        const chunks = template.reduce((sum, t, i) => sum + Math.ceil((t.seconds * 24 + outs[i]!) / 48), 0);
        expect(chunks).toBe(Math.ceil(rendered / 48));
        expect(outs.some((o, i) => o > 0 && ["fade", "dissolve"].includes(template[i]!.transition ?? BEATS[template[i]!.beat].transitions[0]!))).toBe(true);
      }
      expect(archetype.music.energy_curve.every((e) => e >= 0 && e <= 1)).toBe(true);
      expect(archetype.looks.length).toBeGreaterThanOrEqual(2);
    });
  }
});
