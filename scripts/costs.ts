import { fileURLToPath } from "node:url";
import { clipContractOf } from "../contracts/model-contracts.ts";
import { ArchetypeId, type DurationSeconds } from "../contracts/spec.ts";
import { planChunks } from "../worker/chunks/plan.ts";
import { planLocally } from "../worker/planning/local.ts";
import { estimateCost } from "../worker/pricing/estimate.ts";
import { DEFAULT_LLM_PRICE, DEFAULT_PRICES, pricesFor } from "../worker/pricing/prices.ts";
import { MODEL_PRESETS, type ModelPreset } from "../worker/providers/presets.ts";

/**
 * `npm run costs`: what an ad costs with each model preset at the published list prices
 * (worker/pricing/prices.ts, from contracts/models/*.json), as the estimate computes it before
 * anything is spent: one brief, its archetype inferred or each of the five forced, at creativity
 * 0, 0.5 and 1, with the local planner, 3 generated references and the voiceover on (the default). README.md's table is this output (test/costs.test.ts keeps them equal).
 */

const BRIEF = "A cosy neighbourhood bakery launches a sourdough subscription";
const DURATIONS: DurationSeconds[] = [15, 30, 60];

export function presetEstimates(preset: ModelPreset, duration_s: DurationSeconds): number[] {
  const models = MODEL_PRESETS[preset];
  const clip = clipContractOf(models.video);
  const prices = pricesFor({ models, prices: DEFAULT_PRICES, llmPrice: DEFAULT_LLM_PRICE });
  return [undefined, ...ArchetypeId.options].flatMap((archetype) =>
    [0, 0.5, 1].map((creativity_level) => {
      const { spec } = planLocally({ prompt: BRIEF, duration_s, creativity_level, ...(archetype ? { archetype } : {}), ...(clip ? { clip } : {}) });
      return estimateCost(spec, planChunks(spec), prices).total_usd;
    }),
  );
}

const usd = (value: number) => `$${value.toFixed(2)}`;

/** The README table: each preset's estimate for 15, 30 and 60 s (range over archetypes and creativity). */
export function costTable(): string {
  const rows = (Object.keys(MODEL_PRESETS) as ModelPreset[]).map((preset) => {
    const m = MODEL_PRESETS[preset];
    const cells = DURATIONS.map((d) => {
      const all = presetEstimates(preset, d);
      const [low, high] = [Math.min(...all), Math.max(...all)];
      return usd(low) === usd(high) ? usd(low) : `${usd(low)}–${usd(high)}`;
    });
    return `| \`${preset}\` | ${m.image.split("/")[1]}, ${m.video.split("/")[1]} ${m.videoResolution}, musicgen${m.speech ? `, ${m.speech.split("/")[1]}` : ""} | ${cells.join(" | ")} |`;
  });
  return ["| preset | models | 15 s | 30 s | 60 s |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(costTable());
