import type { Prediction } from "../../contracts/prediction.ts";
import type { Config } from "../config.ts";
import { type Price, predictionPrice } from "../planning/cost.ts";

/** Pricing of predictions for the cost ledger: an estimate before creation, the actual after. */

export function priceOf(config: Pick<Config, "prices">, model: string): Price | null {
  return config.prices[model.split(":")[0] ?? model] ?? null;
}

/** What one prediction is expected to cost before it runs (`outputSeconds` is 0 for an image). */
export function estimatePrediction(config: Pick<Config, "prices">, model: string, outputSeconds = 0): number {
  const price = priceOf(config, model);
  return price ? round(predictionPrice(price, outputSeconds)) : 0;
}

/**
 * What a finished prediction cost. Models billed by hardware time are priced from the
 * provider's measured `metrics.predict_time`; per-output models cost their estimate when they
 * succeed and nothing when they fail (Replicate does not bill failed official-model runs).
 */
export function predictionCost(config: Pick<Config, "prices">, model: string, prediction: Prediction, estimate: number): number {
  const price = priceOf(config, model);
  if (!price) return 0;
  if (price.unit === "per_gpu_second") return round(price.usd * (prediction.metrics?.predict_time ?? 0));
  return prediction.status === "succeeded" ? estimate : 0;
}

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
