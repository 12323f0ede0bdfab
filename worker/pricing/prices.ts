import { z } from "zod";
import { DRAFT_MODELS } from "../../contracts/draft-models.ts";
import { MODEL_CONTRACTS, type ModelContract } from "../../contracts/model-contracts.ts";

/**
 * What models cost: how each is billed (`Price`), the list prices of every known model (from
 * the vendored contracts, with their sources), OpenAI token prices, and the per-phase price
 * table a plan's estimate is made from. The ledger (run/ledger.ts) books every prediction at
 * these same prices, so the estimate and the actual cost line up.
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
  /** One price per output video whatever its length, by output resolution (Wan: 480p, 720p); `usd` when the resolution has none. */
  z.object({ unit: z.literal("per_video"), usd: z.number().min(0), by_resolution: z.record(z.string(), z.number().min(0)).default({}) }),
  /** Text-to-speech billed per thousand input characters (speech-02-turbo: 1 token = 1 character). */
  z.object({ unit: z.literal("per_1k_characters"), usd: z.number().min(0) }),
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
 * musicgen's GPU seconds per second of audio and per call: Replicate publishes no run times for
 * it, so this is an assumption (docs/PLANNING.md) until `npm run test:live` measures one; the
 * ledger books the real `metrics.predict_time` whatever this says.
 */
export const MUSICGEN_RUNTIME = { runtime_factor: 4, overhead_seconds: 10 } as const;

/**
 * A model's list price from its vendored contract (contracts/models/*.json: price, unit and
 * source, retrieved 2026-12-04). Wan is priced per video by resolution at its base tier
 * (`interpolate_output` is never sent); speech-02-turbo at $0.06 per 1,000 characters, the
 * upper of two contradicting readings (docs/MODELS.md).
 */
function listPrice(contract: ModelContract): Price {
  const price = contract.price;
  switch (price.unit) {
    case "per_image":
      return { unit: "per_image", usd: price.usd };
    case "per_video":
      return { unit: "per_video", usd: price.usd, by_resolution: Object.fromEntries(price.tiers.filter((t) => t.variant === "base").map((t) => [t.resolution, t.usd])) };
    case "per_gpu_second":
      return { unit: "per_gpu_second", usd: price.usd, ...MUSICGEN_RUNTIME };
    case "per_1k_input_characters":
      return { unit: "per_1k_characters", usd: price.usd };
  }
}

/**
 * List prices (USD) of every model adreel knows, keyed by model: the hosted ones from their
 * contracts, the draft models at Replicate's CPU rate ($0.0001/s, replicate-api.json) for the time
 * they really took, so a draft run shows what its compute costs. Deployments override them with
 * `MODEL_PRICES_JSON` (config.ts).
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  ...Object.fromEntries(Object.values(MODEL_CONTRACTS).map((contract) => [contract.model, listPrice(contract)])),
  [DRAFT_MODELS.image]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 1, overhead_seconds: 0.3 },
  [DRAFT_MODELS.video]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 0.4, overhead_seconds: 0.2 },
  [DRAFT_MODELS.music]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 0.05, overhead_seconds: 0.1 },
  [DRAFT_MODELS.speech]: { unit: "per_gpu_second", usd: 0.0001, runtime_factor: 0.05, overhead_seconds: 0.1 },
};

/**
 * OpenAI token prices (USD per million tokens, standard tier): gpt-4.1-mini $0.40 input /
 * $1.60 output (OpenAI's price list as transcribed by losclouds.com, verified 2026-04-02, and
 * openrouter.ai's listing; retrieved 2026-12-04). The planner and the vision analyser use it.
 */
export const OPENAI_TOKEN_PRICES: Record<string, { input: number; output: number }> = {
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
};

/**
 * Language-model tokens a job's step spent (the OpenAI planner, the vision analyser), carried in
 * the step's output as `usage` so the run books them (run/consumer-protocol.ts): the model that
 * was paid and the counts its API reported (`usage.prompt_tokens`, `usage.completion_tokens`).
 */
export const TokenUsage = z.object({
  model: z.string().min(1),
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/** What an OpenAI call cost from its reported usage; null for a model without a known price. */
export function tokenCost(model: string, usage: { input_tokens: number; output_tokens: number }): number | null {
  const price = OPENAI_TOKEN_PRICES[model];
  if (!price) return null;
  return Math.round(((usage.input_tokens * price.input + usage.output_tokens * price.output) / 1_000_000) * 1e6) / 1e6;
}

/** gpt-4.1-mini list prices and the planner's typical token use. */
export const DEFAULT_LLM_PRICE: LlmPrice = {
  usd_per_million_input_tokens: OPENAI_TOKEN_PRICES["gpt-4.1-mini"]!.input,
  usd_per_million_output_tokens: OPENAI_TOKEN_PRICES["gpt-4.1-mini"]!.output,
  input_tokens: 2500,
  output_tokens_per_beat: 90,
  output_tokens_base: 250,
};

/**
 * The per-phase price table a plan's estimate is made from. Its defaults are the premium
 * preset's list prices (nano-banana-pro $0.15 an image, Wan 720p $0.11 a clip, musicgen on an
 * A100 at $0.0014 a GPU second, gpt-4.1-mini tokens); `pricesFor(config)` builds the table of
 * the configured models. Override any of them by parsing a partial table.
 */
export const PriceTable = z.object({
  planning: LlmPrice.default(DEFAULT_LLM_PRICE),
  reference_image: Price.default({ unit: "per_image", usd: 0.15 }),
  storyboard_image: Price.default({ unit: "per_image", usd: 0.15 }),
  video_chunk: Price.default({ unit: "per_video", usd: 0.05, by_resolution: { "480p": 0.05, "720p": 0.11 } }),
  /** The video model's output resolution, for prices per video by resolution. */
  video_resolution: z.string().default("720p"),
  music: Price.default({ unit: "per_gpu_second", usd: 0.0014, ...MUSICGEN_RUNTIME }),
  /** The voiceover's model, one prediction per line (speech-02-turbo: $0.06 per 1,000 characters). */
  speech: Price.default({ unit: "per_1k_characters", usd: 0.06 }),
});
export type PriceTable = z.infer<typeof PriceTable>;

/** Real-model list prices (the premium preset). */
export const STANDARD_PRICES: PriceTable = PriceTable.parse({});

/** The draft provider renders locally and costs nothing. */
export const DRAFT_PRICES: PriceTable = PriceTable.parse({
  planning: { usd_per_million_input_tokens: 0, usd_per_million_output_tokens: 0, input_tokens: 0, output_tokens_per_beat: 0, output_tokens_base: 0 },
  reference_image: { unit: "per_image", usd: 0 },
  storyboard_image: { unit: "per_image", usd: 0 },
  video_chunk: { unit: "per_output_second", usd: 0 },
  music: { unit: "per_output_second", usd: 0 },
  speech: { unit: "per_output_second", usd: 0 },
});

/** The models a deployment uses and what they cost (config.ts's `Config` has these fields). */
export interface PricedModels {
  models: { image: string; video: string; videoResolution?: string; music: string; speech?: string };
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
    video_resolution: config.models.videoResolution ?? "480p",
    music: price(config.models.music),
    speech: price(config.models.speech ?? ""),
  });
}
