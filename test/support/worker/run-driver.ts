import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { GenerateRequest, type GenerateRequestInput, isEndStatus } from "../../../contracts/api.ts";
import type { Prediction } from "../../../contracts/prediction.ts";
import { signWebhook } from "../../../contracts/signing.ts";
import type { ChunkLastFrame } from "../../../worker/chunks/output.ts";
import { type ChunkPlan, seamKeyframes } from "../../../worker/chunks/plan.ts";
import { type AssembleInput, OVERLAYS_JOB, SEAMS_PREFIX, type SeamMeasureInput, WINDOW_PREFIX, type WindowInput } from "../../../worker/steps/assembly.ts";
import { type Config, loadConfig } from "../../../worker/config.ts";
import { copyLayers, spokenLines } from "../../../contracts/spec.ts";
import { mediaKeys } from "../../../worker/media/keys.ts";
import { buildCues, placeLines } from "../../../lib/voice-cues.ts";
import { planVideo } from "../../../worker/planning/plan.ts";
import { ReplicateDouble } from "./replicate-double.ts";
import { createPrediction } from "../../../worker/queue/consumer.ts";
import type { JobStep } from "../../../worker/queue/messages.ts";
import { estimatePrediction } from "../../../worker/pricing/estimate.ts";
import type { Snapshot } from "../../../worker/run/types.ts";
import type { VideoRun } from "../../../worker/run/video-run.ts";
import { type ClaimedJob, type StepDeps, stepDeps } from "../../../worker/steps/step.ts";

/**
 * Test support: drives one real VideoRun through its RPC methods the way queue consumers,
 * media-node and the provider would, with the provider played by ReplicateDouble. Nothing of
 * the run is replaced; only the outside world (provider, media-node's outputs) is acted out.
 */

/** Real Replicate models, so the ledger prices per image, per output second and per GPU second. */
/** Real model names (musicgen pinned: Replicate runs a community model only by version). */
export const MODELS = {
  image: "black-forest-labs/flux-1.1-pro",
  video: "wan-video/wan-2.2-i2v-fast",
  music: "meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb",
  speech: "minimax/speech-02-turbo",
} as const;

export type RunStub = DurableObjectStub<VideoRun>;

export interface Harness {
  videoId: string;
  stub: RunStub;
  double: ReplicateDouble;
  config: Config;
  /** What a queue consumer gets, with the provider bound to the double. */
  deps: StepDeps;
}

export function runOf(videoId: string): RunStub {
  return env.VIDEO_RUN.get(env.VIDEO_RUN.idFromName(videoId));
}

export interface RunOptions {
  request?: Partial<GenerateRequestInput>;
  config?: Partial<Config>;
  double?: ReplicateDouble;
  /** An existing video (e.g. created through POST /api/generate). */
  videoId?: string;
}

export async function newRun(options: RunOptions = {}): Promise<Harness> {
  const videoId = options.videoId ?? crypto.randomUUID();
  const stub = runOf(videoId);
  const double = options.double ?? new ReplicateDouble();
  // Run tests exercise chains of chunks inside a beat: 2 s chunks make several per beat.
  const overrides: Partial<Config> = { maxChunkFrames: 48, ...options.config };
  const config = { ...loadConfig(env), ...overrides };
  if (!options.videoId) {
    const request = GenerateRequest.parse({ prompt: "A reusable steel water bottle for trail runners", duration_s: 15, ...options.request });
    await stub.start({ video_id: videoId, tenant_id: "tenant-driver", request, cost_estimate: null });
  }
  await runInDurableObject(stub, (run: VideoRun) => {
    run.provider = double.client();
    Object.assign(run.config, overrides);
  });
  return { videoId, stub, double, config, deps: { ...stepDeps(env, config), provider: double.client() } };
}

export async function snapshot(h: Harness): Promise<Snapshot> {
  const snap = (await h.stub.snapshot()) as Snapshot | null;
  if (!snap) throw new Error(`run ${h.videoId} does not exist`);
  return snap;
}

