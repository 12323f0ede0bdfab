import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conditioning } from "../../contracts/api.ts";
import { type CompositeRequest, cueFrames, type LastFrameRequest, type NormalizeChunkRequest, type PaletteEntry, type PaletteTransferRequest, type ReframeRequest } from "../../contracts/media.ts";
import { MediaNodeStandIn } from "../../test/support/media-node-stand-in.ts";
import { claim, driveToEnd, jobOf, MODELS, newRun, rows, runJob, snapshot, succeed, type Harness } from "../../test/support/worker/run-driver.ts";
import type { ChunkLastFrame, ChunkOutput } from "../chunks/output.ts";
import { chunkDecorations, decorationsRevision, ownFrames } from "../chunks/decorations.ts";
import type { OverlaysOutput } from "./assembly.ts";
import type { SoundtrackOutput } from "./voice.ts";
import { chunkFramesUnder } from "../../lib/stitch-plan.ts";
import { type ChunkPlan } from "../chunks/plan.ts";
import { beatEndView } from "../chunks/conditioning.ts";
import { reanchorStrength, referenceDrift } from "../chunks/drift.ts";
import { loadConfig } from "../config.ts";
import { mediaKeys } from "../media/keys.ts";
import { mediaNode } from "../media/media-node.ts";
import { createPrediction } from "../queue/consumer.ts";
import { chunkSteps } from "./chunk.ts";
import type { ClaimedJob } from "./step.ts";

/**
 * The chunk step's conditioning on a whole run: every chunk's start step runs for real (its
 * media-node calls go to the stand-in, which checks them against media-node's contract), its
 * prediction goes to the in-memory Replicate, and the run goes on to its end. Wan 2.2, the
 * default real video model, takes an end frame (`last_image`).
 */

const models = { models: { image: MODELS.image, imageFallbacks: [], video: MODELS.video, music: MODELS.music } };

interface Started {
  chunk: ChunkPlan;
  input: Record<string, unknown>;
  media: { path: string; body: unknown }[];
}

/** The R2 key a signed media URL points at. */
function keyOf(url: unknown): string {
  const path = new URL(String(url)).pathname;
  expect(path.startsWith("/media/")).toBe(true);
  return decodeURIComponent(path.slice("/media/".length));
}

/** What each chunk's last frame is made of when published; by default nothing measurable (no drift is judged). */
type LastFramePalette = (chunk: ChunkPlan) => PaletteEntry[];

