import type { GenerateRequest, ReferenceImage } from "../../contracts/api.ts";
import { CompositeResponse, type Cue } from "../../contracts/media.ts";
import type { JobKind } from "../../contracts/live.ts";
import type { LogContext } from "../../contracts/log.ts";
import type { JobStep } from "../queue/messages.ts";
import { firstOutputUrl, type Prediction } from "../../contracts/prediction.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import type { AssemblyDecorations } from "../chunks/decorations.ts";
import type { OwnWindowsInput } from "../chunks/windows.ts";
import { type Config, type ProviderSettings, providerFor, type Quality, videoConfig } from "../config.ts";
import { type Log, workerLog } from "../log.ts";
import type { MediaNode } from "../media/media-node.ts";
import { connectMediaNode } from "../media/media-node-transport.ts";
import { mediaUrl } from "../media/media-urls.ts";
import { contentTypeOf } from "../media/keys.ts";
import { type ProviderClient, ProviderError, providerClient } from "../providers/client.ts";

/**
 * The plumbing every job step shares: what a step is handed (the claimed job, the world it may
 * touch) and what it answers. The run (run/consumer-protocol.ts) builds a `ClaimedJob` when a consumer
 * claims a job; the consumer (queue/consumer.ts) runs the step the registry names for it.
 */

/** The video a claimed job belongs to, as far as steps need it. */
export interface ClaimedVideo {
  video_id: string;
  tenant_id: string;
  request: GenerateRequest;
  spec: VideoSpec | null;
  consistency_context: string | null;
}

export interface ClaimedJob {
  /** The step claimed (set by the run; a hand-off names it). */
  step?: JobStep;
  video: ClaimedVideo;
  references: ReferenceOutput[];
  job: { id: string; kind: JobKind; beat: number | null; idx: number; attempt: number; input: unknown; prediction_id: string | null };
  /** For `ingest` and `normalize`: the finished prediction. */
  prediction: Prediction | null;
  /** For `normalize`: what the job's ingest published. */
  published: unknown;
  /** For a chunk's `normalize`: the burned captions' cues, when the soundtrack has timed them already. */
  cues?: Cue[];
  /** For a chunk's `normalize`: the run's decorations once known (layers rendered; burned cues timed), drawn in the pass on its own frames. */
  decorations?: AssemblyDecorations;
  /** For the last chunk's `normalize` (every other chunk normalized, progressive assembly): the windows it leaves, rendered in its pass. */
  windows?: OwnWindowsInput;
  /** For a chunk's `normalize`: no other chunk of the video is still generating, so the chunk phase ends with the normalize passes left, this one among them. */
  endsPhase?: boolean;
  /** A step claimed for the same consumer to run once this one (and what it hands over in turn) is done: the normalize pass of the chunk whose frame this start step is created from. */
  then?: ClaimedJob;
}

/** A reference job's output: what later steps condition on (the image and its measured palette). */
export interface ReferenceOutput {
  index: number;
  key: string;
  type: ReferenceImage["type"];
  source: string;
  analysis: ReferenceImage["analysis"];
  palette: { hex: string; share: number; lab: [number, number, number] }[];
}

/** What a job step needs from the outside world, built once per queue batch. */
export interface StepDeps {
  env: Env;
  config: Config;
  media: MediaNode;
  /** The client of `config`'s provider. */
  provider: ProviderClient;
  /** A client for another provider (a video of another quality renders there: forQuality). Tests hand in doubles. */
  clientFor(settings: ProviderSettings): ProviderClient;
  /** A URL for an R2 key, for media-node and providers to read or write (media/media-urls.ts decides which kind). */
  url(key: string, access?: "get" | "put"): Promise<string>;
  log: Log;
}

/**
 * The steps' world as this deployment provides it: media-node over whichever transport is
 * configured (the container pool in production, MEDIA_NODE_URL locally) and, for the URLs
 * handed to media-node and the provider, presigned R2 URLs where R2's S3 credentials are set.
 */
export function stepDeps(env: Env, config: Config): StepDeps {
  return {
    env,
    config,
    media: connectMediaNode(env, config),
    provider: providerClient(config.providerBaseUrl, config.providerToken),
    clientFor: (settings) => providerClient(settings.baseUrl, settings.token),
    url: (key, access = "get") => mediaUrl(config, "service", key, access),
    log: workerLog(config.log),
  };
}

/**
 * The world of one video's jobs: its quality's provider, models and timings (videoConfig) —
 * a draft renders on the draft provider, a standard video on the configured one.
 */
export function forQuality(deps: StepDeps, quality: Quality): StepDeps {
  const config = videoConfig(deps.config, quality);
  return config === deps.config ? deps : { ...deps, config, provider: deps.clientFor(providerFor(deps.config, quality)) };
}

