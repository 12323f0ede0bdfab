import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CostEstimate } from "../contracts/api.ts";
import { renderToFile } from "../cli/adreel.ts";
import { MODEL_CONTRACTS } from "../contracts/model-contracts.ts";
import { AdreelClient } from "../cli/client.ts";
import type { CreateRecord } from "../draft/provider.ts";
import { createDevKey, ROOT, type Stack, startStack } from "../scripts/stack.ts";
import { expectFinalMp4, followToEnd, ledgerActual } from "./support/ad-checks.ts";

/**
 * The real-provider code path, offline: the whole stack with `MODEL_PROVIDER=replicate`
 * against the draft server in emulate mode, which impersonates Replicate's default models under
 * their published contracts. What the Worker sent is read back from the emulator's request log
 * and checked again here against the vendored schemas, with another validator.
 */

const PROMPT = "A reusable steel water bottle for trail runners";

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

interface Run {
  stack: Stack;
  client: AdreelClient;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "adreel-emulated-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function emulatedStack(name: string, vars: Record<string, string> = {}): Promise<Run> {
  const stack = await startStack({ stateDir: join(dir, name), emulator: true, vars: { POLL_AFTER_MS: "5000", ...vars } });
  return { stack, client: new AdreelClient(stack.workerUrl, await createDevKey(stack)) };
}

