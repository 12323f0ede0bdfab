import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_CONTRACTS } from "../contracts/model-contracts.ts";
import { AdreelClient } from "../cli/client.ts";
import type { CreateRecord } from "../draft/provider.ts";
import { createDevKey, type Stack, startStack } from "../scripts/stack.ts";
import { expectFinalMp4, followToEnd, ledgerActual } from "./support/ad-checks.ts";

/**
 * The real-provider code path, offline: the whole stack with `MODEL_PROVIDER=replicate`
 * against the draft server in emulate mode, which impersonates Replicate's default models under
 * their published contracts. What the Worker sent is read back from the emulator's request log
 * and checked again here against the vendored schemas, with another validator.
 */

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
async function checkedAd({ stack, client }: Run, expected: { models: string[]; resolution: string }) {
  const health = await fetch(`${stack.workerUrl}/health`);
  expect(await health.json()).toMatchObject({ ok: true, provider: "replicate" });
  const { video_id } = await client.generate({ prompt: "A reusable steel water bottle for trail runners", duration_s: 15, quality: "standard" });
  const status = await followToEnd(client, video_id, 300_000);
  expect(status.error, stack.logs().worker.slice(-3000)).toBeNull();
  expect(status.status).toBe("complete");

  // Every create the Worker sent: accepted, schema-valid (checked again here), on the right route.
  const sent = await creates(stack);
  expect(sent.length).toBeGreaterThan(0);
  for (const create of sent) {
    expect(create, JSON.stringify(create).slice(0, 400)).toMatchObject({ status: 201, invalid_fields: [] });
    const contract = MODEL_CONTRACTS[create.model!]!;
    expect(ajv.validate(contract.input_schema, create.input), JSON.stringify(ajv.errors)).toBe(true);
    if (contract.official) expect(create).toMatchObject({ route: "models", reference: contract.model });
    else expect(create).toMatchObject({ route: "versions", reference: contract.version });
  }
  expect([...new Set(sent.map((c) => c.model))].sort()).toEqual(expected.models);
  // Wan at its native rate and the preset's resolution, one clip per chunk of the plan.
  const clips = sent.filter((c) => c.model === "wan-video/wan-2.2-i2v-fast");
  for (const clip of clips) expect(clip.input).toMatchObject({ frames_per_second: 16, resolution: expected.resolution });

  const video = await client.video(video_id);
  expect(video.spec!.clip).toMatchObject({ model: "wan-video/wan-2.2-i2v-fast", predictions: clips.length });
  expect(video.spec!.clip!.frames_used! / video.spec!.clip!.frames_paid!).toBeGreaterThanOrEqual(0.9);
  // The ledger's actual total agrees with the estimate made before anything was spent.
  const actual = ledgerActual(video);
  expect(Number.isFinite(actual)).toBe(true);
  const estimate = video.cost_estimate!.total_usd;
  expect(Math.abs(actual - estimate) / estimate).toBeLessThanOrEqual(0.1);
  expect(video.cost_usd).toBeCloseTo(actual, 6);

  await expectFinalMp4(client, video, dir, 360);
  return { actual, estimate };
}

describe("a 15 s standard ad with MODEL_PROVIDER=replicate, against the Replicate emulator", () => {
  let run: Run | undefined;
  afterAll(async () => {
    await run?.stack.stop();
  });

  it("premium (the default): nano-banana-pro, Wan 720p, musicgen by version, speech-02-turbo for the voiceover", async () => {
    run = await emulatedStack("premium");
    await checkedAd(run, { models: ["google/nano-banana-pro", "meta/musicgen", "minimax/speech-02-turbo", "wan-video/wan-2.2-i2v-fast"], resolution: "720p" });
    await run.stack.stop();
  });

  it("budget: flux-schnell (an array of URLs), Wan 480p; estimate and actual both under $0.50", async () => {
    run = await emulatedStack("budget", { MODEL_PRESET: "budget" });
    const { actual, estimate } = await checkedAd(run, { models: ["black-forest-labs/flux-schnell", "meta/musicgen", "minimax/speech-02-turbo", "wan-video/wan-2.2-i2v-fast"], resolution: "480p" });
    expect(estimate).toBeLessThan(0.5);
    expect(actual).toBeLessThan(0.5);
  });
});
