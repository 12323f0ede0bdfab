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

  const real = (vars: Record<string, string>) => loadConfig({ ...env, ...vars } as Env);

  it("times a draft for the hosted video model, so the same spec renders for real", async () => {
    const draft = real({});
    expect(draft.provider).toBe("draft");
    expect(draft.planningVideoModel).toBe("wan-video/wan-2.2-i2v-fast");
    const replicate = real({ MODEL_PROVIDER: "replicate" });
    const [a, b] = await Promise.all([planVideo(draft, request), planVideo(replicate, request)]);
    expect(a.spec).toEqual(b.spec);
    expect(a.spec.clip).toMatchObject({ model: "wan-video/wan-2.2-i2v-fast", fps: 16, min_frames: 81, max_frames: 121 });
  });

  it("estimates real-model prices when the provider is Replicate: the premium preset's list prices, phase by phase", async () => {
    const config = real({ MODEL_PROVIDER: "replicate" });
    expect(config.models.video).not.toContain("adreel/");
    const planned = await planVideo(config, request);
    const { spec, cost_estimate: estimate } = planned;
    const predictions = spec.clip!.predictions!;
    expect(predictions).toBeLessThanOrEqual(9);
    const cents = (usd: number) => Math.round(usd * 10_000) / 10_000;
    expect(estimate.by_phase).toEqual({
      planning: 0,
      generating_references: cents(3 * 0.15), // nano-banana-pro, per image
      storyboarding: cents(spec.beats.length * 0.15),
      generating_chunks: cents(predictions * 0.11), // Wan 720p, per video
      // musicgen on an A100 (GPU seconds), and speech-02-turbo at $0.06 per 1,000 characters of the spoken lines.
      adding_music: cents((30 * 4 + 10) * 0.0014 + (spec.copy.voiceover.lines.reduce((sum, l) => sum + l.text.length, 0) / 1000) * 0.06),
      stitching: 0,
    });
  });

  it("keeps a 15 s standard ad under $0.50 with the budget preset", async () => {
    const config = real({ MODEL_PROVIDER: "replicate", MODEL_PRESET: "budget" });
    expect(config.models).toMatchObject({ image: "black-forest-labs/flux-schnell", videoResolution: "480p" });
    const planned = await planVideo(config, GenerateRequest.parse({ ...request, duration_s: 15, quality: "standard" }));
    expect(planned.cost_estimate.total_usd).toBeLessThan(0.5);
    expect(planned.cost_estimate.by_phase.generating_chunks).toBeCloseTo(planned.spec.clip!.predictions! * 0.05, 9);
  });
});
