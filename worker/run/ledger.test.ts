import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzeImageResponse } from "../../contracts/media.ts";
import { GenerateRequest, type GenerateRequestInput, type VideoResponse } from "../../contracts/api.ts";
import { spokenLines } from "../../contracts/spec.ts";
import { createKey } from "../auth/keys.ts";
import { loadConfig } from "../config.ts";
import { planVideo } from "../planning/plan.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";
import { estimatePrediction } from "../pricing/estimate.ts";
import { COST_PHASE_OF_KIND } from "../pricing/phases.ts";
import { priceOf, tokenCost } from "../pricing/prices.ts";
import chatValid from "../planning/fixtures/chat-valid.json";
import visionValid from "../references/fixtures/vision-valid.json";
import { createAnalyser } from "../references/vision.ts";
import { openaiServer } from "../../test/support/worker/openai-double.ts";
import { claim, deliverWebhook, driveToChunks, driveToEnd, elapse, type Harness, jobOf, MODELS, newRun, outputFor, predictionOf, queued, runJob, snapshot, startJob, succeed } from "../../test/support/worker/run-driver.ts";
import type { ClaimedJob } from "../steps/step.ts";
import { bookCharge, currentTotals, ledgerEntries, ledgerTotals } from "./ledger.ts";
import type { VideoRun } from "./video-run.ts";

/** The cost ledger: estimates at creation, actuals at the end, failures and cancellations included; max_cost_usd as a hard cap. */

const config = loadConfig(env);
const IMAGE = estimatePrediction(config, MODELS.image); // per image
const CHUNK_48 = estimatePrediction(config, MODELS.video, 2); // one Wan clip, priced per video whatever its length
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
    expect(Object.keys(end.cost_by_phase).sort()).toEqual(["adding_music", "generating_chunks", "generating_references", "storyboarding"]);
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

describe("the cost clients are shown", () => {
  type Costs = { cost_usd: number; cost_pending_usd: number };
  const status = async (h: Harness): Promise<Costs> =>
    (await (await exports.default.fetch(new Request(`http://adreel.test/api/status/${h.videoId}`, { headers: { authorization: `Bearer ${key}` } }))).json()) as Costs;

  it("shows a running prediction's estimate apart, so settling it lower takes nothing back", async () => {
    const h = await apiRun();
    await runJob(h, "plan");
    await startJob(h, "music");
    const music = await predictionOf(h, "music");
    const running = await status(h);
    // Music is billed by GPU time: estimated for the whole clip, it ends after 1 s.
    const estimate = (await snapshot(h)).cost_ledger.find((e) => e.prediction_id === music.id)!.estimate_usd;
    expect(estimate).toBeGreaterThan(MUSIC_RATE);
    expect(running).toMatchObject({ cost_usd: 0, cost_pending_usd: estimate });
    h.double.finish(music.id, { status: "succeeded", predictTime: 1 });
    await deliverWebhook(h, music.id);
    const settled = await status(h);
    expect(settled).toMatchObject({ cost_usd: usd(MUSIC_RATE), cost_pending_usd: 0 });
    expect(settled.cost_usd).toBeGreaterThan(running.cost_usd);
  });

  it("never decreases over a whole run, in live events and in GET /api/status, and ends at the ledger's exact total", async () => {
    const h = await apiRun();
    const polled: Costs[] = [];
    const end = await driveToEnd(h, { afterStep: async () => void polled.push(await status(h)) });
    expect(end.status).toBe("complete");
    const events = ((await h.stub.events(0)) as { type: string; data: Partial<Costs> }[]).filter((e) => typeof e.data.cost_usd === "number");
    const shown = events.map((e) => e.data.cost_usd!);
    expect(shown.length).toBeGreaterThan(10);
    for (const [name, series] of [["live events", shown], ["GET /api/status", polled.map((p) => p.cost_usd)]] as const) {
      series.forEach((value, i) => expect(value, `${name}: ${series.slice(Math.max(0, i - 2), i + 1).join(" → ")}`).toBeGreaterThanOrEqual(series[i - 1] ?? 0));
    }
    // Some prediction did settle below its estimate (music's GPU seconds): the case that used to show a decrease.
    expect(end.cost_ledger.some((e) => e.actual_usd !== null && e.actual_usd < e.estimate_usd)).toBe(true);
    expect(end.cost_pending_usd).toBe(0);
    expect(end.cost_usd).toBeCloseTo(sum(end.cost_ledger.map((e) => e.actual_usd!)), 9);
    expect(shown.at(-1)).toBe(end.cost_usd);
    expect(polled.at(-1)).toMatchObject({ cost_usd: end.cost_usd, cost_pending_usd: 0 });
  });
});

describe("the ledger's phases", () => {
  it("are the estimate's: each job's cost is booked under the phase the estimate puts it in (music under adding_music)", async () => {
    const h = await newRun();
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    const kindOf = new Map(end.jobs.map((j) => [j.id, j.kind]));
    for (const entry of end.cost_ledger) expect(entry.phase, entry.job_id).toBe(COST_PHASE_OF_KIND[kindOf.get(entry.job_id)!]);
    expect(end.cost_ledger.find((e) => e.job_id === "music")?.phase).toBe("adding_music");
    const estimated = Object.entries(end.cost_estimate!.by_phase).filter(([, usd]) => usd > 0).map(([phase]) => phase);
    expect(Object.keys(end.cost_by_phase).sort()).toEqual(estimated.sort());
  });
});