export async function jobOf(h: Harness, id: string): Promise<Snapshot["jobs"][number]> {
  const job = (await snapshot(h)).jobs.find((j) => j.id === id);
  if (!job) throw new Error(`run ${h.videoId} has no job ${id}`);
  return job;
}

/**
 * A run created through `POST /api/generate` with the key's tenant (so D1 holds its row),
 * then driven like `newRun`'s.
 */
export async function submitRun(apiKey: string, prompt: string, options: Omit<RunOptions, "videoId" | "request"> = {}): Promise<Harness> {
  const response = await exports.default.fetch(
    new Request("http://adreel.test/api/generate", {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt, duration_s: 15 }),
    }),
  );
  if (response.status !== 200) throw new Error(`POST /api/generate answered ${response.status}: ${await response.text()}`);
  const { video_id } = (await response.json()) as { video_id: string };
  return newRun({ ...options, videoId: video_id });
}

/** Rows of the run's own SQLite (read-only use in assertions). */
export function rows<T = Record<string, unknown>>(h: Harness, query: string, ...params: unknown[]): Promise<T[]> {
  return runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec(query, ...params).toArray() as T[]);
}

/** Let `ms` pass for the run: every stored due time (poll, deadline, lease, creation, last progress) moves that far into the past. */
export async function elapse(h: Harness, ms: number): Promise<void> {
  await runInDurableObject(h.stub, (_run: VideoRun, state) => {
    state.storage.sql.exec(
      "UPDATE jobs SET poll_at = poll_at - ?1, deadline_at = deadline_at - ?1, lease_until = lease_until - ?1, creating_since = creating_since - ?1, not_before = not_before - ?1",
      ms,
    );
    state.storage.sql.exec("UPDATE run SET last_progress_at = last_progress_at - ?1", ms);
  });
}

export async function claim(h: Harness, jobId: string, step: JobStep): Promise<ClaimedJob> {
  const { attempt } = await jobOf(h, jobId);
  const claimed = (await h.stub.claim(jobId, attempt, step)) as ClaimedJob | null;
  if (!claimed) throw new Error(`${jobId} (attempt ${attempt}) cannot be claimed for ${step}: ${(await jobOf(h, jobId)).status}`);
  return claimed;
}

/** What the job's start step would ask the provider for. */
export function outcomeFor(h: Harness, claimed: ClaimedJob): { model: string; input: Record<string, unknown>; estimateUsd: number } {
  const { job, video } = claimed;
  if (job.kind === "chunk") {
    const chunk = job.input as ChunkPlan;
    return { model: MODELS.video, input: { prompt: chunk.prompt, image: "https://media.test/composite.png" }, estimateUsd: estimatePrediction(h.config, MODELS.video, chunk.frames / 24) };
  }
  if (job.kind === "music") return { model: MODELS.music, input: { prompt: "upbeat" }, estimateUsd: estimatePrediction(h.config, MODELS.music, video.spec!.duration_s) };
  if (job.kind === "voice") {
    const input = { text: spokenLines(video.spec!)[job.idx]!.text };
    return { model: MODELS.speech, input, estimateUsd: estimatePrediction(h.config, MODELS.speech, 0, input) };
  }
  return { model: MODELS.image, input: { prompt: `${job.kind} ${job.id}` }, estimateUsd: estimatePrediction(h.config, MODELS.image) };
}

/** Claim a queued prediction job and create its prediction through the consumer's own code. Returns the claim. */
export async function startJob(h: Harness, jobId: string): Promise<ClaimedJob> {
  const claimed = await claim(h, jobId, "start");
  await createPrediction(h.deps, claimed, outcomeFor(h, claimed));
  return claimed;
}

