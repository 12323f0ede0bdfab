import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Prediction } from "../contracts/prediction.ts";
import { ffprobe } from "../media-node/ffmpeg.ts";
import { DRAFT_DEFAULTS, pickKnobs } from "./options.ts";
import { type DraftTestServer, startDraftServer, startWebhookReceiver, TEST_TOKEN } from "../test/support/draft-server.ts";

// The Replicate wire format, spoken over real HTTP to a real media-node.

const IMAGE = { prompt: "a red perfume bottle, golden light", width: 160, height: 90 };
const TINY = { prompt: "abstract", width: 16, height: 16 };

interface Problem {
  title: string;
  detail: string;
  status: number;
  invalid_fields?: { type: string; field: string; description: string }[];
}

let server: DraftTestServer;
let scratch: string;

beforeAll(async () => {
  server = await startDraftServer();
  scratch = await mkdtemp(join(tmpdir(), "draft-api-test-"));
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  await server.api("/v1/_draft/config", { body: pickKnobs(DRAFT_DEFAULTS) });
});

async function download(url: string, name: string): Promise<{ path: string; contentType: string | null; bytes: Buffer }> {
  const response = await fetch(url); // no token: outputs are public like replicate.delivery
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  const path = join(scratch, name);
  await writeFile(path, bytes);
  return { path, contentType: response.headers.get("content-type"), bytes };
}

