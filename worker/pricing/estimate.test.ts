import { describe, expect, it } from "vitest";
import { CostEstimate } from "../../contracts/api.ts";
import { planChunks } from "../chunks/plan.ts";
import { planLocally } from "../planning/local.ts";
import { estimateCost, estimatePrediction, estimateVoiceover, predictionCost, predictionPrice } from "./estimate.ts";
import { COST_PHASE_OF_KIND } from "./phases.ts";
import { DEFAULT_PRICES, DRAFT_PRICES, PriceTable, STANDARD_PRICES, tokenCost } from "./prices.ts";

const plan = (duration_s: 15 | 30 | 60) => {
  const { spec } = planLocally({ prompt: "Halo Pro wireless headphones, sleek design", duration_s, creativity_level: 0, archetype: "product_showcase" });
  return { spec, chunks: planChunks(spec) };
};

describe("cost estimate", () => {
  it("prices each phase from the table: the premium preset's list prices by default", () => {
    const { spec, chunks } = plan(30);
    const estimate = estimateCost(spec, chunks, STANDARD_PRICES);
    expect(CostEstimate.parse(estimate)).toEqual(estimate);
    expect(spec.beats).toHaveLength(8);
    // speech-02-turbo at $0.06 per 1,000 characters of the spoken lines.
    const voice = (spec.copy.voiceover.lines.reduce((sum, line) => sum + line.text.length, 0) / 1000) * 0.06;
    expect(voice).toBeGreaterThan(0);
    expect(estimate.by_phase).toEqual({
      planning: 0,
      generating_references: 0.45,
      storyboarding: 1.2,
      // Wan 720p is billed per video, whatever its length: one per chunk.
      generating_chunks: Math.round(chunks.length * 0.11 * 10_000) / 10_000,
      // musicgen on an A100: (30 s × 4 + 10) GPU seconds × $0.0014, and the voiceover.
      adding_music: Math.round((0.182 + voice) * 10_000) / 10_000,
      stitching: 0,
    });
    expect(estimate.total_usd).toBeCloseTo(0.45 + 1.2 + chunks.length * 0.11 + Math.round((0.182 + voice) * 10_000) / 10_000, 6);
    const silent = { ...spec, copy: { ...spec.copy, voiceover: { ...spec.copy.voiceover, enabled: false } } };
    expect(estimateCost(silent, chunks, STANDARD_PRICES).by_phase.adding_music).toBe(0.182);
    const at480 = estimateCost(spec, chunks, PriceTable.parse({ video_resolution: "480p" }));
    expect(at480.by_phase.generating_chunks).toBeCloseTo(chunks.length * 0.05, 9);
  });

  it("books every job kind under the phase the estimate puts it in", () => {
    const { spec, chunks } = plan(15);
    const phases = Object.keys(estimateCost(spec, chunks, STANDARD_PRICES).by_phase);
    for (const phase of Object.values(COST_PHASE_OF_KIND)) expect(phases).toContain(phase);
    expect(COST_PHASE_OF_KIND.music).toBe("adding_music");
    // The voice lines are in the estimate's adding_music (estimateVoiceover), so the ledger books them there.
    expect(COST_PHASE_OF_KIND.voice).toBe("adding_music");
  });

  it("prices per video by resolution, per thousand characters, and from what a finished prediction really asked for", () => {
    const wan = DEFAULT_PRICES["wan-video/wan-2.2-i2v-fast"]!;
    expect(wan).toEqual({ unit: "per_video", usd: 0.05, by_resolution: { "480p": 0.05, "720p": 0.11 } });
    expect(predictionPrice(wan, 5, { resolution: "720p" })).toBe(0.11);
    expect(predictionPrice(DEFAULT_PRICES["minimax/speech-02-turbo"]!, 0, { characters: 500 })).toBeCloseTo(0.03, 9);
    const config = { prices: DEFAULT_PRICES };
    const done = (input: Record<string, unknown>, status: "succeeded" | "failed" = "succeeded", predict_time = 30) => ({ id: "p", status, input, metrics: { predict_time } });
    expect(predictionCost(config, "wan-video/wan-2.2-i2v-fast", done({ resolution: "720p" }), 0.05)).toBe(0.11);
    expect(predictionCost(config, "wan-video/wan-2.2-i2v-fast", done({ resolution: "720p" }, "failed"), 0.11)).toBe(0);
    expect(predictionCost(config, "meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb", done({}, "succeeded", 62.5), 0.1)).toBeCloseTo(62.5 * 0.0014, 9);
    expect(estimatePrediction(config, "wan-video/wan-2.2-i2v-fast", 7, { resolution: "480p" })).toBe(0.05);
    expect(tokenCost("gpt-4.1-mini", { input_tokens: 2500, output_tokens: 700 })).toBe(0.00212);
    const { spec } = plan(30);
    const characters = spec.copy.voiceover.lines.reduce((sum, line) => sum + line.text.length, 0);
    expect(characters).toBeGreaterThan(0);
    expect(estimateVoiceover(spec, DEFAULT_PRICES["minimax/speech-02-turbo"]!)).toBeCloseTo((characters / 1000) * 0.06, 6);
    expect(estimateVoiceover({ ...spec, copy: { ...spec.copy, voiceover: { ...spec.copy.voiceover, enabled: false } } }, DEFAULT_PRICES["minimax/speech-02-turbo"]!)).toBe(0);
    expect(tokenCost("gpt-unknown", { input_tokens: 1, output_tokens: 1 })).toBeNull();
  });

  it("charges language-model tokens only when an LLM planned", () => {
    const { spec, chunks } = plan(15);
    const llm = estimateCost({ ...spec, planner: "openai" }, chunks, STANDARD_PRICES);
    // 2,500 × $0.40/M + (250 + 90 × 5) × $1.60/M
    expect(llm.by_phase.planning).toBe(0.0021);
  });

  it("is zero for the draft provider", () => {
    const { spec, chunks } = plan(60);
    const estimate = estimateCost({ ...spec, planner: "openai" }, chunks, DRAFT_PRICES);
    expect(estimate.total_usd).toBe(0);
    expect(Object.values(estimate.by_phase).every((v) => v === 0)).toBe(true);
  });

  it("supports per-prediction, minimum-billed and GPU-time prices", () => {
    expect(predictionPrice({ unit: "per_prediction", usd: 0.2 }, 2)).toBe(0.2);
    expect(predictionPrice({ unit: "per_output_second", usd: 0.1, min_billed_seconds: 5 }, 2)).toBe(0.5);
    expect(predictionPrice({ unit: "per_gpu_second", usd: 0.001, runtime_factor: 2, overhead_seconds: 4 }, 10)).toBeCloseTo(0.024, 9);
    const { spec, chunks } = plan(30);
    const perClip = PriceTable.parse({ video_chunk: { unit: "per_prediction", usd: 0.25 } });
    expect(perClip.reference_image).toEqual(STANDARD_PRICES.reference_image);
    expect(estimateCost(spec, chunks, perClip).by_phase.generating_chunks).toBe(0.25 * chunks.length);
    expect(estimateCost(spec, chunks, STANDARD_PRICES, { referenceImages: 1 }).by_phase.generating_references).toBe(0.15);
  });

  it("rejects a malformed price table", () => {
    expect(PriceTable.safeParse({ music: { unit: "per_gpu_second", usd: 0.001 } }).success).toBe(false);
    expect(PriceTable.safeParse({ video_chunk: { unit: "per_frame", usd: 1 } }).success).toBe(false);
  });
});
