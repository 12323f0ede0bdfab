import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import sharp from "sharp";
import { MODEL_CONTRACTS, type ModelContract } from "../contracts/model-contracts.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { drawDraftImage } from "./image.ts";
import { composeDraftMusic } from "./music.ts";
import type { CatalogLookup, InvalidField, ModelCatalog, ServedModel } from "./catalog.ts";
import { fetchInput } from "./inputs.ts";
import type { OutputExtension } from "./outputs.ts";
import { speakLine } from "./speech.ts";
import { renderDraftVideo, partsOf } from "./video.ts";

/**
 * The Replicate emulator (`DRAFT_EMULATE=replicate`): the draft server impersonates the real
 * default models under their real names, versions and contracts (contracts/models/*.json), so
 * the Worker's real-provider code path runs end to end offline:
 *
 * - routes as Replicate has them: an official model on `/v1/models/{owner}/{name}/predictions`
 *   or by name on `/v1/predictions`; a community model only by version on `/v1/predictions`
 *   (404 on the model-scoped route, as observed); an unknown version is a 422 "Invalid version
 *   or not permitted"; a missing one a 422 "version is required";
 * - inputs validated against the vendored schema (ajv), refusals in Replicate's 422 shape;
 * - outputs in the real formats: Wan an mp4 of exactly `num_frames` frames at
 *   `frames_per_second` at the size upstream Wan picks for the image's aspect; SD 3.5 and flux
 *   webp unless asked, flux-schnell/dev an array of URLs; nano-banana-pro png or jpg; musicgen
 *   wav or mp3 at 32 kHz; speech-02-turbo mp3 at 32 kHz mono unless asked otherwise.
 *
 * The pictures and sounds are the draft renderers'; only the contract is the real model's.
 */

const ajv = new Ajv2020({ strict: false, allErrors: true, useDefaults: true });
addFormats.default(ajv);

/** What Replicate calls each kind of refusal in `invalid_fields[].type` (replicate-api.json). */
function fieldOf(error: ErrorObject): InvalidField {
  const path = error.instancePath.split("/").filter(Boolean);
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { type: "required", field: ["input", ...path].join("."), description: `${missing} is required` };
  }
  const name = path.at(-1) ?? "input";
  const field = ["input", ...path].join(".");
  switch (error.keyword) {
    case "enum":
      return { type: "enum", field, description: `${name} must be one of the following: ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}` };
    case "maximum":
      return { type: "number_lte", field, description: `Must be less than or equal to ${(error.params as { limit: number }).limit}` };
    case "minimum":
      return { type: "number_gte", field, description: `Must be greater than or equal to ${(error.params as { limit: number }).limit}` };
    case "type":
      return { type: "invalid_type", field, description: `Invalid type. Expected: ${(error.params as { type: string }).type}` };
    case "format":
      return { type: "format", field, description: `Does not match format '${(error.params as { format: string }).format}'` };
    default:
      return { type: error.keyword, field, description: error.message ?? "is invalid" };
  }
}

/**
 * Output sizes at one megapixel by aspect ratio: published for flux (cog-flux); nano-banana-pro
 * and SD 3.5 publish none, so they get the same table (the Worker must cope with any size).
 */
const MEGAPIXEL_SIZES: Record<string, [number, number]> = {
  "1:1": [1024, 1024], "16:9": [1344, 768], "9:16": [768, 1344], "4:3": [1152, 896], "3:4": [896, 1152], "3:2": [1216, 832],
  "2:3": [832, 1216], "4:5": [896, 1088], "5:4": [1088, 896], "21:9": [1536, 640], "9:21": [640, 1536],
};

/**
 * Wan's frame size: upstream Wan 2.2 I2V keeps the input image's aspect inside the
 * resolution's pixel area (832×480 or 1280×720), on a 16-pixel grid (VAE stride 8 × patch 2).
 * Replicate publishes no sizes; this is the upstream rule (wan/image2video.py).
 */
export function wanFrameSize(imageWidth: number, imageHeight: number, resolution: "480p" | "720p"): { width: number; height: number } {
  const area = resolution === "720p" ? 1280 * 720 : 832 * 480;
  const aspect = imageHeight / imageWidth;
  const height = Math.floor(Math.sqrt(area * aspect) / 16) * 16;
  const width = Math.floor(Math.sqrt(area / aspect) / 16) * 16;
  return { width, height };
}

/**
 * MusicGen's GPU time, for `metrics.predict_time` (it bills by it): Replicate publishes none.
 * The emulator reports the same assumption the price table makes (worker/pricing/prices.ts: 4 GPU
 * seconds per second of audio plus 10 s), so the emulated ledger prices it as the estimate
 * does; `npm run test:live` measures the real one.
 */
