import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { MODEL_CONTRACTS, clipContractOf, contractOf, maxChunkFramesOf, modelName } from "../contracts/model-contracts.ts";
import { AspectRatio, DurationSeconds } from "../contracts/spec.ts";
import { planChunks } from "../worker/chunks/plan.ts";
import { planLocally } from "../worker/planning/local.ts";
import { nativeFrames, clipInput } from "../worker/providers/models/clip.ts";
import { IMAGE_MODELS, imageInput } from "../worker/providers/models/image.ts";
import { musicInput } from "../worker/providers/models/music.ts";
import { outputFormatOf } from "../worker/providers/models/outputs.ts";
import { speechInput } from "../worker/providers/models/speech.ts";
import { inputProblems } from "../worker/providers/models/validation.ts";
import { MODEL_PRESETS } from "../worker/providers/presets.ts";
import { predictionRoute } from "../worker/providers/client.ts";

/**
 * Every adapter's input against its model's vendored input schema (contracts/models/*.json),
 * for every preset, aspect ratio, duration and kind of chunk: validated by ajv here (an
 * independent validator from the one the Worker checks with before sending), and by the
 * Worker's own check, which must agree.
 */

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const validators = new Map(Object.values(MODEL_CONTRACTS).map((c) => [c.model, ajv.compile(c.input_schema)]));

function expectValid(model: string, input: Record<string, unknown>): void {
  const validate = validators.get(modelName(model));
  expect(validate, `${model} has a vendored contract`).toBeDefined();
  const ok = validate!(input);
  expect(ok ? [] : validate!.errors, `${model} ${JSON.stringify(input).slice(0, 300)}`).toEqual([]);
  expect(inputProblems(model, input)).toEqual([]);
}

const URL = "https://adreel.example.net/media/videos/v/composites/000.png?sig=abc";
const PROMPT = "A cosy neighbourhood bakery launches a sourdough subscription";