describe("max_cost_usd", () => {
  // Music is left queued in these two: its running-time reservation (its deadline's worth of GPU
  // seconds) is larger than a Wan clip, so a cap one and a half clips above the images could not start it.
  it("does not start a prediction that would cross the cap, and fails the video saying so", async () => {
    const n = await beats();
    const spent = (3 + n) * IMAGE + (await voiceCost());
    const cap = Math.round((spent + 1.5 * CHUNK_48) * 100) / 100;
    const h = await apiRun({ max_cost_usd: cap });
    await driveToChunks(h);
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
    const spent = (3 + n) * IMAGE + (await voiceCost());
    const h = await newRun({ request: { max_cost_usd: Math.round((spent + 1.5 * CHUNK_48) * 100) / 100 } });
    await driveToChunks(h);
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

  it("are in the kept totals as soon as they are booked, which equal the ledger summed afresh after every line", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    await startJob(h, "reference:0");
    await runInDurableObject(h.stub, (_run: VideoRun, state) => {
      const sql = state.storage.sql;
      const fresh = () => ledgerTotals(ledgerEntries(sql));
      const seen = [currentTotals(sql)];
      expect(seen[0]).toEqual(fresh());
      const charge = { id: "tokens:plan#2", jobId: "plan", attempt: 1, phase: "planning", detail: "gpt-4.1-mini", usd: 0.00042 };
      for (const book of [() => bookCharge(sql, charge), () => bookCharge(sql, charge), () => bookCharge(sql, { ...charge, id: "tokens:plan#3", usd: 0.001 })]) {
        book();
        seen.push(currentTotals(sql));
        expect(seen.at(-1)).toEqual(fresh());
      }
      // The first line counted at once, its repeat changed nothing, the next counted again.
      expect(seen.map((t) => t.spent)).toEqual([seen[0]!.spent, usd(seen[0]!.spent + 0.00042), usd(seen[0]!.spent + 0.00042), usd(seen[0]!.spent + 0.00142)]);
      // The pending estimate of the reference in flight is kept too.
      expect(seen.at(-1)!.pending).toBe(IMAGE);
    });
  });

  it("include the OpenAI planner's tokens, from the usage its API reported, under planning", async () => {
    // The brief the recorded reply (planning/fixtures/chat-valid.json) answers.
    const h = await newRun({ request: { prompt: "Tired of juggling receipts? Ledgerly, the mobile app that tracks every expense for you.", duration_s: 30, creativity_level: 0.5, archetype: "problem_solution" } });
    const claimed = await claim(h, "plan", "start");
    const openai = openaiServer([chatValid]);
    const planned = await planVideo({ ...h.config, planner: "openai", openai: { ...h.config.openai, apiKey: "sk-test", baseUrl: "https://openai.test/v1" } }, claimed.video.request, openai.fetch);
    expect(openai.requests).toHaveLength(1);
    expect(planned.spec.planner).toBe("openai");
    expect(planned.usage).toEqual({ model: "gpt-4.1-mini", input_tokens: chatValid.usage.prompt_tokens, output_tokens: chatValid.usage.completion_tokens });
    await h.stub.jobDone("plan", 1, planned);
    // A repeated report of the same attempt books nothing more.
    await h.stub.jobDone("plan", 1, planned);
    const snap = await snapshot(h);
    const tokens = tokenCost("gpt-4.1-mini", { input_tokens: 2431, output_tokens: 912 })!;
    expect(tokens).toBe(usd((2431 * 0.4 + 912 * 1.6) / 1e6));
    expect(snap.cost_ledger).toEqual([expect.objectContaining({ prediction_id: "tokens:plan#1", job_id: "plan", phase: "planning", model: "gpt-4.1-mini", estimate_usd: tokens, actual_usd: tokens })]);
    expect(snap.cost_usd).toBe(tokens);
    expect(snap.cost_by_phase).toEqual({ planning: tokens });
  });

  it("include the vision analyser's tokens, carried in the reference's output, under generating_references", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    const claimed = await startJob(h, "reference:0");
    await succeed(h, "reference:0");
    const ingest = await claim(h, "reference:0", "ingest");
    const analyser = createAnalyser({ analyser: "openai", openai: { ...h.config.openai, apiKey: "sk-test", baseUrl: "https://openai.test/v1" } }, openaiServer([visionValid]).fetch);
    const stats: AnalyzeImageResponse = { width: 1024, height: 576, palette: [{ hex: "#C0392B", share: 1, lab: [45, 60, 40] }], brightness: 0.5, contrast: 0.4, saturation: 0.6, lighting: "bright daylight", style: "photographic" };
    const result = await analyser.analyse({ type: "character", spec: ingest.video.spec!, stats, imageUrl: async () => "https://media.test/reference.png" });
    expect(result.analyser).toBe("openai");
    const output = { ...(outputFor(h, claimed) as object), usage: { model: h.config.openai.visionModel, ...result.usage! } };
    await h.stub.jobDone("reference:0", 1, output);
    const snap = await snapshot(h);
    const tokens = tokenCost("gpt-4.1-mini", { input_tokens: 1180, output_tokens: 164 })!;
    expect(snap.cost_ledger.find((e) => e.prediction_id === "tokens:reference:0#1")).toMatchObject({ job_id: "reference:0", phase: "generating_references", model: "gpt-4.1-mini", actual_usd: tokens });
    expect(snap.cost_by_phase.generating_references).toBeCloseTo(IMAGE + tokens, 9);
  });
});
