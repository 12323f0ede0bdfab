import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { DRAFT_MODELS, DraftImageInput, DraftMusicInput, DraftSpeechInput, DraftVideoInput } from "../contracts/draft-models.ts";
import { CameraMove } from "../contracts/spec.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import type { CatalogLookup, ModelCatalog, RenderContext, ServedModel } from "./catalog.ts";
import { drawDraftImage } from "./image.ts";
import { fetchInput } from "./inputs.ts";
import { composeDraftMusic } from "./music.ts";
import type { OutputExtension } from "./outputs.ts";
import { speakLine } from "./speech.ts";
import { partsOf, renderDraftVideo } from "./video.ts";

/** The draft models: name, version id, input schema and renderer of each. */

export interface RenderedOutput {
  path: string;
  extension: OutputExtension;
}

export interface DraftModel {
  name: string;
  /** Stable 64-hex id, like a Replicate version; changes when the renderer's output would. */
  version: string;
  input: z.ZodType<Record<string, unknown>>;
  render(input: Record<string, unknown>, context: RenderContext): Promise<RenderedOutput>;
}

/** Bump when a renderer changes what it draws: clients pinning a version then notice. */
const RENDERER_REVISION = 4;

function versionOf(name: string): string {
  return createHash("sha256").update(`${name}@${RENDERER_REVISION}`).digest("hex");
}
export type { RenderContext };

/** The contract's input plus what a renderer needs to be sure of (reported as 422 fields). */
const VideoInput = DraftVideoInput.extend({ camera: CameraMove.default("push_in") }).superRefine((input, context) => {
  for (const field of ["width", "height"] as const) {
    if (input[field] % 2 !== 0) context.addIssue({ code: "custom", path: [field], message: `${field} must be even (H.264 yuv420p)` });
  }
});

/** A rendered WAV as MP3 beside it, for inputs that ask `output_format: "mp3"`. */
async function asMp3(wavPath: string, bitrate: string): Promise<RenderedOutput> {
  const path = wavPath.replace(/\.wav$/, ".mp3");
  await ffmpeg(["-i", wavPath, "-c:a", "libmp3lame", "-b:a", bitrate, path], { timeoutMs: 120_000 });
  return { path, extension: "mp3" };
}

const image: DraftModel = {
  name: DRAFT_MODELS.image,
  version: versionOf(DRAFT_MODELS.image),
  input: DraftImageInput,
  async render(raw, { dir, log }) {
    const input = DraftImageInput.parse(raw);
    const references: Buffer[] = [];
    for (const [i, url] of input.image_input.entries()) references.push(await fetchInput(url, dir, `reference-${i}`));
    log(`draft-image: ${input.width}x${input.height} ${input.output_format}, seed ${input.seed}, ${references.length} conditioning image(s)`);
    const bytes = await drawDraftImage({ prompt: input.prompt, seed: input.seed, width: input.width, height: input.height, format: input.output_format, references });
    const path = join(dir, `output.${input.output_format}`);
    await writeFile(path, bytes);
    return { path, extension: input.output_format };
  },
};

const video: DraftModel = {
  name: DRAFT_MODELS.video,
  version: versionOf(DRAFT_MODELS.video),
  input: VideoInput,
  async render(raw, { dir, log }) {
    const input = VideoInput.parse(raw);
    const [startImage, endImage] = await Promise.all([fetchInput(input.start_image, dir, "start-image"), input.last_image ? fetchInput(input.last_image, dir, "last-image") : undefined]);
    log(`draft-video: ${input.num_frames} frames at ${input.fps} fps, ${input.width}x${input.height}, camera ${input.camera}${endImage ? ", ending on last_image" : ""}`);
    const path = join(dir, "output.mp4");
    await renderDraftVideo(
      { startImage, endImage, frames: input.num_frames, fps: input.fps, width: input.width, height: input.height, camera: input.camera, seed: input.seed, parts: partsOf(input.prompt) },
      path,
      dir,
    );
    return { path, extension: "mp4" };
  },
};