async function runWith(conditioning: Conditioning | undefined, config = {}, lastFrame: LastFramePalette = () => []): Promise<{ h: Harness; started: Started[]; standIn: MediaNodeStandIn; passedInIngest: string[] }> {
  // 2 s chunks, so beats split into several (with the video model's native 5 s chunks a beat is usually one).
  const h = await newRun({ request: { prompt: "A steel water bottle for trail runners at dawn", duration_s: 30, ...(conditioning ? { conditioning } : {}) }, config: { ...models, maxChunkFrames: 48, ...config } });
  const standIn = new MediaNodeStandIn(h.config.mediaNodeSecret);
  const deps = { ...h.deps, media: mediaNode("http://media-node.test", h.config.mediaNodeSecret, async (input, init) => standIn.handle(new Request(input, init))) };
  // A pass that writes the chunk's last frame answers its palette as the test makes it up (the stand-in has no pictures).
  const framing = (chunk: ChunkPlan) => ({
    ...deps,
    media: mediaNode("http://media-node.test", h.config.mediaNodeSecret, async (input, init) => {
      const request = new Request(input, init);
      const response = await standIn.handle(request);
      if (!response.ok || !request.url.endsWith("/chunks/normalize")) return response;
      return Response.json({ ...((await response.json()) as object), palette: lastFrame(chunk) });
    }),
  });
  const started: Started[] = [];
  const passedInIngest: string[] = [];
  // The normalize pass for real; the run's last chunk may be parked until the decorations are known (run/decorations-wait.ts).
  const normalize = async (harness: Harness, jobId: string): Promise<boolean> => {
    const { attempt } = await jobOf(harness, jobId);
    const normalizing = (await harness.stub.claim(jobId, attempt, "normalize")) as ClaimedJob | null;
    if (!normalizing) return false;
    const normalized = await chunkSteps.normalize!(deps, normalizing);
    if (normalized.kind !== "done") throw new Error(`chunk normalize answered ${normalized.kind}`);
    await harness.stub.jobDone(jobId, normalizing.job.attempt, normalized.output);
    return true;
  };
  await driveToEnd(h, {
    normalize,
    run: async (harness, jobId) => {
      const job = (await snapshot(harness)).jobs.find((j) => j.id === jobId)!;
      if (job.kind !== "chunk") return runJob(harness, jobId);
      const claimed = await claim(harness, jobId, "start");
      const seen = standIn.requests.length;
      const outcome = await chunkSteps.start(deps, claimed);
      if (outcome.kind !== "predict") throw new Error(`chunk start answered ${outcome.kind}`);
      started.push({ chunk: claimed.job.input as ChunkPlan, input: outcome.input, media: standIn.requests.slice(seen) });
      await createPrediction(harness.deps, claimed, outcome);
      await succeed(harness, jobId);
      // The ingest publishes the last frame (with its palette as media-node would measure it in
      // the frame the test makes up: the stand-in has no pictures), then the normalize pass finishes the job.
      const ingesting = await claim(harness, jobId, "ingest");
      const chunk = ingesting.job.input as ChunkPlan;
      const ingested = await chunkSteps.ingest!(framing(chunk), ingesting);
      if (ingested.kind === "done") {
        // The chunk the phase ends with: its ingest ran the normalize pass itself (run/consumer-protocol.ts passInIngest).
        expect(ingesting.endsPhase && chunk.last_in_beat, `chunk ${chunk.chunk_num} done from its ingest`).toBe(true);
        passedInIngest.push(jobId);
        await harness.stub.jobDone(jobId, ingesting.job.attempt, ingested.output);
        return;
      }
      if (ingested.kind !== "publish") throw new Error(`chunk ingest answered ${ingested.kind}`);
      expect(ingested.output).toEqual({ last_frame_key: mediaKeys.lastFrame(harness.videoId, chunk.chunk_num), raw_key: mediaKeys.rawChunk(harness.videoId, chunk.chunk_num), palette: [] });
      await harness.stub.publish(jobId, ingesting.job.attempt, { ...(ingested.output as ChunkLastFrame), palette: lastFrame(chunk) });
      await normalize(harness, jobId);
    },
  });
  return { h, started: started.sort((a, b) => a.chunk.chunk_num - b.chunk.chunk_num), standIn, passedInIngest };
}

