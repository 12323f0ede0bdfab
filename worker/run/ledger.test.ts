import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { GenerateRequest, type GenerateRequestInput, type VideoResponse } from "../../contracts/api.ts";
import { spokenLines } from "../../contracts/spec.ts";
import { createKey } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { planVideo } from "../planning/plan.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { priceOf } from "../pricing/prices.ts";
import { deliverWebhook, driveToChunks, driveToEnd, elapse, type Harness, jobOf, MODELS, newRun, predictionOf, queued, runJob, snapshot, startJob } from "../../test/support/worker/run-driver.ts";
import type { ClaimedJob } from "../steps/step.ts";
import { bookCharge } from "./ledger.ts";
import type { VideoRun } from "./video-run.ts";

/** The cost ledger: estimates at creation, actuals at the end, failures and cancellations included; max_cost_usd as a hard cap. */

const config = loadConfig(env);
const IMAGE = estimatePrediction(config, MODELS.image); // per image
const CHUNK_48 = estimatePrediction(config, MODELS.video, 2); // billed at the model's minimum clip length
const MUSIC_RATE = priceOf(config, MODELS.music)!.usd; // per GPU second
const DEADLINE_S = config.predictionDeadlineMs / 1000;
const PROMPT = "A reusable steel water bottle for trail runners";

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-ledger", "test")).key;
});

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** The ledger keeps dollars to a millionth. */
const usd = (value: number) => Math.round(value * 1e6) / 1e6;

/** A video created through the API (so GET /api/video serves it), driven by the harness. */
async function apiRun(request: Partial<GenerateRequestInput> = {}, double?: ReplicateDouble): Promise<Harness> {
  const response = await exports.default.fetch(
    new Request("http://adreel.test/api/generate", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ prompt: PROMPT, duration_s: 15, ...request }) }),
  );
  expect(response.status).toBe(200);
  const { video_id } = (await response.json()) as { video_id: string };
  return newRun({ videoId: video_id, double });
}

async function beats(): Promise<number> {
  return (await planVideo({ ...config, planner: "local" }, GenerateRequest.parse({ prompt: PROMPT, duration_s: 15 }))).spec.beats.length;
}

/** What the voiceover's lines cost (speech-02-turbo, per character of each line). */
async function voiceCost(): Promise<number> {
  const { spec } = await planVideo({ ...config, planner: "local" }, GenerateRequest.parse({ prompt: PROMPT, duration_s: 15 }));
  return sum(spokenLines(spec).map((line) => estimatePrediction(config, MODELS.speech, 0, { text: line.text })));
}

describe("the ledger of a finished video", () => {
  it("has one line per prediction, priced by each model's unit, summing to the video's cost", async () => {
    const h = await apiRun();
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    const ledger = end.cost_ledger;
    expect(ledger.map((e) => e.prediction_id).sort()).toEqual(h.double.all().map((p) => p.id).sort());
    for (const entry of ledger) {
      expect(entry.actual_usd).not.toBeNull();
      if (entry.model === MODELS.image) expect([entry.estimate_usd, entry.actual_usd]).toEqual([IMAGE, IMAGE]);
      if (entry.model === MODELS.video) expect([entry.estimate_usd, entry.actual_usd]).toEqual([CHUNK_48, CHUNK_48]);
      // Music is billed by GPU time: the predict_time the provider reported (2 s), not the estimate.
      if (entry.model === MODELS.music) expect(entry.actual_usd).toBeCloseTo(2 * MUSIC_RATE, 9);
    }
    expect(new Set(ledger.map((e) => e.model))).toEqual(new Set(Object.values(MODELS)));
    expect(end.cost_usd).toBeCloseTo(sum(ledger.map((e) => e.usd)), 6);
    for (const [phase, usd] of Object.entries(end.cost_by_phase)) expect(usd).toBeCloseTo(sum(ledger.filter((e) => e.phase === phase).map((e) => e.usd)), 6);
    expect(Object.keys(end.cost_by_phase).sort()).toEqual(["generating_chunks", "generating_references", "storyboarding"]);
    // The API serves the same ledger.
    const record = (await (await exports.default.fetch(new Request(`http://adreel.test/api/video/${h.videoId}`, { headers: { authorization: `Bearer ${key}` } }))).json()) as VideoResponse;
    expect(record.cost_usd).toBe(end.cost_usd);
    expect(record.cost_ledger).toEqual(ledger.map(({ at: _at, ...entry }) => entry));
  });

  it("includes failed and cancelled attempts at what they cost", async () => {
    const h = await newRun({ double: new ReplicateDouble({ cancelPredictTime: 5 }) });
    await runJob(h, "plan");
    // Music fails after 3 GPU seconds (billed), its retry is cancelled at the deadline after 5 (billed).
    await startJob(h, "music");
    const failed = (await predictionOf(h, "music")).id;
    h.double.finish(failed, { status: "failed", predictTime: 3 });
    await deliverWebhook(h, failed);
    await startJob(h, "music");
    const cancelled = (await predictionOf(h, "music")).id;
    await elapse(h, h.config.predictionDeadlineMs + 1);
    await runDurableObjectAlarm(h.stub);
    // A reference fails: per-image models bill nothing for it.
    await startJob(h, "reference:0");
    const refused = (await predictionOf(h, "reference:0")).id;
    h.double.finish(refused, { status: "failed" });
    await deliverWebhook(h, refused);
    const snap = await snapshot(h);
    expect(snap.cost_ledger.map((e) => [e.prediction_id, e.job_id, e.attempt, e.actual_usd])).toEqual([
      [failed, "music", 1, usd(3 * MUSIC_RATE)],
      [cancelled, "music", 2, usd(5 * MUSIC_RATE)],
      [refused, "reference:0", 1, 0],
    ]);
    expect(snap.cost_usd).toBeCloseTo(8 * MUSIC_RATE, 9);
    expect(await jobOf(h, "music")).toMatchObject({ attempt: 3 });
  });
});

