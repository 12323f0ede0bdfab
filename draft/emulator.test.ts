import { rm, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MODEL_CONTRACTS } from "../contracts/model-contracts.ts";
import type { Prediction } from "../contracts/prediction.ts";
import { ffprobe, run } from "../media-node/ffmpeg.ts";
import type { CreateRecord } from "./provider.ts";
import { wanFrameSize } from "./emulator.ts";
import { type DraftTestServer, startDraftServer } from "../test/support/draft-server.ts";

// The Replicate emulator over real HTTP: Replicate's route rules, its 422s, the real output formats.

const MUSICGEN = MODEL_CONTRACTS["meta/musicgen"]!.version!;

interface Problem {
  title?: string;
  detail: string;
  status: number;
  invalid_fields?: { type: string; field: string; description: string }[];
}

let server: DraftTestServer;
let scratch: string;

async function startImage(width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 60 } } }).png().toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

async function fetched(url: string, name: string): Promise<{ path: string; bytes: Buffer; type: string | null }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  const path = join(scratch, name);
  await writeFile(path, bytes);
  return { path, bytes, type: response.headers.get("content-type") };
}

async function succeeded(answer: { status: number; body: Prediction }): Promise<Prediction> {
  expect(answer.status).toBe(201);
  const done = await server.settle(answer.body.id, 120_000);
  expect(done.error ?? null).toBeNull();
  expect(done.status).toBe("succeeded");
  return done;
}