describe("chunk conditioning on a run", () => {
  it("continuity (the default): the storyboard frame or the previous chunk's exact last frame, and an end frame where the beat's camera arrives inside the storyboard", async () => {
    const { h, started } = await runWith(undefined);
    expect((await snapshot(h)).status).toBe("complete");
    const fps = (await snapshot(h)).spec!.fps;
    for (const { chunk, input, media } of started) {
      const start = chunk.first_in_beat ? mediaKeys.storyboard(h.videoId, chunk.beat_index) : mediaKeys.lastFrame(h.videoId, chunk.chunk_num - 1);
      // The stored PNG itself, as the model's start image: no composite was made.
      expect(keyOf(input.image), `chunk ${chunk.chunk_num}`).toBe(start);
      expect(media.some((m) => m.path === "/v1/media/images/composite")).toBe(false);
      const view = beatEndView(chunk, fps);
      if (!view) {
        expect(input.last_image, `chunk ${chunk.chunk_num}`).toBeUndefined();
        expect(media).toEqual([]);
        continue;
      }
      expect(keyOf(input.last_image)).toBe(mediaKeys.endFrame(h.videoId, chunk.chunk_num));
      const [reframe] = media as { path: string; body: ReframeRequest }[];
      expect(reframe!.path).toBe("/v1/media/images/reframe");
      expect(keyOf(reframe!.body.source_url)).toBe(mediaKeys.storyboard(h.videoId, chunk.beat_index));
      expect(reframe!.body).toMatchObject({ zoom: view.zoom, dx: view.dx, dy: view.dy });
      expect(keyOf(reframe!.body.output_url)).toBe(mediaKeys.endFrame(h.videoId, chunk.chunk_num));
    }
    // This plan (2 s chunks) has beats of several chunks, whose later chunks chain; the last
    // chunk of each that pushes in ends on an end frame, and no other chunk does.
    expect(started.filter((s) => !s.chunk.first_in_beat).length).toBeGreaterThan(5);
    const ends = started.filter((s) => s.input.last_image).map((s) => s.chunk);
    expect(ends.length).toBeGreaterThan(0);
    expect(ends.every((c) => c.camera === "push_in" && c.last_in_beat && c.chunks_in_beat > 1)).toBe(true);
  });

  it("composite (seed 003): every start image is the configured blend, storyboard + style for a beat's first chunk, previous last frame + storyboard after", async () => {
    const weights = { storyboard: 0.6, style: 0.4, previousFrame: 0.75, storyboardAfterFirst: 0.25 };
    const { h, started } = await runWith("composite", { weights });
    const end = await snapshot(h);
    expect(end.status).toBe("complete");
    const style = end.jobs.filter((j) => j.kind === "reference").map((j) => end.outputs[j.id] as { key: string; type: string }).find((r) => r.type === "environment")!;
    expect(started).toHaveLength(end.chunk_plan!.length);
    for (const { chunk, input, media } of started) {
      expect(media).toHaveLength(1);
      const composite = media[0]!.body as CompositeRequest;
      expect(media[0]!.path).toBe("/v1/media/images/composite");
      const layers = composite.layers.map((l) => [keyOf(l.url), l.weight]);
      expect(layers, `chunk ${chunk.chunk_num}`).toEqual(
        chunk.first_in_beat
          ? [[mediaKeys.storyboard(h.videoId, chunk.beat_index), 0.6], [style.key, 0.4]]
          : [[mediaKeys.lastFrame(h.videoId, chunk.chunk_num - 1), 0.75], [mediaKeys.storyboard(h.videoId, chunk.beat_index), 0.25]],
      );
      expect(keyOf(composite.output_url)).toBe(mediaKeys.composite(h.videoId, chunk.chunk_num));
      expect(keyOf(input.image)).toBe(mediaKeys.composite(h.videoId, chunk.chunk_num));
      expect(input.last_image).toBeUndefined();
    }
  });

  it("drift correction: the chunk after one whose last frame drifted past the threshold starts from that frame recoloured toward the storyboard (or ends on its end frame), told in the event log", async () => {
    // Every chunk of an even number ends in saturated blue; the references (run-driver outputFor) are a red.
    const blue: PaletteEntry[] = [{ hex: "#1030E0", share: 1, lab: [32, 60, -100] }];
    const red: PaletteEntry[] = [{ hex: "#C0392B", share: 1, lab: [45, 60, 40] }];
    const drifts = (chunk: ChunkPlan) => chunk.chunk_num % 2 === 0;
    const { h, started } = await runWith(undefined, {}, (chunk) => (drifts(chunk) ? blue : red));
    const end = await snapshot(h);
    expect(end.status).toBe("complete");
    const threshold = h.config.consistencyDriftThreshold;
    const drift = referenceDrift(blue, [{ palette: red }])!;
    expect(drift).toBeGreaterThan(threshold);
    expect(referenceDrift(red, [{ palette: red }])).toBe(0);
    const events = (await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'drift_correction' ORDER BY seq")).map((r) => JSON.parse(r.data) as Record<string, unknown>);
    const expected: Record<string, unknown>[] = [];
    let reanchored = 0;
    for (const { chunk, input, media } of started) {
      const previous = started.find((s) => s.chunk.chunk_num === chunk.chunk_num - 1)?.chunk;
      const corrected = !chunk.first_in_beat && drifts(previous!);
      const output = end.outputs[`chunk:${String(chunk.chunk_num).padStart(3, "0")}`] as ChunkOutput;
      // The normalize pass measured the same drift the run decided on.
      expect(output.reference_drift, `chunk ${chunk.chunk_num}`).toBe(drifts(chunk) ? drift : 0);
      const transfers = media.filter((m) => m.path === "/v1/media/images/palette-transfer") as { path: string; body: PaletteTransferRequest }[];
      if (!corrected || beatEndView(chunk, end.spec!.fps)) {
        // Nothing drifted, or the chunk's end frame brings the shot back: it starts from the exact last frame.
        expect(transfers, `chunk ${chunk.chunk_num}`).toEqual([]);
        expect(keyOf(input.image)).toBe(chunk.first_in_beat ? mediaKeys.storyboard(h.videoId, chunk.beat_index) : mediaKeys.lastFrame(h.videoId, chunk.chunk_num - 1));
        expect(output.reanchored_key).toBeUndefined();
        if (corrected) expected.push({ job_id: `chunk:${String(chunk.chunk_num).padStart(3, "0")}`, chunk_num: chunk.chunk_num - 1, next_chunk_num: chunk.chunk_num, drift, threshold, action: "end_frame" });
        continue;
      }
      reanchored++;
      const strength = reanchorStrength(drift, threshold);
      expect(transfers, `chunk ${chunk.chunk_num}`).toHaveLength(1);
      const transfer = transfers[0]!.body;
      expect(keyOf(transfer.source_url)).toBe(mediaKeys.lastFrame(h.videoId, chunk.chunk_num - 1));
      expect(keyOf(transfer.target_url)).toBe(mediaKeys.storyboard(h.videoId, chunk.beat_index));
      expect(transfer.strength).toBe(strength);
      expect(keyOf(transfer.output_url)).toBe(mediaKeys.reanchored(h.videoId, chunk.chunk_num));
      expect(keyOf(input.image)).toBe(mediaKeys.reanchored(h.videoId, chunk.chunk_num));
      expect(output.reanchored_key).toBe(mediaKeys.reanchored(h.videoId, chunk.chunk_num));
      expected.push({ job_id: `chunk:${String(chunk.chunk_num).padStart(3, "0")}`, chunk_num: chunk.chunk_num - 1, next_chunk_num: chunk.chunk_num, drift, threshold, action: "reanchor", strength });
    }
    expect(reanchored).toBeGreaterThan(0);
    expect(expected.some((e) => e.action === "end_frame")).toBe(true);
    // Told once per correction, when the drifting chunk published its frame (beats run side by side, so in no fixed order).
    expect(events.sort((a, b) => Number(a.next_chunk_num) - Number(b.next_chunk_num))).toEqual(expected);
  });

  it("the normalize pass draws the decorations known by then on the chunk's own frames only, and the chunk records what it drew", async () => {
    const { h, standIn, passedInIngest } = await runWith(undefined);
    const snap = await snapshot(h);
    expect(snap.status).toBe("complete");
    const fps = snap.spec!.fps;
    const stored = await rows<{ id: string; kind: string; idx: number; input: string; output: string }>(h, "SELECT id, kind, idx, input, output FROM jobs WHERE kind = 'chunk' OR id IN ('overlays', 'soundtrack')");
    const overlays = JSON.parse(stored.find((j) => j.id === "overlays")!.output) as OverlaysOutput;
    const mix = stored.find((j) => j.id === "soundtrack");
    const cues = snap.spec!.copy.captions === "burned" && mix ? ((JSON.parse(mix.output) as SoundtrackOutput).voiceover?.cues ?? []) : [];
    const normalized = standIn.requests.filter((r) => r.path === "/v1/media/chunks/normalize").map((r) => r.body as NormalizeChunkRequest);
    const chunks = stored.filter((j) => j.kind === "chunk");
    let drawing = 0;
    for (const job of chunks) {
      const plan = JSON.parse(job.input) as ChunkPlan;
      const output = JSON.parse(job.output) as ChunkOutput;
      const request = normalized.find((r) => keyOf(r.output_url) === output.key)!;
      const own = ownFrames(plan);
      const drawn = chunkDecorations({ overlays: overlays.layers, cues }, plan, fps);
      if (!request.decorations) {
        expect(drawn, `chunk ${plan.chunk_num}`).toBeNull();
        continue;
      }
      drawing++;
      expect(request.decorations.output_from_frame).toBe(plan.video_start_frame);
      expect(request.decorations.overlays.map((o) => ({ key: keyOf(o.url), from_frame: o.from_frame, to_frame: o.to_frame }))).toEqual(drawn!.overlays);
      expect(request.decorations.captions?.cues ?? []).toEqual(drawn!.cues);
      const ranges = [...drawn!.overlays.map((o) => ({ from: o.from_frame, to: o.to_frame })), ...drawn!.cues.map((c) => cueFrames(c, fps))];
      expect(ranges.every((r) => r.from >= own.from && r.to <= own.to)).toBe(true);
      expect(output.decorated).toEqual({ frames: chunkFramesUnder(ranges, plan.video_start_frame, plan.frames), revision: decorationsRevision(drawn!, fps) });
    }
    // This driver takes each chunk from its start to its normalize before the next one starts:
    // only the last one's pass is claimed with no chunk generating, the phase's end waiting on it.
    expect(normalized.map((r) => r.ends_chunk_phase === true)).toEqual(normalized.map((_, i) => i === normalized.length - 1));
    // The overlays are rendered long before the chunks: the end card is drawn in the last chunk's pass.
    expect(drawing).toBeGreaterThan(0);
    // A draft's passes are encoded at DRAFT_CHUNK_PRESET (superfast by default).
    expect(new Set(normalized.map((r) => r.preset))).toEqual(new Set(["superfast"]));
    // Only a frame the next chunk of its beat is created from is extracted as critical work.
    const lastFrames = standIn.requests.filter((r) => r.path === "/v1/media/chunks/last-frame").map((r) => r.body as LastFrameRequest);
    // The driver takes chunks one at a time: the last is the phase's end, a beat's last chunk, and
    // the decorations are known by then, so its ingest normalized it, the frame written in that pass
    // from the provider's clip (no raw copy read back), and no last frame was extracted for it.
    const last = chunks.find((j) => j.idx === Math.max(...chunks.map((c) => c.idx)))!;
    expect(passedInIngest).toEqual([last.id]);
    const lastPass = normalized.at(-1)!;
    expect(keyOf(lastPass.output_url)).toBe(mediaKeys.chunk(h.videoId, last.idx));
    expect(keyOf(lastPass.last_frame_url)).toBe(mediaKeys.lastFrame(h.videoId, last.idx));
    expect(lastPass.input_url).not.toContain(mediaKeys.rawChunk(h.videoId, last.idx));
    for (const job of chunks.filter((j) => j.id !== last.id)) {
      const plan = JSON.parse(job.input) as ChunkPlan;
      const request = lastFrames.find((r) => keyOf(r.last_frame_url) === mediaKeys.lastFrame(h.videoId, plan.chunk_num));
      expect(request?.chained, `chunk ${plan.chunk_num}`).toBe(!plan.last_in_beat);
      // Ranked by the chunks still to be created from it, one after another.
      expect(request?.chain_after, `chunk ${plan.chunk_num}`).toBe(plan.chunks_in_beat - plan.index_in_beat - 1);
    }
    expect(new Set(lastFrames.map((r) => r.chain_after)).size).toBeGreaterThan(1);
    expect(chunks.some((j) => (JSON.parse(j.input) as ChunkPlan).last_in_beat && !(JSON.parse(j.input) as ChunkPlan).first_in_beat)).toBe(true);
    expect(lastFrames.some((r) => keyOf(r.last_frame_url) === mediaKeys.lastFrame(h.videoId, last.idx))).toBe(false);
    expect(JSON.parse(last.output) as ChunkOutput).toMatchObject({ key: mediaKeys.chunk(h.videoId, last.idx), last_frame_key: mediaKeys.lastFrame(h.videoId, last.idx) });
    expect((JSON.parse(last.output) as ChunkOutput).decorated).toBeDefined();
  });

  it("DRAFT_CHUNK_PRESET picks a draft's x264 preset among those that splice; an unknown value falls back to superfast", () => {
    expect(loadConfig(env).draftChunkPreset).toBe("superfast");
    expect(loadConfig({ ...env, DRAFT_CHUNK_PRESET: "veryfast" } as Env).draftChunkPreset).toBe("veryfast");
    expect(loadConfig({ ...env, DRAFT_CHUNK_PRESET: "ultrafast" } as Env).draftChunkPreset).toBe("superfast");
  });

  it("CONDITIONING sets the deployment's default (a request's `conditioning` overrides it, as above); an unknown value falls back to continuity", () => {
    expect(loadConfig(env).conditioning).toBe("continuity");
    expect(loadConfig({ ...env, CONDITIONING: "composite" } as Env).conditioning).toBe("composite");
    // An unknown setting falls back to the default rather than stopping every video.
    expect(loadConfig({ ...env, CONDITIONING: "blend" } as Env).conditioning).toBe("continuity");
  });
});
