import { z } from "zod";
import type { CostEstimate } from "../../contracts/api.ts";
import { FPS, type VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";

/**
 * Cost estimate before spending: what a plan will cost, phase by phase, from a price table.
 * Phases use the seed names so the estimate lines up with the ledger of actual costs.
 */

/** How one model is billed. Replicate prices official models per output and others by GPU time. */
export const Price = z.discriminatedUnion("unit", [
  z.object({ unit: z.literal("per_image"), usd: z.number().min(0) }),
  z.object({
    unit: z.literal("per_output_second"),
    usd: z.number().min(0),
    /** Some models bill a minimum clip length whatever is asked for. */
    min_billed_seconds: z.number().min(0).default(0),
  }),
  z.object({ unit: z.literal("per_prediction"), usd: z.number().min(0) }),
  z.object({
    unit: z.literal("per_gpu_second"),
    usd: z.number().min(0),
    /** GPU seconds per second of output: turns an output length into billed predict time. */
    runtime_factor: z.number().positive(),
    /** Fixed GPU seconds per prediction (model setup). */
    overhead_seconds: z.number().min(0).default(0),
  }),
]);
export type Price = z.infer<typeof Price>;

export const LlmPrice = z.object({
  usd_per_million_input_tokens: z.number().min(0),
  usd_per_million_output_tokens: z.number().min(0),
  /** Expected prompt size of one planning call (system rules, beat library, template). */
  input_tokens: z.number().int().min(0),
  /** Expected completion tokens per beat (name, prompt, camera, mood, transition). */
  output_tokens_per_beat: z.number().int().min(0),
  /** Completion tokens besides the beats (title, look, facts, music). */
  output_tokens_base: z.number().int().min(0),
});
export type LlmPrice = z.infer<typeof LlmPrice>;

/**
 * Default list prices (USD) for the real models, as published by their providers:
 * - planning: OpenAI gpt-4.1-mini, $0.40 / $1.60 per million input / output tokens; about
 *   2,500 prompt tokens and 90 completion tokens per beat (+250 for the rest).
 * - references and storyboard: google/nano-banana-pro on Replicate, ≈ $0.15 per image.
 * - video chunks: an image-to-video model billed per second of output, ≈ $0.09 per second.
 * - music: meta/musicgen, billed by predict time at ≈ $0.000975 per GPU second; about 4 GPU
 *   seconds per second of audio plus 10 s of setup (an estimate: adjust `runtime_factor` to
 *   the predict times you observe).
 * Override any of them by parsing a partial table: `PriceTable.parse({ video_chunk: … })`.
 */
export const PriceTable = z.object({
  planning: LlmPrice.default({
    usd_per_million_input_tokens: 0.4,
    usd_per_million_output_tokens: 1.6,
    input_tokens: 2500,
    output_tokens_per_beat: 90,
    output_tokens_base: 250,
  }),
  reference_image: Price.default({ unit: "per_image", usd: 0.15 }),
  storyboard_image: Price.default({ unit: "per_image", usd: 0.15 }),
  video_chunk: Price.default({ unit: "per_output_second", usd: 0.09, min_billed_seconds: 0 }),
  music: Price.default({ unit: "per_gpu_second", usd: 0.000975, runtime_factor: 4, overhead_seconds: 10 }),
});
export type PriceTable = z.infer<typeof PriceTable>;

/** Real-model list prices (quality "standard"). */
export const STANDARD_PRICES: PriceTable = PriceTable.parse({});

/** The draft provider renders locally and costs nothing. */
export const DRAFT_PRICES: PriceTable = PriceTable.parse({
  planning: { usd_per_million_input_tokens: 0, usd_per_million_output_tokens: 0, input_tokens: 0, output_tokens_per_beat: 0, output_tokens_base: 0 },
  reference_image: { unit: "per_image", usd: 0 },
  storyboard_image: { unit: "per_image", usd: 0 },
  video_chunk: { unit: "per_output_second", usd: 0 },
  music: { unit: "per_output_second", usd: 0 },
});

/** Reference images generated per video when no brand assets replace them. */
export const REFERENCE_IMAGES = 3;

/** Price of one prediction that outputs `seconds` of media (0 for an image). */
export function predictionPrice(price: Price, seconds = 0): number {
  switch (price.unit) {
    case "per_image":
    case "per_prediction":
      return price.usd;
    case "per_output_second":
      return Math.max(seconds, price.min_billed_seconds) * price.usd;
    case "per_gpu_second":
      return (seconds * price.runtime_factor + price.overhead_seconds) * price.usd;
  }
}

export interface EstimateOptions {
  /** Reference images to generate (fewer when brand assets are supplied). */
  referenceImages?: number;
}

export function estimateCost(spec: VideoSpec, chunkPlan: readonly ChunkPlan[], prices: PriceTable, options: EstimateOptions = {}): CostEstimate {
  const llm = prices.planning;
  const planning =
    spec.planner === "openai"
      ? (llm.input_tokens * llm.usd_per_million_input_tokens +
          (llm.output_tokens_base + llm.output_tokens_per_beat * spec.beats.length) * llm.usd_per_million_output_tokens) /
        1_000_000
      : 0;
  const by_phase: Record<string, number> = {
    planning,
    generating_references: (options.referenceImages ?? REFERENCE_IMAGES) * predictionPrice(prices.reference_image),
    storyboarding: spec.beats.length * predictionPrice(prices.storyboard_image),
    generating_chunks: chunkPlan.reduce((sum, chunk) => sum + predictionPrice(prices.video_chunk, chunk.frames / FPS), 0),
    adding_music: predictionPrice(prices.music, spec.duration_s),
    stitching: 0,
  };
  for (const phase of Object.keys(by_phase)) by_phase[phase] = roundUsd(by_phase[phase]!);
  const total_usd = roundUsd(Object.values(by_phase).reduce((a, b) => a + b, 0));
  return { total_usd, by_phase };
}

/** To a hundredth of a cent, so sums and displays do not carry float noise. */
function roundUsd(usd: number): number {
  return Math.round(usd * 10_000) / 10_000;
}
