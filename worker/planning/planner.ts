import { LocalPlanner } from "./local.ts";
import { OpenAIPlanner, type OpenAIPlannerOptions } from "./openai.ts";
import type { Planner } from "./request.ts";

/**
 * One interface, two planners: `local` (deterministic, offline) and `openai` (a language
 * model writes the creative part; falls back to local on any failure).
 */
export { PlanEvent, PlanRequest, PlanResult, PlanUsage } from "./request.ts";
export type { PlanRequestInput, Planner } from "./request.ts";
export { LocalPlanner, planLocally } from "./local.ts";
export { OpenAIPlanner } from "./openai.ts";
export type { OpenAIPlannerOptions } from "./openai.ts";

export type PlannerName = "local" | "openai";

export interface PlannerOptions {
  /** Required for `openai`. */
  openai?: OpenAIPlannerOptions;
}

export function createPlanner(name: PlannerName, options: PlannerOptions = {}): Planner {
  if (name === "local") return new LocalPlanner();
  if (!options.openai) throw new Error("the openai planner needs options.openai (apiKey, model, …)");
  return new OpenAIPlanner(options.openai);
}
