import { describe, expect, it } from "vitest";
import { CostEstimate } from "../../contracts/api.ts";
import { planChunks } from "../chunks/plan.ts";
import { planLocally } from "../planning/local.ts";
import { estimateCost, predictionPrice } from "./estimate.ts";
import { DRAFT_PRICES, PriceTable, STANDARD_PRICES } from "./prices.ts";

const plan = (duration_s: 15 | 30 | 60) => {
  const { spec } = planLocally({ prompt: "Halo Pro wireless headphones, sleek design", duration_s, creativity_level: 0, archetype: "product_showcase" });
  return { spec, chunks: planChunks(spec) };
};

describe("cost estimate", () => {
  it("prices each phase from the table", () => {
    const { spec, chunks } = plan(30);
    const estimate = estimateCost(spec, chunks, STANDARD_PRICES);
    expect(CostEstimate.parse(estimate)).toEqual(estimate);
    expect(spec.beats).toHaveLength(8);
    expect(estimate.by_phase).toEqual({
      planning: 0,
      generating_references: 0.45,
      storyboarding: 1.2,
      // Chunks cover the rendered frames: 720 on screen + 36 overlap = 756 frames = 31.5 s.
      generating_chunks: 2.835,
      // musicgen: (30 s × 4 + 10) GPU seconds × $0.000975.
      adding_music: 0.1268,
      stitching: 0,
    });
    expect(estimate.total_usd).toBeCloseTo(0.45 + 1.2 + 2.835 + 0.1268, 6);
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
