import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GenerateRequest } from "../../contracts/api.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import { loadConfig } from "../config.ts";
import { planVideo } from "./plan.ts";

describe("planning phase", () => {
  const request = GenerateRequest.parse({ prompt: "Introducing the Aurora X1 smartwatch, launching this fall." });

  it("plans with the configured planner and prices the draft run at CPU rates (cents, not dollars)", async () => {
    const config = loadConfig(env);
    expect(config.provider).toBe("draft");
    const planned = await planVideo(config, request);
    expect(VideoSpec.parse(planned.spec).archetype).toBe("launch_announcement");
    expect(planned.cost_estimate.total_usd).toBeGreaterThan(0);
    expect(planned.cost_estimate.total_usd).toBeLessThan(0.05);
    expect(planned.events[0]!.type).toBe("archetype_inferred");
  });

  it("estimates real-model prices when the provider is Replicate", async () => {
    const config = loadConfig({ ...env, MODEL_PROVIDER: "replicate" } as Env);
    expect(config.models.video).not.toContain("adreel/");
    const planned = await planVideo(config, request);
    expect(planned.cost_estimate.total_usd).toBeGreaterThan(3);
    expect(planned.cost_estimate.by_phase.generating_chunks).toBeGreaterThan(planned.cost_estimate.by_phase.storyboarding!);
  });
});