describe("model contracts", () => {
  it("parse every vendored file, with the route Replicate accepts for each model", () => {
    expect(Object.keys(MODEL_CONTRACTS).sort()).toEqual([
      "black-forest-labs/flux-1.1-pro",
      "black-forest-labs/flux-dev",
      "black-forest-labs/flux-schnell",
      "google/nano-banana-pro",
      "meta/musicgen",
      "minimax/speech-02-turbo",
      "stability-ai/stable-diffusion-3.5-large",
      "wan-video/wan-2.2-i2v-fast",
    ]);
    for (const contract of Object.values(MODEL_CONTRACTS)) {
      const route = predictionRoute(contract.official ? contract.model : `${contract.model}:${contract.version}`);
      expect(route).toEqual(contract.official ? { path: `/v1/models/${contract.model}/predictions` } : { path: "/v1/predictions", version: contract.version });
    }
  });

  it("pin musicgen, a community model, to its version in every preset, and refuse it unpinned", () => {
    for (const preset of Object.values(MODEL_PRESETS)) expect(preset.music).toBe("meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb");
    expect(contractOf("meta/musicgen")).toMatchObject({ official: false, route: "versions" });
    expect(predictionRoute("meta/musicgen")).toEqual({ problem: expect.stringMatching(/community model.*meta\/musicgen:671ac645/) });
  });

  it("give Wan its native 16 fps and 81..121 frames", () => {
    expect(clipContractOf("wan-video/wan-2.2-i2v-fast")).toEqual({ model: "wan-video/wan-2.2-i2v-fast", fps: 16, min_frames: 81, max_frames: 121 });
    const wan = clipContractOf("wan-video/wan-2.2-i2v-fast")!;
    expect(maxChunkFramesOf(wan.model)).toBe(181);
    expect(nativeFrames(wan, 181, 24)).toBe(121);
    expect(nativeFrames(wan, 150, 24)).toBe(100);
    expect(nativeFrames(wan, 48, 24)).toBe(81); // short: the model's minimum is paid for
    expect(() => nativeFrames(wan, 182, 24)).toThrow(/at most 121 frames/);
  });

  for (const [presetName, preset] of Object.entries(MODEL_PRESETS)) {
    it(`${presetName}: every image, clip, music and speech input validates for every aspect × duration × chunk kind`, () => {
      let clips = 0;
      for (const aspect of AspectRatio.options) {
        for (const duration of DurationSeconds.options.map((o) => o.value)) {
          const { spec } = planLocally({ prompt: PROMPT, duration_s: duration, aspect_ratio: aspect, creativity_level: 0.5, clip: clipContractOf(preset.video) });
          for (const image of [preset.image, ...preset.imageFallbacks]) {
            for (const images of [[], [URL, URL, URL]]) {
              const input = imageInput(image, { prompt: PROMPT, images, width: spec.width, height: spec.height, aspectRatio: aspect, seed: spec.seed });
              expectValid(image, input);
              expect(outputFormatOf(image, input)).toBe("png");
            }
          }
          for (const chunk of planChunks(spec, { maxChunkFrames: maxChunkFramesOf(preset.video) })) {
            for (const endImage of [undefined, URL]) {
              const input = clipInput(preset.video, {
                prompt: chunk.prompt,
                startImage: URL,
                endImage,
                frames: chunk.frames,
                fps: spec.fps,
                width: spec.width,
                height: spec.height,
                aspectRatio: aspect,
                resolution: preset.videoResolution!,
                camera: chunk.camera,
                seed: spec.seed + chunk.chunk_num,
              });
              expectValid(preset.video, input);
              expect(input).toMatchObject({ frames_per_second: 16, resolution: preset.videoResolution, ...(endImage ? { last_image: URL } : {}) });
              // The clip lasts at least as long as the chunk it becomes.
              expect((input.num_frames as number) / 16).toBeGreaterThanOrEqual(chunk.frames / 24);
              if (!endImage) expect(input).not.toHaveProperty("last_image");
              clips++;
            }
          }
          const music = musicInput(preset.music, { prompt: spec.music.prompt, durationS: duration, seed: spec.seed });
          expectValid(preset.music, music);
          expect(music.duration).toBe(duration);
          expect(outputFormatOf(preset.music, music)).toBe("wav");
        }
      }
      expect(clips).toBeGreaterThan(50);
      for (const voice of [null, "Wise_Woman"]) {
        const speech = speechInput(preset.speech!, { text: "Fresh sourdough, every Saturday.", voice, speed: 1 });
        expectValid(preset.speech!, speech);
        expect(speech).toMatchObject({ audio_format: "mp3", sample_rate: 32000, channel: "mono" });
        expect(outputFormatOf(preset.speech!, speech)).toBe("mp3");
      }
    });
  }

  it("knows each image model's real output format when none is asked for", () => {
    expect(outputFormatOf("stability-ai/stable-diffusion-3.5-large", { prompt: "x" })).toBe("webp");
    expect(outputFormatOf("black-forest-labs/flux-schnell", { prompt: "x" })).toBe("webp");
    expect(outputFormatOf("google/nano-banana-pro", { prompt: "x" })).toBe("jpg");
    expect(outputFormatOf("meta/musicgen", {})).toBe("wav");
    expect(outputFormatOf("wan-video/wan-2.2-i2v-fast", {})).toBe("mp4");
    for (const model of IMAGE_MODELS) expect(outputFormatOf(model, imageInput(model, { prompt: "x", images: [], width: 1024, height: 576, aspectRatio: "16:9", seed: 1 }))).toBe("png");
  });

  it("name the field when an input breaks its schema, as Replicate's 422 would", () => {
    expect(inputProblems("wan-video/wan-2.2-i2v-fast", { image: URL, prompt: "x", num_frames: 48, frames_per_second: 24 })).toEqual([
      { field: "input.num_frames", description: expect.stringMatching(/81/) },
    ]);
    expect(inputProblems("google/nano-banana-pro", { prompt: "x", output_format: "webp" })).toEqual([{ field: "input.output_format", description: expect.any(String) }]);
    expect(inputProblems("google/nano-banana-pro", {}).map((p) => p.description).join()).toMatch(/prompt/);
  });
});