const MUSICGEN_GPU_SECONDS = (duration: number) => 4 * duration + 10;

type Renderer = (input: Record<string, unknown>, dir: string, log: (line: string) => void) => Promise<{ files: { path: string; extension: OutputExtension }[]; predictTime?: number; array: boolean }>;

async function drawImage(input: Record<string, unknown>, dir: string, size: [number, number], format: string, name: string): Promise<{ path: string; extension: OutputExtension }> {
  const references: Buffer[] = [];
  const urls = Array.isArray(input.image_input) ? (input.image_input as string[]) : typeof input.image === "string" ? [input.image] : [];
  for (const [i, url] of urls.entries()) references.push(await fetchInput(url, dir, `reference-${i}`));
  const png = await drawDraftImage({ prompt: String(input.prompt ?? ""), seed: Number(input.seed ?? 0), width: size[0], height: size[1], format: "png", references });
  const extension = (format === "jpeg" ? "jpg" : format) as OutputExtension;
  const bytes = extension === "png" ? png : extension === "jpg" ? await sharp(png).jpeg({ quality: 90 }).toBuffer() : await sharp(png).webp({ quality: Number(input.output_quality ?? 80) }).toBuffer();
  const path = join(dir, `${name}.${extension}`);
  await writeFile(path, bytes);
  return { path, extension };
}

const aspectSize = (input: Record<string, unknown>, fallback: string): [number, number] => {
  const sizes = MEGAPIXEL_SIZES[String(input.aspect_ratio ?? fallback)] ?? MEGAPIXEL_SIZES[fallback]!;
  return input.megapixels === "0.25" ? [sizes[0] / 2, sizes[1] / 2] : sizes;
};