beforeAll(async () => {
  server = await startDraftServer({ emulate: "replicate" });
  scratch = await mkdtemp(join(tmpdir(), "draft-emulator-test-"));
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

describe("routes as Replicate has them", () => {
  test("a community model on the model-scoped route is not found, and an unknown or missing version is a 422", async () => {
    const scoped = await server.api<Problem>("/v1/models/meta/musicgen/predictions", { body: { input: { prompt: "jazz" } } });
    expect(scoped).toMatchObject({ status: 404, body: { detail: "The requested resource could not be found.", status: 404 } });
    const unknown = await server.api<Problem>("/v1/predictions", { body: { version: "0".repeat(64), input: { prompt: "jazz" } } });
    expect(unknown).toMatchObject({ status: 422, body: { title: "Invalid version or not permitted", detail: "The specified version does not exist (or perhaps you don't have permission to use it?)", status: 422 } });
    const byName = await server.api<Problem>("/v1/predictions", { body: { version: "meta/musicgen", input: { prompt: "jazz" } } });
    expect(byName.status).toBe(422);
    const missing = await server.api<Problem>("/v1/predictions", { body: { input: { prompt: "jazz" } } });
    expect(missing).toMatchObject({ status: 422, body: { title: "Input validation failed", invalid_fields: [{ type: "required", field: "", description: "version is required" }] } });
    // The draft models are not Replicate's.
    expect((await server.api<Problem>("/v1/models/adreel/draft-image/predictions", { body: { input: { prompt: "x" } } })).status).toBe(404);
  });

  test("an input its schema refuses is a 422 naming each field, in Replicate's shape", async () => {
    const answer = await server.api<Problem>("/v1/models/wan-video/wan-2.2-i2v-fast/predictions", {
      body: { input: { image: await startImage(64, 36), prompt: "x", num_frames: 48, frames_per_second: 24, resolution: "1080p" } },
    });
    expect(answer.status).toBe(422);
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(answer.body.title).toBe("Input validation failed");
    expect(answer.body.invalid_fields).toEqual([
      { type: "number_gte", field: "input.num_frames", description: "Must be greater than or equal to 81" },
      { type: "enum", field: "input.resolution", description: 'resolution must be one of the following: "480p", "720p"' },
    ]);
    expect(answer.body.detail).toBe("- input.num_frames: Must be greater than or equal to 81\n- input.resolution: resolution must be one of the following: \"480p\", \"720p\"\n");
    const noPrompt = await server.api<Problem>("/v1/models/google/nano-banana-pro/predictions", { body: { input: { output_format: "webp" } } });
    expect(noPrompt.body.invalid_fields).toEqual([
      { type: "required", field: "input", description: "prompt is required" },
      { type: "enum", field: "input.output_format", description: 'output_format must be one of the following: "jpg", "png"' },
    ]);
  });

  test("records every create with its route, model, input and validation result", async () => {
    const { body } = await server.api<{ requests: CreateRecord[] }>("/v1/_draft/requests");
    expect(body.requests.map((r) => [r.route, r.reference, r.model, r.status])).toEqual([
      ["models", "meta/musicgen", null, 404],
      ["versions", "0".repeat(64), null, 422],
      ["versions", "meta/musicgen", null, 422],
      ["versions", null, null, 422],
      ["models", "adreel/draft-image", null, 404],
      ["models", "wan-video/wan-2.2-i2v-fast", "wan-video/wan-2.2-i2v-fast", 422],
      ["models", "google/nano-banana-pro", "google/nano-banana-pro", 422],
    ]);
    expect(body.requests[5]!.invalid_fields.map((f) => f.field)).toEqual(["input.num_frames", "input.resolution"]);
  });
});

describe("outputs in the real formats", () => {
  test("Wan: an mp4 of exactly num_frames frames at frames_per_second, at upstream Wan's size for the image's aspect", async () => {
    expect(wanFrameSize(1024, 576, "480p")).toEqual({ width: 832, height: 464 });
    expect(wanFrameSize(576, 1024, "720p")).toEqual({ width: 720, height: 1280 });
    expect(wanFrameSize(768, 768, "480p")).toEqual({ width: 624, height: 624 });
    const done = await succeeded(
      await server.api("/v1/models/wan-video/wan-2.2-i2v-fast/predictions", {
        body: { input: { image: await startImage(1024, 576), prompt: "a steel bottle on a trail", num_frames: 83, frames_per_second: 16, resolution: "480p" } },
      }),
    );
    expect(typeof done.output).toBe("string");
    const clip = await fetched(done.output as string, "wan.mp4");
    expect(clip.type).toBe("video/mp4");
    const { stdout } = await run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,r_frame_rate,width,height", "-of", "json", clip.path], { timeoutMs: 60_000 });
    expect(JSON.parse(stdout.toString()).streams[0]).toMatchObject({ nb_read_frames: "83", r_frame_rate: "16/1", width: 832, height: 464 });
    expect(done.metrics?.predict_time).toBeGreaterThan(0);
  });

  test("SD 3.5 and flux: webp unless asked; flux-schnell answers an array of URLs", async () => {
    const sd = await succeeded(await server.api("/v1/models/stability-ai/stable-diffusion-3.5-large/predictions", { body: { input: { prompt: "a bakery at dawn", aspect_ratio: "16:9" } } }));
    const image = await fetched(sd.output as string, "sd.webp");
    expect(image.type).toBe("image/webp");
    expect(await sharp(image.bytes).metadata()).toMatchObject({ format: "webp", width: 1344, height: 768 });
    const schnell = await succeeded(await server.api("/v1/models/black-forest-labs/flux-schnell/predictions", { body: { input: { prompt: "a bakery", aspect_ratio: "9:16", output_format: "png" } } }));
    expect(Array.isArray(schnell.output)).toBe(true);
    const png = await fetched((schnell.output as string[])[0]!, "schnell.png");
    expect(await sharp(png.bytes).metadata()).toMatchObject({ format: "png", width: 768, height: 1344 });
    const banana = await succeeded(await server.api("/v1/models/google/nano-banana-pro/predictions", { body: { input: { prompt: "a bakery", aspect_ratio: "1:1" } } }));
    expect((await sharp((await fetched(banana.output as string, "banana.jpg")).bytes).metadata()).format).toBe("jpeg");
  });

  test("musicgen by version: wav at 32 kHz (mp3 when asked), billed GPU time reported", async () => {
    const wav = await succeeded(await server.api("/v1/predictions", { body: { version: MUSICGEN, input: { prompt: "warm acoustic, 96 bpm", duration: 3, model_version: "stereo-large" } } }));
    const file = await fetched(wav.output as string, "music.wav");
    expect(file.type).toBe("audio/wav");
    const audio = (await ffprobe(file.path)).streams.find((s) => s.codec_type === "audio");
    expect(audio).toMatchObject({ sample_rate: "32000", channels: 2, codec_name: "pcm_s16le" });
    expect(wav.metrics?.predict_time).toBe(4 * 3 + 10);
    const mp3 = await succeeded(await server.api("/v1/predictions", { body: { version: `meta/musicgen:${MUSICGEN}`, input: { prompt: "warm acoustic", duration: 2, model_version: "large", output_format: "mp3" } } }));
    const mp3File = await fetched(mp3.output as string, "music.mp3");
    expect((await ffprobe(mp3File.path)).streams.find((s) => s.codec_type === "audio")).toMatchObject({ sample_rate: "32000", channels: 1, codec_name: "mp3" });
  });

  test("speech-02-turbo: mp3 at 32 kHz mono by default", async () => {
    const done = await succeeded(await server.api("/v1/models/minimax/speech-02-turbo/predictions", { body: { input: { text: "Fresh sourdough, every Saturday." } } }));
    const file = await fetched(done.output as string, "speech.mp3");
    expect(file.type).toBe("audio/mpeg");
    const audio = (await ffprobe(file.path)).streams.find((s) => s.codec_type === "audio");
    expect(audio).toMatchObject({ sample_rate: "32000", channels: 1, codec_name: "mp3" });
  });
});