/** The world as one job's step sees it: its log lines and its media-node calls name the video and the job. */
export function depsFor(deps: StepDeps, context: LogContext): StepDeps {
  return { ...deps, media: deps.media.about(context), log: deps.log.with(context) };
}

/**
 * A step finishes its job, asks for a prediction whose output a later `ingest` step stores, or
 * (from `ingest`) publishes what the job's dependents need and leaves the rest to `normalize`.
 */
export type StepOutcome =
  | { kind: "done"; output: unknown }
  | { kind: "predict"; model: string; input: Record<string, unknown>; estimateUsd: number }
  | { kind: "publish"; output: unknown };

export type Step = (deps: StepDeps, claim: ClaimedJob) => Promise<StepOutcome>;

export interface JobSteps {
  start: Step;
  ingest?: Step;
  normalize?: Step;
}

/** A failure that no retry can fix (bad input, refused asset): the job fails at once. */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

/** The prediction's output URL, or an error naming what came back instead. */
export function outputUrl(claim: ClaimedJob): string {
  const url = firstOutputUrl(claim.prediction?.output);
  if (!url) throw new ProviderError(`prediction ${claim.prediction?.id ?? "?"} succeeded without an output URL`, false);
  return url;
}

/** Fetch a provider's output file (images and audio are small; video goes through media-node). */
async function fetchOutput(sourceUrl: string, maxBytes: number): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(sourceUrl, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new ProviderError(`downloading the prediction output failed: ${(error as Error).message}`, true);
  }
  if (!response.ok) throw new ProviderError(`downloading the prediction output answered ${response.status}`, response.status >= 500 || response.status === 429);
  const body = await response.arrayBuffer();
  if (body.byteLength === 0 || body.byteLength > maxBytes) throw new ProviderError(`prediction output is ${body.byteLength} bytes`, false);
  return body;
}

/** An image's real format, from its signature (never from a URL or a model's promise). */
export function imageFormatOf(bytes: Uint8Array): "png" | "jpg" | "webp" | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === "PNG") return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpg";
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  return null;
}

/**
 * Store a provider's image under a `.png` key as PNG. Models that answer in another format
 * (SD 3.5 and flux default to webp, nano-banana-pro to jpg) are converted by media-node, to the
 * ad's frame size, so a key never holds bytes of another type than its name and content type say.
 */
export async function storeImageOutput(deps: StepDeps, sourceUrl: string, key: string, size: { width: number; height: number }): Promise<number> {
  const body = await fetchOutput(sourceUrl, 50 * 1024 * 1024);
  const format = imageFormatOf(new Uint8Array(body, 0, Math.min(16, body.byteLength)));
  if (format === null) throw new ProviderError("prediction output is not a PNG, JPEG or WebP image", false);
  if (format === "png") {
    await deps.env.MEDIA.put(key, body, { httpMetadata: { contentType: contentTypeOf(key) } });
    return body.byteLength;
  }
  const original = key.replace(/\.png$/, `.${format}`);
  await deps.env.MEDIA.put(original, body, { httpMetadata: { contentType: contentTypeOf(original) } });
  const converted = await deps.media.call("/v1/media/images/composite", { layers: [{ url: await deps.url(original), weight: 1 }], width: size.width, height: size.height, output_url: await deps.url(key, "put") }, CompositeResponse);
  await deps.env.MEDIA.delete(original);
  return converted.bytes;
}

/** An audio file's real format, from its signature: WAV (RIFF/WAVE) or MP3 (an ID3 tag or an MPEG frame sync). */
export function audioFormatOf(bytes: Uint8Array): "wav" | "mp3" | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "wav";
  if (bytes.length >= 3 && ascii(0, 3) === "ID3") return "mp3";
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0) return "mp3";
  return null;
}

/**
 * Store a provider's audio output in R2 under the key `keyFor` names for its real format (the
 * provider deletes outputs after an hour; a later mix or a retry of it reads our copy).
 */
export async function storeAudioOutput(deps: StepDeps, sourceUrl: string, keyFor: (extension: "wav" | "mp3") => string): Promise<{ key: string; bytes: number }> {
  const body = await fetchOutput(sourceUrl, 100 * 1024 * 1024);
  const format = audioFormatOf(new Uint8Array(body, 0, Math.min(16, body.byteLength)));
  if (format === null) throw new ProviderError("prediction output is not a WAV or MP3 file", false);
  const key = keyFor(format);
  await deps.env.MEDIA.put(key, body, { httpMetadata: { contentType: contentTypeOf(key) } });
  return { key, bytes: body.byteLength };
}