async function creates(stack: Stack): Promise<CreateRecord[]> {
  const response = await fetch(`${stack.emulatorUrl}/v1/_draft/requests`, { headers: { authorization: `Bearer ${stack.emulatorToken}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { requests: CreateRecord[] }).requests;
}

/**
 * One 15 s standard ad through the stack, checked as the issue asks: it completes; every input
 * the Worker sent passed its model's vendored schema and reached the route Replicate accepts for
 * it; the ledger's actual total is within 10 % of the estimate; the MP4 is 360 frames at 24 fps.
 */
async function checkedAd(run: Run, expected: { models: string[]; resolution: string }) {
  const health = await fetch(`${run.stack.workerUrl}/health`);
  expect(await health.json()).toMatchObject({ ok: true, provider: "replicate", draft_provider: true, problems: [] });
  const { video_id } = await run.client.generate({ prompt: PROMPT, duration_s: 15, quality: "standard" });
  return expectStandardAd(run, video_id, expected);
}

/** The checks of a standard ad made through the emulator (generated, or a draft rendered for real). */
async function expectStandardAd({ stack, client }: Run, videoId: string, expected: { models: string[]; resolution: string }) {
  const status = await followToEnd(client, videoId, 300_000);
  expect(status.error, stack.logs().worker.slice(-3000)).toBeNull();
  expect(status.status).toBe("complete");
  const video = await client.video(videoId);
  expect(video.quality).toBe("standard");

  // Every create the Worker sent: accepted, schema-valid (checked again here), on the right route.
  const all = await creates(stack);
  expect(all.length).toBeGreaterThan(0);
  for (const create of all) {
    expect(create, JSON.stringify(create).slice(0, 400)).toMatchObject({ status: 201, invalid_fields: [] });
    const contract = MODEL_CONTRACTS[create.model!]!;
    expect(ajv.validate(contract.input_schema, create.input), JSON.stringify(ajv.errors)).toBe(true);
    if (contract.official) expect(create).toMatchObject({ route: "models", reference: contract.model });
    else expect(create).toMatchObject({ route: "versions", reference: contract.version });
  }
  // This video's: the predictions its ledger pays for.
  const paid = new Set((video.cost_ledger ?? []).map((e) => e.prediction_id));
  const sent = all.filter((c) => c.prediction_id && paid.has(c.prediction_id));
  expect(sent).toHaveLength(paid.size);
  expect([...new Set(sent.map((c) => c.model))].sort()).toEqual(expected.models);
  // Wan at its native rate and the preset's resolution, one clip per chunk of the plan.
  const clips = sent.filter((c) => c.model === "wan-video/wan-2.2-i2v-fast");
  for (const clip of clips) expect(clip.input).toMatchObject({ frames_per_second: 16, resolution: expected.resolution });

  expect(video.spec!.clip).toMatchObject({ model: "wan-video/wan-2.2-i2v-fast", predictions: clips.length });
  expect(video.spec!.clip!.frames_used! / video.spec!.clip!.frames_paid!).toBeGreaterThanOrEqual(0.9);
  // The ledger's actual total agrees with the estimate made before anything was spent.
  const actual = ledgerActual(video);
  expect(Number.isFinite(actual)).toBe(true);
  const estimate = video.cost_estimate!.total_usd;
  expect(Math.abs(actual - estimate) / estimate).toBeLessThanOrEqual(0.1);
  expect(video.cost_usd).toBeCloseTo(actual, 6);
  console.info(`[emulated] ${video.rendered_from ? `render of draft ${video.rendered_from}` : "standard ad"} ${videoId}: estimate $${estimate.toFixed(4)}, actual $${actual.toFixed(4)} (${((actual / estimate - 1) * 100).toFixed(1)} %), ${clips.length} Wan clips`);

  await expectFinalMp4(client, video, dir, 360);
  return { actual, estimate, video };
}

const BUDGET_MODELS = ["black-forest-labs/flux-schnell", "meta/musicgen", "minimax/speech-02-turbo", "wan-video/wan-2.2-i2v-fast"];

describe("a 15 s standard ad with MODEL_PROVIDER=replicate, against the Replicate emulator", () => {
  it("premium (the default): nano-banana-pro, Wan 720p, musicgen by version, speech-02-turbo for the voiceover", async () => {
    const run = await emulatedStack("premium");
    try {
      await checkedAd(run, { models: ["google/nano-banana-pro", "meta/musicgen", "minimax/speech-02-turbo", "wan-video/wan-2.2-i2v-fast"], resolution: "720p" });
    } finally {
      await run.stack.stop();
    }
  });

  describe("budget", () => {
    let run: Run;
    beforeAll(async () => {
      run = await emulatedStack("budget", { MODEL_PRESET: "budget" });
    });
    afterAll(async () => {
      await run?.stack.stop();
    });

    it("flux-schnell (an array of URLs), Wan 480p; estimate and actual both under $0.50", async () => {
      const { actual, estimate } = await checkedAd(run, { models: BUDGET_MODELS, resolution: "480p" });
      expect(estimate).toBeLessThan(0.5);
      expect(actual).toBeLessThan(0.5);
    });

    it("a complete draft rendered for real: the draft on the draft server, then from its spec through the emulator (CLI render --dry-run, then render)", async () => {
      const { stack, client } = run;
      const { video_id: draftId } = await client.generate({ prompt: PROMPT, duration_s: 15 });
      const before = (await creates(stack)).length;
      expect((await followToEnd(client, draftId, 300_000)).status).toBe("complete");
      // Drafts (the default quality) render on the draft server: the emulator saw nothing of it.
      expect(await creates(stack)).toHaveLength(before);
      const draft = await client.video(draftId);
      expect(draft).toMatchObject({ quality: "draft", rendered_from: null, renders: [] });

      // The CLI's dry run: the estimate, and nothing spent.
      const cli = spawnSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "cli", "adreel.ts"), "render", draftId, "--dry-run"], {
        env: { ...process.env, ADREEL_URL: stack.workerUrl, ADREEL_API_KEY: client.apiKey },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(cli.status, cli.stderr).toBe(0);
      const dryRun = JSON.parse(cli.stdout) as { rendered_from: string; cost_estimate: CostEstimate; chunks: number };
      expect(dryRun).toMatchObject({ rendered_from: draftId, quality: "standard" });
      expect(cli.stderr).toContain(`standard render of ${draftId}: estimated $${dryRun.cost_estimate.total_usd.toFixed(2)}`);
      expect(await creates(stack)).toHaveLength(before);
      expect((await client.video(draftId)).renders).toEqual([]);

      const lines: string[] = [];
      const path = await renderToFile(client, draftId, { out: join(dir, "rendered.mp4") }, (line) => lines.push(line));
      expect(existsSync(path)).toBe(true);
      const [renderedId] = (await client.video(draftId)).renders;
      expect(renderedId).toBeDefined();
      const { actual, estimate, video } = await expectStandardAd(run, renderedId!, { models: BUDGET_MODELS, resolution: "480p" });
      // Nothing planned again: the draft's spec, rendered by the real models; priced as the dry run said.
      expect(video.rendered_from).toBe(draftId);
      expect(video.spec).toEqual(draft.spec);
      expect(video.cost_estimate).toEqual(dryRun.cost_estimate);
      expect(video.spec!.clip!.predictions).toBe(dryRun.chunks);
      expect(estimate).toBeLessThan(0.5);
      expect(actual).toBeLessThan(0.5);
    });
  });
});