/** The prediction of the job's current attempt at the provider. */
export async function predictionOf(h: Harness, jobId: string): Promise<Prediction> {
  const { attempt } = await jobOf(h, jobId);
  const found = h.double.forJob(jobId, attempt);
  if (found.length !== 1) throw new Error(`${jobId} attempt ${attempt} has ${found.length} predictions at the provider`);
  return found[0]!;
}

export interface Delivery {
  deliveryId?: string;
  /** Seconds since the epoch in `webhook-timestamp`. */
  timestamp?: number;
  headers?: Record<string, string>;
  /** Send this body instead of the prediction's current state. */
  body?: string;
}

/** POST the prediction's current state to the webhook URL it was created with, signed like Replicate does. */
export async function deliverWebhook(h: Harness, predictionId: string, delivery: Delivery = {}): Promise<Response> {
  return exports.default.fetch(await webhookRequest(h, predictionId, delivery));
}

/** The provider's webhook request for the prediction as it stands, signed unless `delivery` says otherwise. */
export async function webhookRequest(h: Harness, predictionId: string, delivery: Delivery = {}): Promise<Request> {
  const prediction = h.double.view(predictionId);
  const body = delivery.body ?? JSON.stringify(prediction);
  const url = new URL(h.double.webhookOf(predictionId)!);
  const headers = delivery.headers ?? { ...(await signWebhook(h.config.webhookSecret, delivery.deliveryId ?? `msg_${crypto.randomUUID()}`, delivery.timestamp ?? Math.floor(Date.now() / 1000), body)) };
  return new Request(`http://adreel.test${url.pathname}${url.search}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
}

/** The provider finishes the job's prediction and says so by webhook. */
export async function succeed(h: Harness, jobId: string, predictTime = 2): Promise<Prediction> {
  const prediction = await predictionOf(h, jobId);
  h.double.finish(prediction.id, { status: "succeeded", predictTime });
  const response = await deliverWebhook(h, prediction.id);
  if (response.status !== 200) throw new Error(`webhook for ${jobId} answered ${response.status}: ${await response.text()}`);
  return h.double.view(prediction.id);
}

/** Seconds of speech of every voice line in these tests (media-node's audio/speech measures it). */
const SPEECH_S = 1;

/** What media-node would have stored for a finished job. */
export function outputFor(h: Harness, claimed: ClaimedJob): unknown {
  const { job } = claimed;
  switch (job.kind) {
    case "reference": {
      const index = job.idx;
      const type = (job.input as { type: "character" | "product" | "environment" }).type;
      const analysis = { character_description: "a runner in a red jacket", product_features: "brushed steel bottle", colors: ["#C0392B", "#7F8C8D"], style: "bright daylight", environment: "mountain trail" };
      return { index, key: mediaKeys.reference(h.videoId, index), type, source: "generated", analysis, palette: [{ hex: "#C0392B", share: 1, lab: [45, 60, 40] }] };
    }
    case "storyboard":
      return { key: mediaKeys.storyboard(h.videoId, job.beat!), beat: job.beat };
    case "chunk": {
      const chunk = job.input as ChunkPlan;
      return {
        key: mediaKeys.chunk(h.videoId, chunk.chunk_num),
        last_frame_key: mediaKeys.lastFrame(h.videoId, chunk.chunk_num),
        frames: chunk.frames,
        // What normalize gives: frame 0 and the seam cuts it was asked for.
        keyframes: [0, ...seamKeyframes(chunk)],
        palette: [],
        reference_drift: null,
      };
    }
    case "music":
      // A voiced ad's music is kept as it came, for the soundtrack mix.
      return spokenLines(claimed.video.spec!).length ? { source_key: mediaKeys.musicSource(h.videoId, "wav"), bytes: 1000 } : { key: mediaKeys.music(h.videoId) };
    case "voice": {
      const line = spokenLines(claimed.video.spec!)[job.idx]!;
      return { key: mediaKeys.voiceLine(h.videoId, job.idx, "mp3"), text: line.text, at_frame: line.start_frame, bytes: 100, speech_s: SPEECH_S, span: { sha256: "5e".repeat(32), start_sample: 0, samples: SPEECH_S * 48_000 } };
    }
    case "soundtrack": {
      // The mix places the lines as media-node does (lib/voice-cues.ts), from the speech each line's voice job measured.
      const spec = claimed.video.spec!;
      const placed = placeLines(spokenLines(spec).map((line) => ({ text: line.text, atFrame: line.start_frame, speechS: SPEECH_S })), spec.total_frames, spec.fps);
      if (!Array.isArray(placed)) throw new Error(`the test's voice lines do not fit: ${placed.error}`);
      return { key: mediaKeys.music(h.videoId), voice_key: mediaKeys.voice(h.videoId), captions_key: mediaKeys.captions(h.videoId), voiceover: { cues: buildCues(placed) } };
    }
    case "stitch":
      // A progressive assembly's parts (worker/run/assembly.ts), else the one-shot stitch.
      if (job.id === OVERLAYS_JOB) {
        const layers = copyLayers(claimed.video.spec!).map(({ layer, from_frame, to_frame }) => ({ key: mediaKeys.overlay(h.videoId, layer), from_frame, to_frame }));
        return { layers, logo: "wordmark", cta_box: null, mark_box: null };
      }
      if (job.id.startsWith(WINDOW_PREFIX)) return { key: mediaKeys.window(h.videoId, (job.input as WindowInput).window.from_frame) };
      // No media-node here: a measure that did not happen, as steps/assembly.ts reports one.
      if (job.id.startsWith(SEAMS_PREFIX)) return { measure: (job.input as SeamMeasureInput).measure, measured: null, error: "not measured: no media-node in this test" };
      return { key: mediaKeys.stitched(h.videoId), frames: claimed.video.spec!.total_frames };
    default: {
      // A progressive assembly also stores the windows it rendered itself.
      const render = (job.input as Partial<AssembleInput>).render ?? [];
      return { key: mediaKeys.final(h.videoId), rendered: render.map((w) => ({ from_frame: w.from_frame, key: mediaKeys.window(h.videoId, w.from_frame) })) };
    }
  }
}

