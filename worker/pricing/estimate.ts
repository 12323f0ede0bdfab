import type { CostEstimate } from "../../contracts/api.ts";
import type { Prediction } from "../../contracts/prediction.ts";
import { FPS, spokenLines, type VideoSpec } from "../../contracts/spec.ts";
import type { ChunkPlan } from "../chunks/plan.ts";
import { type Price, type PricedModels, type PriceTable, priceOf } from "./prices.ts";

/**
 * What predictions cost: before they run (one prediction, or a whole plan phase by phase), the
 * most they can cost, and what one that ended really cost. Phases use the pipeline's phase
 * names, so the estimate lines up with the ledger of actual costs.
 */

/** What a price needs to know of one prediction beyond its output length. */
export interface PriceDetail {
  /** Output resolution, for prices per video by resolution. */
  resolution?: string;
  /** Input characters, for text-to-speech. */
  characters?: number;
}

/** Price of one prediction that outputs `seconds` of media (0 for an image). */
export function predictionPrice(price: Price, seconds = 0, detail: PriceDetail = {}): number {
  switch (price.unit) {
    case "per_image":
    case "per_prediction":
      return price.usd;
    case "per_video":
      return (detail.resolution !== undefined ? price.by_resolution[detail.resolution] : undefined) ?? price.usd;
    case "per_1k_characters":
      return ((detail.characters ?? 0) / 1000) * price.usd;
    case "per_output_second":
      return Math.max(seconds, price.min_billed_seconds) * price.usd;
    case "per_gpu_second":
      return (seconds * price.runtime_factor + price.overhead_seconds) * price.usd;
  }
}

/** The price details of a prediction, from the input it is (or was) sent with. */
export function priceDetailOf(input: Record<string, unknown> | undefined): PriceDetail {
  return {
    ...(typeof input?.resolution === "string" ? { resolution: input.resolution } : {}),
    ...(typeof input?.text === "string" ? { characters: input.text.length } : {}),
  };
}

/** What one prediction is expected to cost before it runs (`outputSeconds` is 0 for an image). */
export function estimatePrediction(config: Pick<PricedModels, "prices">, model: string, outputSeconds = 0, input?: Record<string, unknown>): number {
  const price = priceOf(config, model);
  return price ? roundMicroUsd(predictionPrice(price, outputSeconds, priceDetailOf(input))) : 0;
}

/**
 * What a finished prediction cost. Models billed by hardware time are priced from the
 * provider's measured `metrics.predict_time` × the hardware's rate; per-output models cost their
 * list price for what the prediction's own input asked (Wan: per video at its resolution) when
 * they succeed, and nothing when they fail (Replicate does not bill failed official-model runs).
 * A prediction whose input is not echoed (data removed) costs its estimate.
 */
export function predictionCost(config: Pick<PricedModels, "prices">, model: string, prediction: Prediction, estimate: number): number {
  const price = priceOf(config, model);
  if (!price) return 0;
  if (price.unit === "per_gpu_second") return roundMicroUsd(price.usd * (prediction.metrics?.predict_time ?? 0));
  if (prediction.status !== "succeeded") return 0;
  const input = prediction.input && Object.keys(prediction.input).length > 0 ? prediction.input : undefined;
  if (!input || price.unit === "per_output_second") return estimate;
  return roundMicroUsd(predictionPrice(price, 0, priceDetailOf(input)));
}

/**
 * The most a prediction can cost: its estimate, except that a model billed by running time
 * bills until it ends, and the run cancels it at its deadline at the latest.
 */
export function worstCase(config: Pick<PricedModels, "prices">, model: string, estimate: number, deadlineSeconds: number): number {
  const price = priceOf(config, model);
  return price?.unit === "per_gpu_second" ? Math.max(estimate, roundMicroUsd(price.usd * deadlineSeconds)) : estimate;
}

/** Reference images generated per video when no brand assets replace them. */
export const REFERENCE_IMAGES = 3;

export interface EstimateOptions {
  /** Reference images to generate (fewer when brand assets are supplied). */
  referenceImages?: number;
}

/** Cost estimate before spending: what a plan will cost, phase by phase, from a price table. */
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
    generating_chunks: chunkPlan.reduce((sum, chunk) => sum + predictionPrice(prices.video_chunk, chunk.frames / FPS, { resolution: prices.video_resolution }), 0),
    // The soundtrack: the music and the voiceover's lines, booked under the same phase in the ledger (phases.ts).
    adding_music: predictionPrice(prices.music, spec.duration_s) + estimateVoiceover(spec, prices.speech),
    stitching: 0,
  };
  for (const phase of Object.keys(by_phase)) by_phase[phase] = roundCents(by_phase[phase]!);
  const total_usd = roundCents(Object.values(by_phase).reduce((a, b) => a + b, 0));
  return { total_usd, by_phase };
}

/**
 * What the voiceover will cost: one prediction per spoken line (steps/voice.ts), a per-character
 * model billed on each line's text, one billed by running time for at most its beat's length.
 */
export function estimateVoiceover(spec: VideoSpec, price: Price | null): number {
  if (!price) return 0;
  return roundMicroUsd(spokenLines(spec).reduce((sum, line) => sum + predictionPrice(price, spec.beats[line.beat_index]!.frames / FPS, { characters: line.text.length }), 0));
}

/** To a hundredth of a cent, so an estimate's sums and displays do not carry float noise. */
function roundCents(usd: number): number {
  return Math.round(usd * 10_000) / 10_000;
}

/** To a millionth of a dollar: the ledger's unit, fine enough for per-second CPU prices. */
export function roundMicroUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
