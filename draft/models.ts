import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DRAFT_MODELS, DraftImageInput, DraftMusicInput, DraftVideoInput } from "../contracts/media.ts";
import { CameraMove } from "../contracts/spec.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { downloadTo } from "../media-node/io.ts";
import { drawDraftImage } from "./image.ts";
import { composeDraftMusic } from "./music.ts";
import type { OutputExtension } from "./outputs.ts";
import { partsOf, renderDraftVideo } from "./video.ts";

/** The draft models: name, version id, input schema and renderer of each. */

export interface RenderContext {
  /** A temp directory of this render, removed afterwards. */
  dir: string;
  log(line: string): void;
}

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
const RENDERER_REVISION = 2;
const INPUT_LIMIT_BYTES = 40 * 1024 * 1024;

function versionOf(name: string): string {
  return createHash("sha256").update(`${name}@${RENDERER_REVISION}`).digest("hex");
}

async function fetchInput(url: string, dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  await downloadTo(url, path, { maxBytes: INPUT_LIMIT_BYTES, timeoutMs: 60_000 });
  return readFile(path);
}

/** The contract's input plus what a renderer needs to be sure of (reported as 422 fields). */
const VideoInput = DraftVideoInput.extend({ camera: CameraMove.default("push_in") }).superRefine((input, context) => {
  for (const field of ["width", "height"] as const) {
    if (input[field] % 2 !== 0) context.addIssue({ code: "custom", path: [field], message: `${field} must be even (H.264 yuv420p)` });
  }
});

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
    const startImage = await fetchInput(input.start_image, dir, "start-image");
    log(`draft-video: ${input.num_frames} frames at ${input.fps} fps, ${input.width}x${input.height}, camera ${input.camera}`);
    const path = join(dir, "output.mp4");
    await renderDraftVideo(
      { startImage, frames: input.num_frames, fps: input.fps, width: input.width, height: input.height, camera: input.camera, seed: input.seed, parts: partsOf(input.prompt) },
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
    if (input.output_format === "wav") return { path: wavPath, extension: "wav" };
    const mp3Path = join(dir, "output.mp3");
    await ffmpeg(["-i", wavPath, "-c:a", "libmp3lame", "-b:a", "192k", mp3Path], { timeoutMs: 120_000 });
    return { path: mp3Path, extension: "mp3" };
  },
};

export const DRAFT_MODEL_LIST: readonly DraftModel[] = [image, video, music];

export type ModelLookup = { model: DraftModel } | { status: 404 | 422; detail: string };

/** Resolve `owner/name`, `owner/name:version` or a bare version id. */
export function findModel(reference: string): ModelLookup {
  const [name, version] = reference.includes(":") ? reference.split(":", 2) : reference.includes("/") ? [reference, undefined] : [undefined, reference];
  if (name !== undefined) {
    const model = DRAFT_MODEL_LIST.find((m) => m.name === name);
    if (!model) return { status: 404, detail: `model ${name} not found (draft models: ${DRAFT_MODEL_LIST.map((m) => m.name).join(", ")})` };
    if (version !== undefined && version !== model.version) return { status: 422, detail: `version ${version} of ${name} does not exist (current: ${model.version})` };
    return { model };
  }
  const model = DRAFT_MODEL_LIST.find((m) => m.version === version);
  return model ? { model } : { status: 422, detail: `version ${version} does not exist` };
}