/**
 * A chunk's ingest publishes its last frame (chunk k+1 may start); the rest of it is `normalizeChunk`.
 * With `handOff` the next chunk is claimed for this consumer when it may start now (answered).
 */
export async function publishFrame(h: Harness, jobId: string, options: { handOff?: boolean } = {}): Promise<ClaimedJob | null> {
  const claimed = await claim(h, jobId, "ingest");
  const chunk = claimed.job.input as ChunkPlan;
  const published: ChunkLastFrame = { last_frame_key: mediaKeys.lastFrame(h.videoId, chunk.chunk_num), raw_key: mediaKeys.rawChunk(h.videoId, chunk.chunk_num), palette: [] };
  return (await h.stub.publish(jobId, claimed.job.attempt, published, options.handOff ?? false)) as ClaimedJob | null;
}

/**
 * The normalize step as its consumer runs it. The run's last chunk waits for the decorations
 * (worker/run/decorations-wait.ts): its claim is refused and the run sends the step again once
 * they are known, which `driveToEnd` delivers (`parkedNormalize`). Answers whether it ran.
 */
export async function normalizeChunk(h: Harness, jobId: string): Promise<boolean> {
  const { attempt } = await jobOf(h, jobId);
  const claimed = (await h.stub.claim(jobId, attempt, "normalize")) as ClaimedJob | null;
  if (!claimed) {
    const job = await jobOf(h, jobId);
    if (job.status === "normalizing") return false;
    throw new Error(`${jobId} (attempt ${attempt}) cannot be claimed for normalize: ${job.status}`);
  }
  await h.stub.jobDone(jobId, claimed.job.attempt, outputFor(h, claimed));
  return true;
}

/**
 * A normalize step the run parked and would have sent again by now, as its queue delivers it:
 * each chunk still normalizing is claimed (the claim parks it again while the decorations are
 * unknown). Answers the chunk that ran, or null.
 */