describe("max_cost_usd", () => {
  it("does not start a prediction that would cross the cap, and fails the video saying so", async () => {
    const n = await beats();
    const spent = (3 + n) * IMAGE + 2 * MUSIC_RATE + (await voiceCost());
    const cap = Math.round((spent + 1.5 * CHUNK_48) * 100) / 100;
    const h = await apiRun({ max_cost_usd: cap });
    await driveToChunks(h, { music: true });
    expect((await snapshot(h)).cost_usd).toBeCloseTo(spent, 9);
    const [first, second] = await queued(h, "chunk");
    await startJob(h, first!);
    await startJob(h, second!);
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    const committed = (spent + CHUNK_48).toFixed(4);
    expect(end.error).toMatch(new RegExp(`^max_cost_usd \\$${cap.toFixed(2)} reached \\(\\$${committed} spent or committed\\): chunk \\d+ \\(beat \\d+ ".+", part \\d+\\) was not started, its prediction is estimated at \\$${CHUNK_48.toFixed(4)}$`));
    expect(h.double.forJob(second!)).toHaveLength(0);
    // The chunk that had started is cancelled; what was spent stays under the cap.
    expect(h.double.view(h.double.forJob(first!)[0]!.id).status).toBe("canceled");
    expect(end.cost_usd).toBeLessThanOrEqual(cap);
    const row = await env.DB.prepare("SELECT status, error, cost_usd FROM videos WHERE id = ?").bind(h.videoId).first<{ status: string; error: string; cost_usd: number }>();
    expect(row).toEqual({ status: "failed", error: end.error, cost_usd: end.cost_usd });
  });

  it("counts predictions other consumers are creating at that moment", async () => {
    const n = await beats();
    const spent = (3 + n) * IMAGE + 2 * MUSIC_RATE + (await voiceCost());
    const h = await newRun({ request: { max_cost_usd: Math.round((spent + 1.5 * CHUNK_48) * 100) / 100 } });
    await driveToChunks(h, { music: true });
    const [a, b] = await queued(h, "chunk");
    const claimA = (await h.stub.claim(a!, 1, "start")) as ClaimedJob | null;
    const claimB = (await h.stub.claim(b!, 1, "start")) as ClaimedJob | null;
    expect(claimA && claimB).toBeTruthy();
    expect(await h.stub.beginPrediction(a!, 1, CHUNK_48, MODELS.video)).toEqual({ proceed: true });
    expect(await h.stub.beginPrediction(b!, 1, CHUNK_48, MODELS.video)).toEqual({ proceed: false, reason: "cost cap" });
    expect((await snapshot(h)).status).toBe("failed");
  });

  it("reserves a GPU-time model's worst case (its deadline's worth of seconds) before starting it", async () => {
    const cap = Math.round((3 * IMAGE + 0.1) * 100) / 100;
    const musicEstimate = estimatePrediction(config, MODELS.music, 15);
    expect(musicEstimate).toBeLessThan(0.1);
    const h = await newRun({ request: { max_cost_usd: cap } });
    await runJob(h, "plan");
    for (const id of await queued(h, "reference")) await runJob(h, id);
    await startJob(h, "music");
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toContain(`music step was not started, its prediction is estimated at $${musicEstimate.toFixed(4)}, billed by running time up to $${(MUSIC_RATE * DEADLINE_S).toFixed(4)}`);
    expect(h.double.forJob("music")).toHaveLength(0);
  });

  it("stops the video at once should a provider bill more than the worst case", async () => {
    const h = await newRun({ request: { max_cost_usd: 0.5 } });
    await runJob(h, "plan");
    await startJob(h, "music");
    await startJob(h, "reference:0");
    const music = (await predictionOf(h, "music")).id;
    h.double.finish(music, { status: "succeeded", predictTime: 600 });
    await deliverWebhook(h, music);
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toBe(`max_cost_usd $0.50 exceeded: predictions billed by running time brought the cost to $${(600 * MUSIC_RATE + IMAGE).toFixed(4)}`);
    expect(h.double.view((await predictionOf(h, "reference:0")).id).status).toBe("canceled");
  });
});

describe("charges that are not predictions", () => {
  it("are one line each under their phase, counted once in the cost and its phase", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    const before = await snapshot(h);
    const charge = { id: "tokens:plan#1", jobId: "plan", attempt: 1, phase: "planning", detail: "gpt-4.1-mini", usd: 0.00042 };
    await runInDurableObject(h.stub, (_run: VideoRun, state) => {
      bookCharge(state.storage.sql, charge);
      bookCharge(state.storage.sql, charge);
    });
    const after = await snapshot(h);
    expect(after.cost_ledger.filter((e) => e.prediction_id === charge.id)).toMatchObject([{ job_id: "plan", phase: "planning", model: "gpt-4.1-mini", estimate_usd: 0.00042, actual_usd: 0.00042, usd: 0.00042 }]);
    expect(after.cost_usd).toBeCloseTo(before.cost_usd + 0.00042, 9);
    expect(after.cost_by_phase.planning).toBeCloseTo(0.00042, 9);
  });
});
