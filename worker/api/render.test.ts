import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorResponse, RenderDryRunResponse, RenderResponse, VideoResponse } from "../../contracts/api.ts";
import { apiRequest } from "../../test/support/worker/api-client.ts";
import { claim, driveToEnd, type Harness, newRun, snapshot, submitRun } from "../../test/support/worker/run-driver.ts";
import { createKey } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { planSteps } from "../steps/plan.ts";
import { renderVoice } from "./videos/render.ts";

/**
 * POST /api/video/{id}/render on the Worker: a complete draft becomes a new standard video
 * from the same spec (its plan job plans nothing), linked both ways; the estimate comes first.
 * The end-to-end render against the Replicate emulator is in test/replicate-emulated.test.ts.
 */

const PROMPT = "A reusable steel water bottle for trail runners";
let key: string;
let draft: Harness;

beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-render", "test")).key;
  draft = await submitRun(key, PROMPT);
  expect((await driveToEnd(draft)).status).toBe("complete");
});

const render = (id: string, body: unknown, headers: Record<string, string> = {}) => apiRequest(`/api/video/${id}/render`, key, { method: "POST", body: JSON.stringify(body), headers });
const rendersOf = async (id: string) => (await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE rendered_from = ?").bind(id).first<{ n: number }>())!.n;
const record = async (id: string) => (await (await apiRequest(`/api/video/${id}`, key)).json()) as VideoResponse;

describe("POST /api/video/{id}/render", () => {
  it("states the estimate without spending on a dry run", async () => {
    const before = (await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = 'tenant-render'").first<{ n: number }>())!.n;
    const response = await render(draft.videoId, { quality: "standard", dry_run: true });
    expect(response.status).toBe(200);
    const estimate = (await response.json()) as RenderDryRunResponse;
    const spec = (await snapshot(draft)).spec!;
    expect(estimate).toMatchObject({ dry_run: true, rendered_from: draft.videoId, quality: "standard" });
    expect(estimate.spec.beats.map((b) => b.prompt)).toEqual(spec.beats.map((b) => b.prompt));
    expect(estimate.cost_estimate.total_usd).toBeGreaterThan(0);
    expect(estimate.chunks).toBeGreaterThanOrEqual(spec.beats.length);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = 'tenant-render'").first<{ n: number }>())!.n).toBe(before);
    expect((await record(draft.videoId)).renders).toEqual([]);

    // Here standard videos speak with the draft's model, so the draft's voice carries over and a
    // hosted model's voice id is refused; renderVoice below covers a hosted speech model.
    expect(estimate.spec.copy.voiceover.voice).toBe(spec.copy.voiceover.voice);
    const voiced = (await (await render(draft.videoId, { quality: "standard", dry_run: true, voice: "en-gb" })).json()) as RenderDryRunResponse;
    expect(voiced.spec.copy.voiceover.voice).toBe("en-gb");
    const hosted = await render(draft.videoId, { quality: "standard", dry_run: true, voice: "Calm_Woman" });
    expect(hosted.status).toBe(422);
    expect(((await hosted.json()) as ErrorResponse).field).toBe("voice");

    const capped = await render(draft.videoId, { quality: "standard", max_cost_usd: Math.max(0.0001, estimate.cost_estimate.total_usd / 2) });
    expect(capped.status).toBe(422);
    expect(((await capped.json()) as ErrorResponse).field).toBe("max_cost_usd");
  });

  it("makes a new video from the draft's spec, linked both ways, whose plan job plans nothing new", async () => {
    const response = await render(draft.videoId, { quality: "standard" });
    expect(response.status).toBe(202);
    const started = (await response.json()) as RenderResponse;
    expect(started).toMatchObject({ status: "queued", rendered_from: draft.videoId, quality: "standard" });
    expect(started.video_id).not.toBe(draft.videoId);

    // Chunked as the route priced it: at the deployment's clip length, not the harness's 2 s chunks.
    const rendered = await newRun({ videoId: started.video_id, config: { maxChunkFrames: loadConfig(env).maxChunkFrames } });
    const claimed = await claim(rendered, "plan", "start");
    const draftSnap = await snapshot(draft);
    expect(claimed.video.request).toMatchObject({ ...draftSnap.request, quality: "standard" });
    const outcome = await planSteps.start(rendered.deps, claimed);
    expect(outcome.kind).toBe("done");
    await rendered.stub.jobDone("plan", claimed.job.attempt, (outcome as { output: unknown }).output);
    const after = await snapshot(rendered);
    // The draft's spec, as planned: same beats, prompts, timing and seed; only the clips it pays
    // for (spec.clip's usage) are counted again at this video's chunking (the harness drove the draft in 2 s chunks).
    const { clip: renderedClip, ...renderedSpec } = after.spec!;
    const { clip: draftClip, ...draftSpec } = draftSnap.spec!;
    expect(renderedSpec).toEqual(draftSpec);
    expect(renderedClip).toMatchObject({ model: draftClip!.model, fps: draftClip!.fps, min_frames: draftClip!.min_frames, max_frames: draftClip!.max_frames, predictions: started.chunks });
    expect(after.cost_estimate).toEqual(started.cost_estimate);
    expect(after.phase).toBe("generating_references");

    expect(await record(started.video_id)).toMatchObject({ quality: "standard", rendered_from: draft.videoId, renders: [] });
    expect(await record(draft.videoId)).toMatchObject({ quality: "draft", rendered_from: null, renders: [started.video_id] });

    // A standard video is not rendered again.
    const again = await render(started.video_id, { quality: "standard" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorResponse).error).toMatch(/is already a standard video/);
  });

  it("starts one render per Idempotency-Key, however often it is retried", async () => {
    const before = await rendersOf(draft.videoId);
    const body = { quality: "standard", max_cost_usd: 500 };
    const answers = await Promise.all(Array.from({ length: 3 }, () => render(draft.videoId, body, { "idempotency-key": "render-7" })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 202]);
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as RenderResponse[];
    expect(new Set(bodies.map((b) => b.video_id)).size).toBe(1);
    // The replay states the same estimate as the render it found.
    expect(new Set(bodies.map((b) => JSON.stringify(b.cost_estimate))).size).toBe(1);
    expect(await rendersOf(draft.videoId)).toBe(before + 1);

    // Another request under the same key, or a key a generate already used, is refused by name.
    const other = await render(draft.videoId, { ...body, max_cost_usd: 400 }, { "idempotency-key": "render-7" });
    expect(other.status).toBe(422);
    expect(((await other.json()) as ErrorResponse).field).toBe("Idempotency-Key");
    const generated = await apiRequest("/api/generate", key, { method: "POST", body: JSON.stringify({ prompt: PROMPT, duration_s: 15 }), headers: { "idempotency-key": "order-8" } });
    expect(generated.status).toBe(200);
    const reused = await render(draft.videoId, body, { "idempotency-key": "order-8" });
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as ErrorResponse).field).toBe("Idempotency-Key");
    expect(await rendersOf(draft.videoId)).toBe(before + 1);
  });

  it("does not carry a draft's espeak-ng voice to a hosted speech model", () => {
    const hosted = loadConfig({ ...env, MODEL_PROVIDER: "replicate", PROVIDER_BASE_URL: "https://api.replicate.com", REPLICATE_API_TOKEN: "r8_x", PUBLIC_BASE_URL: "https://adreel.example.net", DRAFT_PROVIDER_URL: "https://draft.adreel.example.net" } as Env);
    expect(renderVoice(hosted, "en-us", undefined)).toBeNull();
    expect(renderVoice(hosted, "en-us", "Calm_Woman")).toBe("Calm_Woman");
    expect(renderVoice(loadConfig(env), "en-gb", null)).toBe("en-gb");
  });

  it("answers 404 for an unknown video, 409 for a draft that is not complete, 422 for bad bodies", async () => {
    expect((await render(crypto.randomUUID(), { quality: "standard" })).status).toBe(404);
    expect((await render("not-a-video", { quality: "standard" })).status).toBe(404);

    const running = await submitRun(key, PROMPT);
    const busy = await render(running.videoId, { quality: "standard" });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as ErrorResponse).error).toBe(`video ${running.videoId} is queued: a draft is rendered for real once it is complete`);
    await running.stub.cancel();

    const bad: [unknown, string][] = [
      [{}, "quality"],
      [{ quality: "draft" }, "quality"],
      [{ quality: "standard", dry_run: "yes" }, "dry_run"],
      [{ quality: "standard", max_cost_usd: -1 }, "max_cost_usd"],
      [{ quality: "standard", callback_url: "ftp://example.com/done" }, "callback_url"],
      [{ quality: "standard", prompt: "something else" }, "body"],
      [{ quality: "standard", voice: "en us; rm -rf" }, "voice"],
    ];
    for (const [body, field] of bad) {
      const response = await render(draft.videoId, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(((await response.json()) as ErrorResponse).field, JSON.stringify(body)).toBe(field);
    }
    const notJson = await apiRequest(`/api/video/${draft.videoId}/render`, key, { method: "POST", body: "{quality" });
    expect(notJson.status).toBe(422);
  });
});