const RENDERERS: Record<string, Renderer> = {
  "google/nano-banana-pro": async (input, dir) => {
    // match_input_image: the first conditioning image's aspect, else square.
    let aspect = String(input.aspect_ratio);
    if (aspect === "match_input_image") aspect = "1:1";
    return { files: [await drawImage(input, dir, aspectSize({ aspect_ratio: aspect }, "1:1"), String(input.output_format), "output")], array: false };
  },
  "black-forest-labs/flux-1.1-pro": async (input, dir) => ({ files: [await drawImage(input, dir, aspectSize(input, "1:1"), String(input.output_format), "output")], array: false }),
  "stability-ai/stable-diffusion-3.5-large": async (input, dir) => ({ files: [await drawImage(input, dir, aspectSize(input, "1:1"), String(input.output_format), "output")], array: false }),
  "black-forest-labs/flux-schnell": async (input, dir) => fluxArray(input, dir),
  "black-forest-labs/flux-dev": async (input, dir) => fluxArray(input, dir),
  "wan-video/wan-2.2-i2v-fast": async (input, dir, log) => {
    const start = await fetchInput(String(input.image), dir, "image");
    const meta = await sharp(start).metadata();
    const { width, height } = wanFrameSize(meta.width ?? 832, meta.height ?? 480, input.resolution as "480p" | "720p");
    const frames = Number(input.num_frames);
    const fps = Number(input.frames_per_second);
    log(`wan-2.2-i2v-fast (emulated): ${frames} frames at ${fps} fps, ${width}x${height}`);
    const path = join(dir, "output.mp4");
    // Colour as a plain `-pix_fmt yuv420p` encode writes it: Wan's contract says nothing of it, so the emulator claims no more.
    await renderDraftVideo({ startImage: start, frames, fps, width, height, camera: "push_in", seed: Number(input.seed ?? 0), parts: partsOf(String(input.prompt ?? "")), colour: "untagged" }, path, dir);
    return { files: [{ path, extension: "mp4" }], array: false };
  },
  "meta/musicgen": async (input, dir, log) => {
    const duration = Number(input.duration);
    const { wav } = await composeDraftMusic(String(input.prompt ?? "music"), duration, Number(input.seed ?? 0));
    const source = join(dir, "draft.wav");
    await writeFile(source, wav);
    const stereo = String(input.model_version).startsWith("stereo");
    const extension = input.output_format === "mp3" ? "mp3" : "wav";
    const path = join(dir, `out.${extension}`);
    // MusicGen's EnCodec runs at 32 kHz; its mp3 is plain `ffmpeg -i out.wav out.mp3` (cog-musicgen predict.py).
    await ffmpeg(["-i", source, "-ar", "32000", "-ac", stereo ? "2" : "1", ...(extension === "mp3" ? ["-c:a", "libmp3lame"] : ["-c:a", "pcm_s16le"]), path], { timeoutMs: 120_000 });
    log(`musicgen (emulated): ${duration} s, ${stereo ? "stereo" : "mono"} ${extension} at 32 kHz`);
    return { files: [{ path, extension }], predictTime: MUSICGEN_GPU_SECONDS(duration), array: false };
  },
  "minimax/speech-02-turbo": async (input, dir, log) => {
    const spoken = join(dir, "spoken.wav");
    // The model's voice ids are MiniMax's; the emulator speaks every one with espeak-ng's en-us.
    await speakLine(String(input.text).replace(/<#[\d.]+#>/g, " "), spoken, { voice: "en-us", wordsPerMinute: Math.round(165 * Number(input.speed ?? 1)) });
    const format = String(input.audio_format);
    const extension = (format === "mp3" ? "mp3" : "wav") as OutputExtension;
    if (format !== "mp3" && format !== "wav") throw new Error(`speech-02-turbo (emulated): audio_format ${format} is not emulated (mp3 and wav are)`);
    const path = join(dir, `output.${extension}`);
    const codec = extension === "mp3" ? ["-c:a", "libmp3lame", "-b:a", String(input.bitrate ?? "128k").replace("k", "k")] : ["-c:a", "pcm_s16le"];
    await ffmpeg(["-i", spoken, "-ar", String(input.sample_rate), "-ac", input.channel === "stereo" ? "2" : "1", ...codec, path], { timeoutMs: 60_000 });
    log(`speech-02-turbo (emulated): ${String(input.text).length} characters, ${extension} at ${String(input.sample_rate)} Hz`);
    return { files: [{ path, extension }], array: false };
  },
};

async function fluxArray(input: Record<string, unknown>, dir: string) {
  const files = [];
  const count = Number(input.num_outputs ?? 1);
  for (let i = 0; i < count; i++) files.push(await drawImage({ ...input, seed: Number(input.seed ?? 0) + i }, dir, aspectSize(input, "1:1"), String(input.output_format), `out-${i}`));
  return { files, array: true };
}

/** Official models have versions too, unpublished here: a stable stand-in id names the emulated one. */
function versionOf(contract: ModelContract): string {
  return contract.version ?? createHash("sha256").update(`emulated ${contract.model}`).digest("hex");
}

function servedModel(contract: ModelContract): ServedModel {
  const validate = ajv.compile(contract.input_schema);
  const render = RENDERERS[contract.model]!;
  return {
    name: contract.model,
    version: versionOf(contract),
    check(input) {
      const copy = structuredClone(input);
      // Nothing is schema-required, but the predictor raises without prompt and input_audio (cog-musicgen).
      const extra = contract.model === "meta/musicgen" && copy.prompt === undefined && copy.input_audio === undefined ? [{ type: "required", field: "input", description: "prompt or input_audio is required" }] : [];
      if (!validate(copy)) return { fields: (validate.errors ?? []).map(fieldOf) };
      if (extra.length) return { fields: extra };
      return { parsed: copy };
    },
    async render(parsed, context) {
      const rendered = await render(parsed, context.dir, context.log);
      return { outputs: rendered.files, array: rendered.array, predictTime: rendered.predictTime };
    },
  };
}

const SERVED = Object.values(MODEL_CONTRACTS).filter((c) => RENDERERS[c.model]).map(servedModel);

const NOT_FOUND = { detail: "The requested resource could not be found.", status: 404 };
const INVALID_VERSION = {
  title: "Invalid version or not permitted",
  detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
  status: 422,
};

/** The emulated catalog: Replicate's route rules over the vendored contracts. */
export const REPLICATE_CATALOG: ModelCatalog = {
  models: SERVED,
  resolve(route, reference): CatalogLookup {
    if (route === "models") {
      const model = SERVED.find((m) => m.name === reference);
      // A community model is not reachable by name (observed 404; replicate-api.json).
      if (!model || MODEL_CONTRACTS[model.name]?.official === false) return { status: 404, body: NOT_FOUND };
      return { model };
    }
    if (!reference) return { status: 422, body: { title: "Input validation failed", detail: "- version is required\n", status: 422, invalid_fields: [{ type: "required", field: "", description: "version is required" }] } };
    const [name, version] = reference.includes(":") ? reference.split(":", 2) : /^[0-9a-f]{64}$/.test(reference) ? [undefined, reference] : [reference, undefined];
    // `owner/name` alone on /v1/predictions is accepted for official models only (OpenAPI `version`).
    if (version === undefined) {
      const model = SERVED.find((m) => m.name === name);
      return model && MODEL_CONTRACTS[model.name]?.official ? { model } : { status: 422, body: INVALID_VERSION };
    }
    const model = SERVED.find((m) => m.version === version && (name === undefined || m.name === name));
    return model ? { model } : { status: 422, body: INVALID_VERSION };
  },
};
