import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GenerateRequest } from "../../contracts/api.ts";
import { DRAFT_MODELS } from "../../contracts/draft-models.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";
import { runOf } from "../../test/support/worker/run-driver.ts";
import { loadConfig, type ProviderSettings, webhookSecretOf } from "../config.ts";
import { MODEL_PRESETS } from "../providers/presets.ts";
import { consumeJobs } from "../queue/consumer.ts";
import type { JobMessage } from "../queue/messages.ts";
import { stepDeps } from "../steps/step.ts";
import type { Snapshot } from "./types.ts";
import type { VideoRun } from "./video-run.ts";

/**
 * `quality` per video on a deployment with a real provider (MODEL_PROVIDER=replicate) and the
 * draft provider beside it: the run (polls, cancels) and the queue consumer (creates) of a draft
 * talk to the draft provider with the draft models, those of a standard video to Replicate with
 * the preset's. Two in-memory doubles of the same predictions API play the two providers.
 */

const replicate = new ReplicateDouble();
const draft = new ReplicateDouble({}, { base: "http://draft.test:8789", token: "r8_draft_double" });
const DRAFT_SECRET = "whsec_ZHJhZnQtcHJvdmlkZXItc2VjcmV0LTAxMjM0NTY3";
const deployment = loadConfig({
  ...env,
  MODEL_PROVIDER: "replicate",
  PROVIDER_BASE_URL: replicate.base,
  REPLICATE_API_TOKEN: replicate.token,
  PUBLIC_BASE_URL: "https://adreel.example.net",
  DRAFT_PROVIDER_URL: draft.base,
  DRAFT_PROVIDER_TOKEN: draft.token,
  DRAFT_WEBHOOK_SECRET: DRAFT_SECRET,
} as Env);
const clientFor = (settings: ProviderSettings) => (settings.name === "draft" ? draft : replicate).client();

/** One message through the real consumer, with the deployment above and the doubles as its providers. */
async function consume(body: JobMessage): Promise<void> {
  const acks: string[] = [];
  const message = { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body, ack: () => void acks.push("ack"), retry: () => void acks.push("retry") };
  const batch = { queue: "adreel-jobs", metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } }, messages: [message], ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>;
  await consumeJobs(batch, env, { ...stepDeps(env, deployment), provider: replicate.client(), clientFor });
  expect(acks).toEqual(["ack"]);
}

async function video(quality: "draft" | "standard"): Promise<{ id: string; snap: () => Promise<Snapshot> }> {
  const id = crypto.randomUUID();
  const stub = runOf(id);
  await runInDurableObject(stub, (run: VideoRun) => {
    run.deployment = deployment;
    run.clientFor = clientFor;
  });
  const request = GenerateRequest.parse({ prompt: "A reusable steel water bottle for trail runners", duration_s: 15, quality });
  await stub.start({ video_id: id, tenant_id: "tenant-quality", request, cost_estimate: null });
  await consume({ video_id: id, job_id: "plan", attempt: 1, step: "start" });
  await consume({ video_id: id, job_id: "reference:0", attempt: 1, step: "start" });
  return { id, snap: async () => (await stub.snapshot()) as unknown as Snapshot };
}

const ofVideo = (double: ReplicateDouble, id: string) => double.all().filter((p) => new URL(p.webhook!).searchParams.get("video") === id);

describe("quality, per video", () => {
  it("renders a draft on the draft provider and a standard video on Replicate, each from create to cancel", async () => {
    const drafted = await video("draft");
    const standard = await video("standard");

    const [draftPrediction, ...moreDraft] = ofVideo(draft, drafted.id);
    expect(moreDraft).toEqual([]);
    expect(ofVideo(replicate, drafted.id)).toEqual([]);
    expect(draftPrediction).toMatchObject({ model: DRAFT_MODELS.image });
    expect(new URL(draftPrediction!.webhook!).searchParams.get("provider")).toBe("draft");

    const [standardPrediction, ...moreStandard] = ofVideo(replicate, standard.id);
    expect(moreStandard).toEqual([]);
    expect(ofVideo(draft, standard.id)).toEqual([]);
    expect(standardPrediction).toMatchObject({ model: MODEL_PRESETS.premium.image });
    expect(new URL(standardPrediction!.webhook!).searchParams.get("provider")).toBe("replicate");
    expect(replicate.calls).toContain(`POST /v1/models/${MODEL_PRESETS.premium.image}/predictions`);

    // Each estimate and ledger line is priced at its own provider's models.
    const [draftSnap, standardSnap] = [await drafted.snap(), await standard.snap()];
    expect(standardSnap.cost_ledger).toMatchObject([{ model: MODEL_PRESETS.premium.image, estimate_usd: 0.15 }]);
    expect(draftSnap.cost_ledger).toMatchObject([{ model: DRAFT_MODELS.image }]);
    expect(draftSnap.cost_ledger[0]!.estimate_usd).toBeLessThan(0.01);
    expect(standardSnap.cost_estimate!.total_usd).toBeGreaterThan(draftSnap.cost_estimate!.total_usd);

    // The runs stop their predictions where they were made.
    await runOf(drafted.id).cancel();
    await runOf(standard.id).cancel();
    expect(draft.view(draftPrediction!.id).status).toBe("canceled");
    expect(replicate.view(standardPrediction!.id).status).toBe("canceled");
  });

  it("verifies a webhook with the secret of the provider its URL names", () => {
    expect(webhookSecretOf(deployment, "draft")).toBe(DRAFT_SECRET);
    expect(webhookSecretOf(deployment, "replicate")).toBe(deployment.webhookSecret);
    expect(deployment.webhookSecret).not.toBe(DRAFT_SECRET);
    // A prediction created before URLs named their provider: the configured one's.
    expect(webhookSecretOf(deployment, undefined)).toBe(deployment.webhookSecret);
    expect(webhookSecretOf(deployment, "elsewhere")).toBeNull();
    expect(webhookSecretOf(loadConfig({ ...env, MODEL_PROVIDER: "replicate", PUBLIC_BASE_URL: "https://adreel.example.net" } as Env), "draft")).toBeNull();
  });
});
