import type { CostEstimate, GenerateRequest } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { clipUsage, planChunks } from "../chunks/plan.ts";
import { type Config, planningClip } from "../config.ts";
import { estimateCost } from "../pricing/estimate.ts";
import { pricesFor, type TokenUsage } from "../pricing/prices.ts";
import { chooseReferences } from "../references/selection.ts";
import { createPlanner } from "./planner.ts";
import type { PlanEvent } from "./request.ts";

/** The planning phase: prompt → VideoSpec → chunk plan → cost estimate before any spending. */

export interface PlannedVideo {
  spec: VideoSpec;
  cost_estimate: CostEstimate;
  events: PlanEvent[];
  /** The language model's tokens, when one planned: the run books them (run/consumer-protocol.ts). */
  usage?: TokenUsage;
}

/** `fetcher` reaches OpenAI (tests hand in a double of its API). */
export async function planVideo(config: Config, request: GenerateRequest, fetcher?: typeof fetch): Promise<PlannedVideo> {
  const planner = createPlanner(
    config.planner,
    config.planner === "openai"
      ? { openai: { apiKey: config.openai.apiKey, baseURL: config.openai.baseUrl, model: config.openai.plannerModel, timeoutMs: config.openai.timeoutMs, ...(fetcher ? { fetch: fetcher } : {}) } }
      : {},
  );
  // Timed for the hosted video model even for a draft: rendering the draft for real reuses this spec.
  const clip = planningClip(config);
  const result = await planner.plan({ ...request, ...(clip ? { clip } : {}) });
  const priced = priceSpec(config, request, result.spec);
  return { ...priced, events: result.events, ...(result.usage ? { usage: { model: config.openai.plannerModel, ...result.usage } } : {}) };
}

/**
 * A spec as `config`'s video model will render it: its chunks, the clip frames paid and used
 * (spec.clip), and the estimate at `config`'s prices. For a planned spec, and for a draft's
 * spec rendered for real (api/videos/render.ts), which is priced again and planned no further.
 */
export function priceSpec(config: Config, request: GenerateRequest, planned: VideoSpec): { spec: VideoSpec; cost_estimate: CostEstimate; chunks: number } {
  const chunkPlan = planChunks(planned, { maxChunkFrames: config.maxChunkFrames });
  const spec = planned.clip ? { ...planned, clip: { ...planned.clip, ...clipUsage(planned.clip, chunkPlan) } } : planned;
  const generated = chooseReferences(request).filter((r) => r.source === "generated").length;
  return { spec, cost_estimate: estimateCost(spec, chunkPlan, pricesFor(config), { referenceImages: generated }), chunks: chunkPlan.length };
}