const music: DraftModel = {
  name: DRAFT_MODELS.music,
  version: versionOf(DRAFT_MODELS.music),
  input: DraftMusicInput,
  async render(raw, { dir, log }) {
    const input = DraftMusicInput.parse(raw);
    const { wav, plan } = await composeDraftMusic(input.prompt, input.duration, input.seed);
    log(`draft-music: ${input.duration} s at ${plan.bpm} bpm, ${plan.mode}, progression ${plan.progression.map((d) => d + 1).join("-")}`);
    const wavPath = join(dir, "output.wav");
    await writeFile(wavPath, wav);
    return input.output_format === "wav" ? { path: wavPath, extension: "wav" } : asMp3(wavPath, "192k");
  },
};

/**
 * The draft voice (adreel/draft-speech): one script line spoken by espeak-ng (speech.ts), with
 * its own contract, so draft mode speaks through the same provider protocol as the real
 * text-to-speech model.
 */
const speech: DraftModel = {
  name: DRAFT_MODELS.speech,
  version: versionOf(DRAFT_MODELS.speech),
  input: DraftSpeechInput,
  async render(raw, { dir, log }) {
    const input = DraftSpeechInput.parse(raw);
    const wavPath = join(dir, "output.wav");
    const spoken = await speakLine(input.text, wavPath, { voice: input.voice, wordsPerMinute: input.words_per_minute });
    log(`draft-speech: ${input.text.length} characters, ${spoken.durationS.toFixed(2)} s, voice ${input.voice}`);
    return input.output_format === "wav" ? { path: wavPath, extension: "wav" } : asMp3(wavPath, "128k");
  },
};

export const DRAFT_MODEL_LIST: readonly DraftModel[] = [image, video, music, speech];

/** A draft model as the server serves it: its zod contract as the input check, one output file. */
function served(model: DraftModel): ServedModel {
  return {
    name: model.name,
    version: model.version,
    check(input) {
      const parsed = model.input.safeParse(input);
      if (parsed.success) return { parsed: parsed.data };
      return { fields: parsed.error.issues.map((issue) => ({ type: issue.code, field: ["input", ...issue.path.map(String)].join("."), description: issue.message })) };
    },
    async render(parsed, context) {
      return { outputs: [await model.render(parsed, context)], array: false };
    },
  };
}

const SERVED = DRAFT_MODEL_LIST.map(served);

export type ModelLookup = { model: ServedModel } | { status: 404 | 422; detail: string };

/** Resolve `owner/name`, `owner/name:version` or a bare version id. */
export function findModel(reference: string): ModelLookup {
  const [name, version] = reference.includes(":") ? reference.split(":", 2) : reference.includes("/") ? [reference, undefined] : [undefined, reference];
  if (name !== undefined) {
    const model = SERVED.find((m) => m.name === name);
    if (!model) return { status: 404, detail: `model ${name} not found (draft models: ${SERVED.map((m) => m.name).join(", ")})` };
    if (version !== undefined && version !== model.version) return { status: 422, detail: `version ${version} of ${name} does not exist (current: ${model.version})` };
    return { model };
  }
  const model = SERVED.find((m) => m.version === version);
  return model ? { model } : { status: 422, detail: `version ${version} does not exist` };
}

/** adreel's own models: any of them by name on either route, or by version. */
export const DRAFT_CATALOG: ModelCatalog = {
  models: SERVED,
  resolve(_route, reference): CatalogLookup {
    if (!reference) return { status: 422, body: { title: "Input validation failed", detail: "- version: version is required", status: 422, invalid_fields: [{ type: "custom", field: "version", description: "version is required" }] } };
    const found = findModel(reference);
    if ("model" in found) return found;
    return { status: found.status, body: { title: found.status === 404 ? "Not found" : "Invalid version", detail: found.detail, status: found.status } };
  },
};
