import { z } from "zod";
import { DRAFT_MODELS } from "../../contracts/media.ts";

/**
 * What models cost: how each is billed (`Price`), the list prices of the default models, and
 * the per-phase price table a plan's estimate is made from. The ledger (run/ledger.ts) books
 * every prediction at these same prices, so the estimate and the actual cost line up.
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
 * List prices of the default models (USD), keyed by model. Replicate bills official models per
 * output (image, second of video) and others by GPU time. The draft models run on our own CPU;
 * they are priced at Replicate's CPU rate ($0.0001/s) for the time they really took, so a draft
 * run shows what its compute costs. Deployments override them with `MODEL_PRICES_JSON` (config.ts).
 * The real models' published prices, with sources and dates, are in docs/MODELS.md; where it
 * differs from these (it finds wan-2.2-i2v-fast billed per clip), these have not caught up yet.
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  "google/nano-banana-pro": { unit: "per_image", usd: 0.15 },
  "google/nano-banana": { unit: "per_image", usd: 0.039 },
  "black-forest-labs/flux-1.1-pro": { unit: "per_image", usd: 0.04 },
  "stability-ai/stable-diffusion-3.5-large": { unit: "per_image", usd: 0.065 },
  "wan-video/wan-2.2-i2v-fast": { unit: "per_output_second", usd: 0.05, min_billed_seconds: 81 / 16 },
  "meta/musicgen": { unit: "per_gpu_second", usd: 0.000975, runtime_factor: 4, overhead_seconds: 10 },
  [DRAFT_MODELS.image]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 1, overhead_seconds: 0.3 },
  [DRAFT_MODELS.video]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 0.4, overhead_seconds: 0.2 },
  [DRAFT_MODELS.music]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 0.05, overhead_seconds: 0.1 },
};

/** gpt-4.1-mini list prices and the planner's typical token use. */
export const DEFAULT_LLM_PRICE: LlmPrice = {
  usd_per_million_input_tokens: 0.4,
  usd_per_million_output_tokens: 1.6,
  input_tokens: 2500,
  output_tokens_per_beat: 90,
  output_tokens_base: 250,
};

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
  planning: LlmPrice.default(DEFAULT_LLM_PRICE),
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

/** The models a deployment uses and what they cost (config.ts's `Config` has these fields). */
export interface PricedModels {
  models: { image: string; video: string; music: string };
  prices: Record<string, Price>;
  llmPrice: LlmPrice;
}

/** The price of `model` (`owner/name`, with or without `:version`), or null when none is known. */
export function priceOf(config: Pick<PricedModels, "prices">, model: string): Price | null {
  return config.prices[model.split(":")[0] ?? model] ?? null;
}

/**
 * The price table for an estimate, from the configured models' prices, so the estimate and the
 * ledger price every prediction the same way.
 */
export function pricesFor(config: PricedModels): PriceTable {
  const price = (model: string) => priceOf(config, model) ?? ({ unit: "per_prediction", usd: 0 } as const);
  return PriceTable.parse({
    planning: config.llmPrice,
    reference_image: price(config.models.image),
    storyboard_image: price(config.models.image),
    video_chunk: price(config.models.video),
    music: price(config.models.music),
  });
}
