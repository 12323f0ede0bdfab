import { describe, expect, it } from "vitest";
import { ArchetypeId, renderedFrames } from "../../contracts/spec.ts";
import { planLocally } from "../planning/local.ts";
import { CHUNK_PROMPT_MAX_WORDS, countWords } from "../planning/prompts.ts";
import { CLIP_CONTRACTS, clipContractOf } from "../../contracts/model-contracts.ts";
import { ChunkPlan, clipUsage, planChunks, stitchedChunkFrames } from "./plan.ts";

const spec = planLocally({ prompt: "Tired of juggling receipts? Ledgerly, the mobile app.", duration_s: 30, creativity_level: 0.5 }).spec;

describe("chunk plan", () => {
  it("splits each beat's rendered frames evenly into clips of at most 48 frames", () => {
    const plan = planChunks(spec);
    for (const chunk of plan) expect(ChunkPlan.parse(chunk)).toEqual(chunk);
    expect(plan.map((c) => c.chunk_num)).toEqual(plan.map((_, i) => i));
    spec.beats.forEach((beat, b) => {
      const mine = plan.filter((c) => c.beat_index === b);
      const rendered = renderedFrames(beat);
      expect(mine).toHaveLength(Math.ceil(rendered / 48));
      expect(mine.reduce((s, c) => s + c.frames, 0)).toBe(rendered);
      const sizes = mine.map((c) => c.frames);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(48);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(12);
      mine.forEach((c, k) => {
        expect(c.index_in_beat).toBe(k);
        expect(c.chunks_in_beat).toBe(mine.length);
        expect(c.first_in_beat).toBe(k === 0);
        expect(c.last_in_beat).toBe(k === mine.length - 1);
        expect(c.start_frame).toBe(sizes.slice(0, k).reduce((s, f) => s + f, 0));
        expect(c.video_start_frame).toBe(beat.start_frame + c.start_frame);
        expect(c.camera).toBe(beat.camera);
        expect(c.seam_out).toEqual(k === mine.length - 1 ? beat.transition_out : { type: "cut", frames: 0 });
        expect(c.seam_in).toEqual(k === 0 && b > 0 ? spec.beats[b - 1]!.transition_out : { type: "cut", frames: 0 });
        expect(c.prompt.startsWith(beat.prompt)).toBe(true);
        expect(countWords(c.prompt)).toBeLessThanOrEqual(CHUNK_PROMPT_MAX_WORDS);
      });
    });
  });

  it("stitches back to exactly the spec's frames for every archetype, duration and chunk size", () => {
    for (const archetype of ArchetypeId.options) {
      for (const duration_s of [15, 30, 60] as const) {
        for (const creativity_level of [0, 0.5, 1]) {
          const s = planLocally({ prompt: "coffee", archetype, duration_s, creativity_level }).spec;
          for (const maxChunkFrames of [23, 48, 81, 120]) {
            const plan = planChunks(s, { maxChunkFrames });
            const overlaps = plan.reduce((sum, c) => sum + c.seam_out.frames, 0);
            expect(plan.reduce((sum, c) => sum + c.frames, 0) - overlaps).toBe(s.total_frames);
            expect(stitchedChunkFrames(plan)).toBe(s.total_frames);
            expect(plan.every((c) => c.frames >= 12 && c.frames <= maxChunkFrames)).toBe(true);
          }
        }
      }
    }
  });

  it("takes the consistency context now when it is known, within the word budget", () => {
    const context = "Character: a freelance designer in a mustard sweater. " + "Palette: sage, cream, charcoal. ".repeat(20);
    const plan = planChunks(spec, { consistencyContext: context });
    for (const chunk of plan) {
      expect(chunk.prompt).toContain("Consistency: Character: a freelance designer");
      expect(countWords(chunk.prompt)).toBeLessThanOrEqual(CHUNK_PROMPT_MAX_WORDS);
    }
    expect(planChunks(spec)[0]!.prompt).not.toContain("Consistency:");
  });

  it("refuses a chunk limit that would make clips shorter than 12 frames", () => {
    expect(() => planChunks(spec, { maxChunkFrames: 20 })).toThrow(/at least 23/);
    expect(() => planChunks(spec, { maxChunkFrames: 47.5 })).toThrow(/integer/);
  });

  describe("timed for Wan's clips (81..121 frames at 16 fps)", () => {
    const wan = clipContractOf("wan-video/wan-2.2-i2v-fast")!;
    const BRIEFS = ["Tired of juggling receipts? Ledgerly, the mobile app.", "Halo Pro wireless headphones, sleek design", "A cosy neighbourhood bakery launches a sourdough subscription"];

    it("plans every ad in whole clips that use at least 90 % of the frames paid for, frame-exact, a 30 s ad in at most 9 predictions", () => {
      const most: Record<number, number> = { 15: 0, 30: 0, 60: 0 };
      for (const archetype of ArchetypeId.options) {
        for (const creativity_level of [0, 0.5, 1]) {
          for (const prompt of BRIEFS) {
            for (const duration_s of [15, 30, 60] as const) {
              const planned = planLocally({ prompt, duration_s, creativity_level, archetype, clip: wan }).spec;
              expect(planned.clip).toEqual(wan);
              const plan = planChunks(planned);
              expect(stitchedChunkFrames(plan)).toBe(duration_s * 24);
              // Every chunk fits one prediction: at most 121 frames at 16 fps.
              for (const chunk of plan) expect(Math.ceil((chunk.frames * 16) / 24 - 1e-9)).toBeLessThanOrEqual(121);
              const usage = clipUsage(wan, plan);
              expect(usage.frames_used / usage.frames_paid).toBeGreaterThanOrEqual(0.9);
              most[duration_s] = Math.max(most[duration_s]!, usage.predictions);
            }
          }
        }
      }
      expect(most[30]).toBeLessThanOrEqual(9);
      expect(most).toEqual({ 15: 3, 30: expect.any(Number), 60: expect.any(Number) });
    });

    it("reports what a plan pays for and uses, at the model's rate", () => {
      const planned = planLocally({ prompt: BRIEFS[1]!, duration_s: 30, creativity_level: 0, archetype: "product_showcase", clip: wan }).spec;
      const plan = planChunks(planned);
      const usage = clipUsage(wan, plan);
      expect(usage.predictions).toBe(plan.length);
      expect(usage.frames_paid).toBe(plan.reduce((sum, c) => sum + Math.max(81, Math.ceil((c.frames * 2) / 3 - 1e-9)), 0));
      expect(usage.frames_used).toBeCloseTo(plan.reduce((sum, c) => sum + (c.frames * 2) / 3, 0), 2);
    });

    it("renders the same plan on the draft model, whose clips may be longer: the spec's contract bounds the chunks", () => {
      const planned = planLocally({ prompt: BRIEFS[0]!, duration_s: 30, creativity_level: 0.5, clip: wan }).spec;
      const draftMax = Math.floor((CLIP_CONTRACTS["adreel/draft-video"]!.max_frames * 24) / 24);
      expect(planChunks(planned, { maxChunkFrames: draftMax })).toEqual(planChunks(planned));
      expect(planChunks(planned).every((c) => c.frames <= 181)).toBe(true);
    });
  });
});

