import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { DryRunResponse, ErrorResponse, HealthResponse } from "../../contracts/api.ts";
import { createKey } from "../auth/keys.ts";
import { app } from "./routes.ts";

/**
 * What a deployment with a real provider answers about `quality` and its own configuration:
 * GET /health lists configuration problems on their own, and POST /api/generate refuses a
 * standard video while any is there (503, the operator's to fix) and a draft where no draft
 * provider is configured (422 naming the setting). The app is called with such a deployment's
 * variables; everything else is the test Worker's.
 */

const REPLICATE = {
  MODEL_PROVIDER: "replicate",
  PROVIDER_BASE_URL: "https://api.replicate.com",
  REPLICATE_API_TOKEN: "r8_x",
  PUBLIC_BASE_URL: "https://adreel.example.net",
};
const DRAFT_BESIDE = { DRAFT_PROVIDER_URL: "https://draft.adreel.example.net" };
const UNPINNED = { MUSIC_MODEL: "meta/musicgen" };

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-quality", "test")).key;
});

async function call(vars: Record<string, string>, path: string, body?: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const init: RequestInit = body === undefined ? {} : { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) };
  const response = await app.fetch(new Request(`http://adreel.test${path}`, init), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const videosOfTenant = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = 'tenant-quality'").first<{ n: number }>())!.n;

describe("GET /health", () => {
  it("reports configuration problems as their own field, and is 503 while there are any", async () => {
    const healthy = await call({ ...REPLICATE, ...DRAFT_BESIDE }, "/health");
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, provider: "replicate", draft_provider: true, problems: [] } satisfies HealthResponse);

    const broken = await call({ ...REPLICATE, ...UNPINNED }, "/health");
    expect(broken.status).toBe(503);
    const health = (await broken.json()) as HealthResponse;
    expect(health).toMatchObject({ ok: false, provider: "replicate", draft_provider: false });
    expect(health.missing).toBeUndefined();
    expect(health.problems).toEqual([{ setting: "MUSIC_MODEL", problem: expect.stringMatching(/^meta\/musicgen is a community model: Replicate runs it only by version/) }]);

    // The test Worker itself: the draft provider, nothing wrong.
    const local = await call({}, "/health");
    expect(await local.json()).toEqual({ ok: true, provider: "draft", draft_provider: true, problems: [] });
  });
});

describe("POST /api/generate and quality", () => {
  const brief = { prompt: "A reusable steel water bottle for trail runners", duration_s: 15 };

  it("refuses a standard video with 503 listing the problems while the configuration has any, and creates nothing", async () => {
    const before = await videosOfTenant();
    for (const body of [{ ...brief, quality: "standard" }, { ...brief, quality: "standard", dry_run: true }]) {
      const response = await call({ ...REPLICATE, ...DRAFT_BESIDE, ...UNPINNED }, "/api/generate", body);
      expect(response.status).toBe(503);
      const error = (await response.json()) as ErrorResponse;
      expect(error.field).toBe("quality");
      expect(error.error).toMatch(/^standard videos cannot be made until the deployment's configuration is fixed: MUSIC_MODEL: meta\/musicgen is a community model/);
      expect(error.issues).toEqual([{ field: "MUSIC_MODEL", message: expect.stringContaining("name it as meta/musicgen:") }]);
    }
    expect(await videosOfTenant()).toBe(before);
    // A draft does not use the real models: it is still made.
    const draft = await call({ ...REPLICATE, ...DRAFT_BESIDE, ...UNPINNED }, "/api/generate", { ...brief, quality: "draft", dry_run: true });
    expect(draft.status).toBe(200);
  });

  it("refuses a draft with 422 naming DRAFT_PROVIDER_URL where no draft provider is configured (draft is the default quality)", async () => {
    for (const body of [brief, { ...brief, quality: "draft" }]) {
      const response = await call(REPLICATE, "/api/generate", body);
      expect(response.status).toBe(422);
      const error = (await response.json()) as ErrorResponse;
      expect(error).toMatchObject({ field: "quality", issues: [{ field: "DRAFT_PROVIDER_URL", message: "not set" }] });
      expect(error.error).toContain('ask for quality "standard", or set DRAFT_PROVIDER_URL');
    }
  });

  it("prices a standard video's estimate at the real models and a draft's at the draft models", async () => {
    const standard = (await (await call(REPLICATE, "/api/generate", { ...brief, quality: "standard", dry_run: true })).json()) as DryRunResponse;
    const budget = (await (await call({ ...REPLICATE, MODEL_PRESET: "budget" }, "/api/generate", { ...brief, quality: "standard", dry_run: true })).json()) as DryRunResponse;
    const draft = (await (await call({ ...REPLICATE, ...DRAFT_BESIDE }, "/api/generate", { ...brief, dry_run: true })).json()) as DryRunResponse;
    // nano-banana-pro at $0.15 an image: three references and a storyboard frame per beat.
    expect(standard.cost_estimate.by_phase.generating_references).toBe(0.45);
    expect(standard.cost_estimate.by_phase.storyboarding).toBeCloseTo(0.15 * standard.spec.beats.length, 6);
    expect(budget.cost_estimate.total_usd).toBeLessThan(0.5);
    expect(budget.cost_estimate.total_usd).toBeLessThan(standard.cost_estimate.total_usd);
    expect(draft.cost_estimate.total_usd).toBeLessThan(0.01);
  });
});