export async function parkedNormalize(h: Harness, run: (h: Harness, jobId: string) => Promise<boolean> = normalizeChunk): Promise<string | null> {
  for (const job of (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status === "normalizing")) {
    if (await run(h, job.id)) return job.id;
  }
  return null;
}

/** Store a finished prediction's output as the consumer would: chunks in two steps, everything else in one. */
export async function ingest(h: Harness, jobId: string): Promise<void> {
  if ((await jobOf(h, jobId)).kind === "chunk") {
    await publishFrame(h, jobId);
    await normalizeChunk(h, jobId);
    return;
  }
  const claimed = await claim(h, jobId, "ingest");
  await h.stub.jobDone(jobId, claimed.job.attempt, outputFor(h, claimed));
}

/** One job from queued to done: its prediction (created, succeeded, reported) and its ingest; or its direct step. */
export async function runJob(h: Harness, jobId: string): Promise<void> {
  const kind = (await jobOf(h, jobId)).kind;
  if (kind === "plan") {
    const claimed = await claim(h, jobId, "start");
    await h.stub.jobDone(jobId, claimed.job.attempt, await planVideo({ ...h.config, planner: "local" }, claimed.video.request));
    return;
  }
  if (kind === "stitch" || kind === "mux" || kind === "soundtrack") {
    const claimed = await claim(h, jobId, "start");
    await h.stub.jobDone(jobId, claimed.job.attempt, outputFor(h, claimed));
    return;
  }
  await startJob(h, jobId);
  await succeed(h, jobId);
  await ingest(h, jobId);
}

/** Jobs queued right now, optionally of one kind. */
export async function queued(h: Harness, kind?: string): Promise<string[]> {
  return (await snapshot(h)).jobs.filter((j) => j.status === "queued" && (!kind || j.kind === kind)).map((j) => j.id);
}

/**
 * Plan, references, storyboards and voice lines done; the first chunk of every beat queued.
 * Music is left queued unless `music` (then the soundtrack is mixed too).
 */
/** `voice: false` leaves the voice lines queued: the captions not timed yet when the chunks land. */
export async function driveToChunks(h: Harness, options: { music?: boolean; voice?: boolean } = {}): Promise<void> {
  await runJob(h, "plan");
  // Jobs beyond the per-video prediction cap are sent in waves, as slots free.
  const waves = async (kind: string) => {
    for (let wave = 0; wave < 50; wave++) {
      const ids = await queued(h, kind);
      if (ids.length === 0) return;
      for (const id of ids) await runJob(h, id);
    }
  };
  await waves("reference");
  await waves("storyboard");
  // The voice lines go ahead of chunks (pipeline.ts chooseDispatch); the music too, when it is run.
  if (options.voice !== false) await waves("voice");
  if (options.music) {
    await waves("music");
    await waves("soundtrack");
  }
}

/** Run every queued job, one at a time, until the video ends; `afterStep` sees the run after each. */
export async function driveToEnd(
  h: Harness,
  options: { afterStep?: (snap: Snapshot) => void | Promise<void>; run?: (h: Harness, jobId: string) => Promise<void>; normalize?: (h: Harness, jobId: string) => Promise<boolean> } = {},
): Promise<Snapshot> {
  for (let round = 0; round < 200; round++) {
    const snap = await snapshot(h);
    await options.afterStep?.(snap);
    if (isEndStatus(snap.status)) return snap;
    const next = snap.jobs.find((j) => j.status === "queued");
    if (!next && (await parkedNormalize(h, options.normalize))) continue;
    if (!next) throw new Error(`run ${h.videoId} is stuck in ${snap.phase}: ${snap.jobs.map((j) => `${j.id}=${j.status}`).join(", ")}`);
    await (options.run ?? runJob)(h, next.id);
  }
  throw new Error(`run ${h.videoId} did not end in 200 rounds`);
}
