import type { CostEstimate, GenerateRequest } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { planChunks } from "../chunks/plan.ts";
import type { Config } from "../config.ts";
import type { JobSteps } from "../queue/step.ts";
import { PriceTable, estimateCost } from "./cost.ts";
import { chooseReferences } from "../run/dag.ts";
import { createPlanner } from "./planner.ts";
import type { PlanEvent, PlanUsage } from "./request.ts";

/** The planning phase: prompt → VideoSpec → chunk plan → cost estimate before any spending. */

export interface PlannedVideo {
  spec: VideoSpec;
  cost_estimate: CostEstimate;
  events: PlanEvent[];
  usage?: PlanUsage;
}

/**
 * The price table for an estimate, from the configured models' prices (config.ts), so the
 * estimate and the ledger price every prediction the same way.
 */
export function pricesFor(config: Pick<Config, "models" | "prices" | "llmPrice">): PriceTable {
  const price = (model: string) => config.prices[model.split(":")[0] ?? model] ?? ({ unit: "per_prediction", usd: 0 } as const);
  return PriceTable.parse({
    planning: config.llmPrice,
    reference_image: price(config.models.image),
    storyboard_image: price(config.models.image),
    video_chunk: price(config.models.video),
    music: price(config.models.music),
  });
}

export async function planVideo(config: Config, request: GenerateRequest): Promise<PlannedVideo> {
  const planner = createPlanner(
    config.planner,
    config.planner === "openai"
      ? { openai: { apiKey: config.openai.apiKey, baseURL: config.openai.baseUrl, model: config.openai.plannerModel, timeoutMs: config.openai.timeoutMs } }
      : {},
  );
  const result = await planner.plan(request);
  const chunkPlan = planChunks(result.spec, { maxChunkFrames: config.maxChunkFrames });
  const generated = chooseReferences(request).filter((r) => r.source === "generated").length;
  const cost_estimate = estimateCost(result.spec, chunkPlan, pricesFor(config), { referenceImages: generated });
  return { spec: result.spec, cost_estimate, events: result.events, ...(result.usage ? { usage: result.usage } : {}) };
}

export const planSteps: JobSteps = {
  async start(deps, claim) {
    return { kind: "done", output: await planVideo(deps.config, claim.video.request) };
  },
};
