import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contractOf } from "../../contracts/model-contracts.ts";
import { AdreelClient } from "../../cli/client.ts";
import { createDevKey, type Stack, startStack } from "../../scripts/stack.ts";
import { expectFinalMp4, followToEnd, ledgerActual } from "../support/ad-checks.ts";

/**
 * `npm run test:live`: one 15 s standard ad against the real Replicate (and OpenAI when
 * OPENAI_API_KEY is set), checked like the emulated run (test/replicate-emulated.test.ts):
 * every prediction's input valid for its vendored schema, the actual cost within the estimate,
 * a valid MP4. It spends real money (about $0.30 with MODEL_PRESET=budget, the default here)
 * and is never part of `npm test` or CI.
 *
 * Needs REPLICATE_API_TOKEN and PUBLIC_BASE_URL: an https URL (a tunnel such as
 * `cloudflared tunnel --url http://127.0.0.1:8787`) that forwards to ADREEL_PORT (8787), so
 * Replicate can fetch the Worker's media and post its webhooks. WEBHOOK_SECRET is read from
 * Replicate when it is not set.
 */

const token = process.env.REPLICATE_API_TOKEN ?? "";
const publicUrl = process.env.PUBLIC_BASE_URL ?? "";
const missing = [!token && "REPLICATE_API_TOKEN", !publicUrl.startsWith("https://") && "PUBLIC_BASE_URL (https, tunnelled to ADREEL_PORT)"].filter(Boolean);
if (missing.length) console.warn(`test:live skipped: set ${missing.join(" and ")} to run one 15 s ad against the real Replicate`);

const REPLICATE = "https://api.replicate.com";

describe.skipIf(missing.length > 0)("a 15 s standard ad on the real Replicate", () => {
  let stack: Stack;
  let client: AdreelClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "adreel-live-"));
    const webhookSecret = process.env.WEBHOOK_SECRET || (await replicate<{ key: string }>("/v1/webhooks/default/secret")).key;
    const openai = process.env.OPENAI_API_KEY ? { PLANNER: "openai", ANALYSER: "openai", OPENAI_API_KEY: process.env.OPENAI_API_KEY, ...(process.env.OPENAI_BASE_URL ? { OPENAI_BASE_URL: process.env.OPENAI_BASE_URL } : {}) } : {};
    stack = await startStack({
      workerPort: Number(process.env.ADREEL_PORT ?? 8787),
      stateDir: join(dir, "state"),
      provider: { MODEL_PROVIDER: "replicate", PROVIDER_BASE_URL: REPLICATE, REPLICATE_API_TOKEN: token, WEBHOOK_SECRET: webhookSecret, PUBLIC_BASE_URL: publicUrl, MODEL_PRESET: process.env.MODEL_PRESET ?? "budget", ...openai },
    });
    client = new AdreelClient(stack.workerUrl, await createDevKey(stack));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function replicate<T>(path: string): Promise<T> {
    const response = await fetch(`${REPLICATE}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`Replicate answered ${response.status} to ${path}: ${await response.text()}`);
    return (await response.json()) as T;
  }

  it("completes with schema-valid inputs, an actual cost within the estimate, and a valid MP4", async () => {
    const health = await (await fetch(`${stack.workerUrl}/health`)).json();
    expect(health).toMatchObject({ ok: true, provider: "replicate" });
    const { video_id } = await client.generate({ prompt: "A reusable steel water bottle for trail runners", duration_s: 15, quality: "standard" });
    const status = await followToEnd(client, video_id, 30 * 60_000);
    expect(status.error, stack.logs().worker.slice(-3000)).toBeNull();
    const video = await client.video(video_id);

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const entry of video.cost_ledger ?? []) {
      const contract = contractOf(entry.model);
      if (!contract) continue;
      // Replicate echoes each prediction's input for an hour after it ran.
      const prediction = await replicate<{ input: Record<string, unknown>; metrics?: { predict_time?: number } }>(`/v1/predictions/${entry.prediction_id}`);
      expect(ajv.validate(contract.input_schema, prediction.input), `${entry.model}: ${JSON.stringify(ajv.errors)}`).toBe(true);
      console.log(`${entry.phase} ${entry.model}: estimate $${entry.estimate_usd}, actual $${entry.actual_usd}, predict_time ${prediction.metrics?.predict_time ?? "?"} s`);
    }
    const actual = ledgerActual(video);
    console.log(`total: estimate $${video.cost_estimate!.total_usd}, actual $${actual.toFixed(4)}`);
    expect(actual).toBeLessThanOrEqual(video.cost_estimate!.total_usd * 1.1);
    await expectFinalMp4(client, video, dir, 360);
  });
});