async function waitForStatus(id: string, status: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await server.api(`/v1/predictions/${id}`)).body.status !== status) {
    if (Date.now() > deadline) throw new Error(`${id} never reached ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

describe("authentication", () => {
  test("every /v1 route but files answers 401 problem JSON without a valid bearer token", async () => {
    const routes: [string, string][] = [
      ["GET", "/v1/predictions"],
      ["POST", "/v1/predictions"],
      ["GET", "/v1/predictions/abc"],
      ["POST", "/v1/predictions/abc/cancel"],
      ["POST", "/v1/models/adreel/draft-image/predictions"],
      ["GET", "/v1/models/adreel/draft-image"],
      ["GET", "/v1/webhooks/default/secret"],
      ["GET", "/v1/_draft/config"],
      ["POST", "/v1/_draft/config"],
    ];
    for (const [method, path] of routes) {
      for (const token of [null, "wrong-token"]) {
        const answer = await server.api<Problem>(path, { method, token, body: method === "POST" ? { input: IMAGE } : undefined });
        expect(answer.status, `${method} ${path} with ${token}`).toBe(401);
        expect(answer.body).toMatchObject({ title: "Unauthenticated", status: 401 });
        expect(answer.body.detail).toBeTruthy();
      }
    }
    // Replicate's older `Token` scheme is accepted too.
    expect((await server.api("/v1/predictions", { token: null, headers: { authorization: `Token ${TEST_TOKEN}` } })).status).toBe(200);
  });
});

describe("creating and rendering", () => {
  test("both create routes answer 201 with a starting prediction that renders to a downloadable image", async () => {
    const viaVersion = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: IMAGE } });
    const viaModel = await server.api("/v1/models/adreel/draft-image/predictions", { body: { input: IMAGE } });
    for (const answer of [viaVersion, viaModel]) {
      expect(answer.status).toBe(201);
      const prediction = Prediction.parse(answer.body);
      expect(prediction).toMatchObject({ model: "adreel/draft-image", status: "starting", output: null, error: null, data_removed: false, input: IMAGE });
      expect(prediction.version).toMatch(/^[0-9a-f]{64}$/);
      expect(prediction.id).toMatch(/^[a-z2-7]{26}$/);
      expect(prediction.urls).toEqual({ get: `${server.base}/v1/predictions/${prediction.id}`, cancel: `${server.base}/v1/predictions/${prediction.id}/cancel`, web: `${server.base}/v1/predictions/${prediction.id}` });
      expect(Date.parse(prediction.created_at!)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(viaVersion.body.id).not.toBe(viaModel.body.id);

    const outputs: Buffer[] = [];
    for (const answer of [viaVersion, viaModel]) {
      const done = await server.settle(answer.body.id);
      expect(done.status).toBe("succeeded");
      expect(done.error).toBeNull();
      expect(done.logs).toContain("draft-image: 160x90");
      expect(done.metrics?.predict_time).toBeGreaterThan(0);
      expect(done.metrics!.total_time!).toBeGreaterThanOrEqual(done.metrics!.predict_time!);
      expect(Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(Date.parse(done.started_at!));
      expect(done.output).toMatch(new RegExp(`^${server.base}/v1/files/[0-9a-f]{32}\\.png$`));
      const file = await download(done.output as string, `${done.id}.png`);
      expect(file.contentType).toBe("image/png");
      expect(await sharp(file.bytes).metadata()).toMatchObject({ width: 160, height: 90, format: "png" });
      outputs.push(file.bytes);
    }
    // Same input, same picture: drafts are deterministic.
    expect(outputs[0]!.equals(outputs[1]!)).toBe(true);
  });

  test("a version may be pinned as owner/name:id or given bare; unknown ones are refused", async () => {
    const model = await server.api<{ latest_version: { id: string } }>("/v1/models/adreel/draft-image");
    expect(model.status).toBe(200);
    const version = model.body.latest_version.id;
    expect((await server.api("/v1/predictions", { body: { version: `adreel/draft-image:${version}`, input: TINY } })).status).toBe(201);
    const bare = await server.api("/v1/predictions", { body: { version, input: TINY } });
    expect(bare.status).toBe(201);
    expect(bare.body.model).toBe("adreel/draft-image");

    const wrongVersion = await server.api<Problem>("/v1/predictions", { body: { version: `adreel/draft-image:${"0".repeat(64)}`, input: TINY } });
    expect(wrongVersion.status).toBe(422);
    const unknownBare = await server.api<Problem>("/v1/predictions", { body: { version: "f".repeat(64), input: TINY } });
    expect(unknownBare.status).toBe(422);
    for (const answer of [
      await server.api<Problem>("/v1/predictions", { body: { version: "adreel/draft-nothing", input: TINY } }),
      await server.api<Problem>("/v1/models/someone/else/predictions", { body: { input: TINY } }),
      await server.api<Problem>("/v1/models/someone/else"),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ title: "Not found", status: 404 });
    }
    expect((await server.api<Problem>("/v1/predictions/doesnotexist")).status).toBe(404);
  });

  test("input failing the model's schema is a 422 naming the fields", async () => {
    const missingPrompt = await server.api<Problem>("/v1/models/adreel/draft-image/predictions", { body: { input: { width: 64 } } });
    expect(missingPrompt.status).toBe(422);
    expect(missingPrompt.body.title).toBe("Input validation failed");
    expect(missingPrompt.body.invalid_fields!.map((f) => f.field)).toContain("input.prompt");
    expect(missingPrompt.body.detail).toContain("input.prompt");

    const oddVideo = await server.api<Problem>("/v1/models/adreel/draft-video/predictions", {
      body: { input: { prompt: "x", start_image: "http://127.0.0.1:9/a.png", num_frames: 4, width: 161, height: 90, camera: "dolly_zoom" } },
    });
    expect(oddVideo.status).toBe(422);
    expect(oddVideo.body.invalid_fields!.map((f) => f.field).sort()).toEqual(expect.arrayContaining(["input.camera"]));
    const oddOnly = await server.api<Problem>("/v1/models/adreel/draft-video/predictions", {
      body: { input: { prompt: "x", start_image: "http://127.0.0.1:9/a.png", num_frames: 4, width: 161, height: 90 } },
    });
    expect(oddOnly.body.invalid_fields!.map((f) => f.field)).toEqual(["input.width"]);

    const noInput = await server.api<Problem>("/v1/predictions", { body: { version: "adreel/draft-image" } });
    expect(noInput.status).toBe(422);
    expect(noInput.body.invalid_fields!.map((f) => f.field)).toContain("input");
    const badWebhook = await server.api<Problem>("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY, webhook: "not a url" } });
    expect(badWebhook.status).toBe(422);
  });

  test("Prefer: wait answers with the finished prediction; a video chains on the image output", async () => {
    const image = await server.api("/v1/models/adreel/draft-image/predictions", { body: { input: IMAGE }, headers: { prefer: "wait" } });
    expect(image.status).toBe(201);
    expect(image.body.status).toBe("succeeded");

    const video = await server.api("/v1/models/adreel/draft-video/predictions", {
      body: { input: { prompt: "slow push", start_image: image.body.output, num_frames: 12, fps: 12, width: 160, height: 90, camera: "push_in" } },
      headers: { prefer: "wait=30" },
    });
    expect(video.status).toBe(201);
    expect(video.body.status).toBe("succeeded");
    expect(video.body.logs).toContain("camera push_in");
    const file = await download(video.body.output as string, "chunk.mp4");
    expect(file.contentType).toBe("video/mp4");
    const probe = await ffprobe(file.path, true);
    const stream = probe.streams.find((s) => s.codec_type === "video")!;
    expect(stream).toMatchObject({ codec_name: "h264", width: 160, height: 90, pix_fmt: "yuv420p", r_frame_rate: "12/1", nb_read_frames: "12" });
  });

  test("music renders a WAV (or MP3) of the requested length", async () => {
    const wav = await server.api("/v1/models/adreel/draft-music/predictions", { body: { input: { prompt: "uplifting 120 bpm", duration: 3 } }, headers: { prefer: "wait" } });
    expect(wav.body.status).toBe("succeeded");
    expect(wav.body.logs).toContain("120 bpm, major");
    const file = await download(wav.body.output as string, "music.wav");
    expect(file.contentType).toBe("audio/wav");
    const probe = await ffprobe(file.path);
    expect(probe.streams[0]).toMatchObject({ codec_name: "pcm_s16le", sample_rate: "44100", channels: 2 });
    expect(Number(probe.format.duration)).toBeCloseTo(3, 2);

    const mp3 = await server.api("/v1/models/adreel/draft-music/predictions", { body: { input: { prompt: "moody", duration: 2, output_format: "mp3" } }, headers: { prefer: "wait" } });
    expect(mp3.body.status).toBe("succeeded");
    const mp3File = await download(mp3.body.output as string, "music.mp3");
    expect(mp3File.contentType).toBe("audio/mpeg");
    const mp3Probe = await ffprobe(mp3File.path);
    expect(mp3Probe.streams[0]).toMatchObject({ codec_name: "mp3", channels: 2 });
    expect(Number(mp3Probe.format.duration)).toBeGreaterThan(1.9);
  });

  test("an input URL that cannot be fetched fails the prediction with the reason", async () => {
    const answer = await server.api("/v1/models/adreel/draft-image/predictions", {
      body: { input: { ...TINY, image_input: [`${server.base}/v1/files/${"0".repeat(32)}.png`] } },
      headers: { prefer: "wait" },
    });
    expect(answer.body.status).toBe("failed");
    expect(answer.body.error).toContain("answered 404");
  });
});

describe("lifecycle", () => {
  test("cancel ends running and queued predictions; finished ones come back unchanged", async () => {
    await server.api("/v1/_draft/config", { body: { latencyMs: 10_000, concurrency: 1 } });
    const running = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    const queued = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    await waitForStatus(running.body.id, "processing");
    expect((await server.api(`/v1/predictions/${queued.body.id}`)).body.status).toBe("starting");

    // As the Worker's client sends it: JSON content type, empty body.
    const cancelQueued = await fetch(running.body.urls!.cancel!.replace(running.body.id, queued.body.id), {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
    });
    expect(cancelQueued.status).toBe(200);
    expect(await cancelQueued.json()).toMatchObject({ id: queued.body.id, status: "canceled" });
    const cancelRunning = await server.api(`/v1/predictions/${running.body.id}/cancel`, { method: "POST" });
    expect(cancelRunning.body).toMatchObject({ status: "canceled", output: null });
    expect(cancelRunning.body.completed_at).toBeTruthy();
    expect((await server.api(`/v1/predictions/${running.body.id}`)).body.status).toBe("canceled");

    await server.api("/v1/_draft/config", { body: { latencyMs: 0 } });
    const done = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY }, headers: { prefer: "wait" } });
    expect(done.body.status).toBe("succeeded");
    const again = await server.api(`/v1/predictions/${done.body.id}/cancel`, { method: "POST" });
    expect(again.body).toMatchObject({ status: "succeeded", output: done.body.output });
    expect((await server.api(`/v1/predictions/nope/cancel`, { method: "POST" })).status).toBe(404);
  });

  test("the render queue holds predictions in starting beyond `concurrency`", async () => {
    await server.api("/v1/_draft/config", { body: { latencyMs: 600, concurrency: 1 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } })).body.id);
    await waitForStatus(ids[0]!, "processing");
    const statuses = await Promise.all(ids.map(async (id) => (await server.api(`/v1/predictions/${id}`)).body.status));
    expect(statuses).toEqual(["processing", "starting", "starting"]);
    const done = await Promise.all(ids.map((id) => server.settle(id)));
    expect(done.map((p) => p.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    for (let i = 1; i < done.length; i++) expect(Date.parse(done[i]!.started_at!)).toBeGreaterThanOrEqual(Date.parse(done[i - 1]!.completed_at!));
  });

  test("latencyMs is spent processing; predict_time measures only the render", async () => {
    await server.api("/v1/_draft/config", { body: { latencyMs: 500 } });
    const created = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    await waitForStatus(created.body.id, "processing");
    const done = await server.settle(created.body.id);
    expect(done.status).toBe("succeeded");
    expect(Date.parse(done.completed_at!) - Date.parse(done.started_at!)).toBeGreaterThanOrEqual(500);
    expect(done.metrics!.total_time!).toBeGreaterThanOrEqual(0.5);
    expect(done.metrics!.predict_time!).toBeLessThan(0.5);
  });

  test("the render runs within the latency: a prediction takes max(latency, render), not their sum", async () => {
    await server.api("/v1/_draft/config", { body: { latencyMs: 800 } });
    const created = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: { prompt: "a red bottle on a rooftop", width: 1024, height: 576 } } });
    const done = await server.settle(created.body.id);
    expect(done.status).toBe("succeeded");
    const processing = (Date.parse(done.completed_at!) - Date.parse(done.started_at!)) / 1000;
    expect(processing).toBeGreaterThanOrEqual(0.8);
    expect(processing).toBeLessThan(0.8 + done.metrics!.predict_time!);
  });

  test("Prefer: wait=N gives up after N seconds with the current state", async () => {
    await server.api("/v1/_draft/config", { body: { latencyMs: 3000 } });
    const started = Date.now();
    const answer = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY }, headers: { prefer: "wait=1" } });
    const waited = Date.now() - started;
    expect(answer.status).toBe(201);
    expect(answer.body.status).toBe("processing");
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(2500);
    await server.api(`/v1/predictions/${answer.body.id}/cancel`, { method: "POST" });
  });

  test("outputs expire after the TTL: the file is swept and the prediction reports data_removed", async () => {
    const outputDir = await mkdtemp(join(tmpdir(), "draft-outputs-"));
    const short = await startDraftServer({ outputDir, outputTtlMs: 1000, sweepIntervalMs: 100 });
    try {
      const done = await short.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY }, headers: { prefer: "wait" } });
      expect(done.body.status).toBe("succeeded");
      expect(await readdir(outputDir)).toEqual([(done.body.output as string).split("/").pop()]);
      expect((await fetch(done.body.output as string)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1400));
      expect((await fetch(done.body.output as string)).status).toBe(404);
      expect(await readdir(outputDir)).toEqual([]);
      expect((await short.api(`/v1/predictions/${done.body.id}`)).body).toMatchObject({ status: "succeeded", output: null, data_removed: true });
    } finally {
      await short.close();
      await rm(outputDir, { recursive: true, force: true });
    }
  });

  test("close() returns promptly: it answers held waits and cuts latency and webhook retries short", async () => {
    const receiver = await startWebhookReceiver(() => 500);
    const closing = await startDraftServer({ latencyMs: 30_000, webhookBackoffMs: 3000 });
    try {
      const created = await closing.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY, webhook: receiver.url } });
      const deadline = Date.now() + 5000;
      while (receiver.attempts.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(receiver.attempts.length).toBeGreaterThanOrEqual(1); // the start event, now waiting 3 s to retry
      expect((await closing.api(`/v1/predictions/${created.body.id}`)).body.status).toBe("processing");
      // A client holding a create open with Prefer: wait=60 is answered, not waited out.
      const held = closing.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY }, headers: { prefer: "wait=60" } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await closing.close();
      expect(Date.now() - started).toBeLessThan(1500);
      const answer = await held;
      expect(answer.status).toBe(201);
      expect(answer.body.status).not.toBe("succeeded");
    } finally {
      await receiver.close();
    }
  });

  test("list is newest first with cursor pagination (next and previous are absolute URLs)", async () => {
    const paged = await startDraftServer({ listPageSize: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await paged.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } })).body.id);
      type Page = { next: string | null; previous: string | null; results: Prediction[] };
      const first = (await paged.api<Page>("/v1/predictions")).body;
      expect(first.results.map((p) => p.id)).toEqual([ids[4], ids[3]]);
      expect(first.previous).toBeNull();
      expect(first.next).toMatch(new RegExp(`^${paged.base}/v1/predictions\\?cursor=`));
      const second = (await paged.api<Page>(first.next!)).body;
      expect(second.results.map((p) => p.id)).toEqual([ids[2], ids[1]]);
      const third = (await paged.api<Page>(second.next!)).body;
      expect(third.results.map((p) => p.id)).toEqual([ids[0]]);
      expect(third.next).toBeNull();
      const back = (await paged.api<Page>(second.previous!)).body;
      expect(back.results.map((p) => p.id)).toEqual([ids[4], ids[3]]);
      expect((await paged.api<Problem>("/v1/predictions?cursor=garbage")).status).toBe(400);
      for (const id of ids) await paged.settle(id);
    } finally {
      await paged.close();
    }
  });
});

describe("fault knobs", () => {
  test("failRate 1 fails every prediction with the injected error", async () => {
    await server.api("/v1/_draft/config", { body: { failRate: 1 } });
    const answer = await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY }, headers: { prefer: "wait" } });
    expect(answer.body).toMatchObject({ status: "failed", error: "draft: injected failure", output: null });
    expect(answer.body.logs).toContain("error: draft: injected failure");
  });

  test("failModels and failInputs fail exactly the matching predictions", async () => {
    await server.api("/v1/_draft/config", { body: { failModels: ["adreel/draft-music"], failInputs: ["chunk-3"] } });
    const create = async (model: string, input: Record<string, unknown>) =>
      (await server.api(`/v1/models/${model}/predictions`, { body: { input }, headers: { prefer: "wait" } })).body;
    expect((await create("adreel/draft-music", { prompt: "x", duration: 1 })).error).toMatch(/^draft: injected failure/);
    expect((await create("adreel/draft-image", { ...TINY, prompt: "beat 2 chunk-3 of 5" })).status).toBe("failed");
    expect((await create("adreel/draft-image", { ...TINY, prompt: "beat 2 chunk-2 of 5" })).status).toBe("succeeded");
  });

  test("with failSeed the failures of failRate repeat exactly", async () => {
    const run = async () => {
      await server.api("/v1/_draft/config", { body: { failRate: 0.5, failSeed: 7 } });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } })).body.id);
      return (await Promise.all(ids.map((id) => server.settle(id)))).map((p) => p.status);
    };
    const first = await run();
    expect(first).toContain("failed");
    expect(first).toContain("succeeded");
    expect(await run()).toEqual(first);
  });

  test("rateLimitPerMinute answers 429 with Retry-After, as Replicate does for creates", async () => {
    await server.api("/v1/_draft/config", { body: { rateLimitPerMinute: 2 } });
    for (let i = 0; i < 2; i++) expect((await server.api("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } })).status).toBe(201);
    const throttled = await server.api<Problem>("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    expect(throttled.status).toBe(429);
    expect(throttled.body).toMatchObject({ title: "Request was throttled", status: 429 });
    const retryAfter = Number(throttled.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Reads are not throttled.
    expect((await server.api("/v1/predictions")).status).toBe(200);
  });

  test("createErrorRate 1 answers 500 and creates nothing", async () => {
    const before = (await server.api<{ results: Prediction[] }>("/v1/predictions")).body.results[0]?.id;
    await server.api("/v1/_draft/config", { body: { createErrorRate: 1 } });
    const answer = await server.api<Problem>("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ status: 500, detail: "draft: injected create error" });
    expect((await server.api<{ results: Prediction[] }>("/v1/predictions")).body.results[0]?.id).toBe(before);
  });

  test("the config endpoint validates knobs and the webhook secret endpoint returns the secret", async () => {
    expect((await server.api("/v1/_draft/config", { body: { failRate: 2 } })).status).toBe(422);
    expect((await server.api("/v1/_draft/config", { body: { notAKnob: true } })).status).toBe(422);
    expect((await server.api("/v1/_draft/config", { body: { webhookMode: { delayMs: 50 } } })).body).toMatchObject({ webhookMode: { delayMs: 50 } });
    expect((await server.api("/v1/_draft/config")).body).toMatchObject({ webhookMode: { delayMs: 50 }, concurrency: 2 });
    expect((await server.api<{ key: string }>("/v1/webhooks/default/secret")).body).toEqual({ key: server.webhookSecret });
  });
});
