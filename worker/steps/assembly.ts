import { AssembleResponse, RenderOverlaysResponse, SeamsResponse, StitchWindowResponse } from "../../contracts/media.ts";
import { copyLayers, type VideoSpec } from "../../contracts/spec.ts";
import type { PlanJoin } from "../../lib/stitch-plan.ts";
import { assetIdOf } from "../references/assets.ts";
import { SEAMS_PREFIX } from "../references/seam-scores.ts";
import type { SeamSpec } from "../../contracts/media.ts";
import { mediaKeys } from "../media/keys.ts";
import type { AssemblyDecorations } from "../chunks/decorations.ts";
import type { ClaimedJob, StepDeps, StepOutcome } from "./step.ts";

/**
 * The steps of progressive assembly (run/assembly.ts decides when each runs): the copy's layers,
 * one window, a few seam measures, and the final assembly with the soundtrack.
 */

export { SEAMS_PREFIX };
export const OVERLAYS_JOB = "overlays";
export const WINDOW_PREFIX = "stitch:";


export type { AssemblyDecorations };

/** Where a chunk or the assembly asks media-node for a chunk: its stored file once normalized, else null. */
export interface AssemblyChunk {
  frames: number;
  key: string | null;
}

export interface WindowInput {
  window: { from_frame: number; to_frame: number };
  chunks: AssemblyChunk[];
  transitions: PlanJoin[];
  decorations: AssemblyDecorations;
}

export interface SeamMeasureInput {
  /** Every seam of the video (they bound each other's motion steps); `measure` are those this job measures. */
  seams: SeamSpec[];
  measure: number[];
  pieces: { key: string; from_frame: number; to_frame: number; file_from_frame: number }[];
  decorations: AssemblyDecorations;
}

export interface AssembleInput {
  assemble: true;
  chunks: { frames: number; key: string }[];
  windows: { from_frame: number; to_frame: number; key: string }[];
  /** Windows no job has rendered (the last chunk's own): the assembly renders them in the same request, one queue hop and one request fewer. */
  render: { from_frame: number; to_frame: number }[];
  transitions: PlanJoin[];
  decorations: AssemblyDecorations;
  /** The overlays job's output: where the end card put the logo, the call to action and the brand mark. */
  overlays: OverlaysOutput;
}

/** What the overlays job leaves: the stored layers with their frames, and where the end card placed its parts. */
export interface OverlaysOutput {
  layers: AssemblyDecorations["overlays"];
  logo: unknown;
  cta_box: unknown;
  mark_box: unknown;
}

/** The brand's own logo as the run stored it: the tenant asset the request names, else a logo reference; null without one. */
async function logoUrl(deps: StepDeps, claim: ClaimedJob): Promise<string | null> {
  const logo = claim.video.request.brand_assets?.logo;
  if (!logo) return null;
  const assetId = assetIdOf(logo);
  if (assetId) return deps.url(mediaKeys.asset(claim.video.tenant_id, assetId));
  const reference = claim.references.find((r) => r.type === "logo");
  return reference ? deps.url(reference.key) : null;
}

/** The copy's layers, rendered by media-node at the ad's size, with the output frames each covers. */
export async function renderOverlays(deps: StepDeps, claim: ClaimedJob, spec: VideoSpec) {
  const videoId = claim.video.video_id;
  const { copy } = spec;
  const drawn = copyLayers(spec);
  const withHeadline = drawn.some((l) => l.layer === "headline");
  const rendered = await deps.media.call(
    "/v1/media/finish/overlays",
    {
      width: spec.width,
      height: spec.height,
      headline: withHeadline ? { text: copy.headline, output_url: await deps.url(mediaKeys.overlay(videoId, "headline"), "put") } : null,
      end_card: { brand: copy.brand, logo_url: await logoUrl(deps, claim), offer: copy.offer, cta: copy.cta, output_url: await deps.url(mediaKeys.overlay(videoId, "end-card"), "put") },
    },
    RenderOverlaysResponse,
  );
  const layers = await Promise.all(
    drawn.map(async ({ layer, from_frame, to_frame }) => {
      const key = mediaKeys.overlay(videoId, layer);
      return { key, url: await deps.url(key), from_frame, to_frame };
    }),
  );
  return { layers, rendered };
}

/** The decorations as media-node takes them: each stored layer by a signed URL, the held cues. */
export async function decorationsFor(deps: StepDeps, decorations: AssemblyDecorations) {
  return {
    overlays: await Promise.all(decorations.overlays.map(async ({ key, from_frame, to_frame }) => ({ url: await deps.url(key), from_frame, to_frame }))),
    captions: decorations.cues.length ? { cues: decorations.cues } : null,
  };
}

export async function overlaysStep(deps: StepDeps, claim: ClaimedJob): Promise<StepOutcome> {
  const { layers, rendered } = await renderOverlays(deps, claim, claim.video.spec!);
  const { logo, cta_box, mark_box } = rendered.end_card;
  const output: OverlaysOutput = { layers: layers.map(({ key, from_frame, to_frame }) => ({ key, from_frame, to_frame })), logo, cta_box, mark_box };
  return { kind: "done", output };
}

export async function windowStep(deps: StepDeps, claim: ClaimedJob): Promise<StepOutcome> {
  const spec = claim.video.spec!;
  const { window, chunks, transitions, decorations } = claim.job.input as WindowInput;
  const key = mediaKeys.window(claim.video.video_id, window.from_frame);
  const result = await deps.media.call(
    "/v1/media/videos/stitch/window",
    {
      chunks: await Promise.all(chunks.map(async (c) => (c.key === null ? { frames: c.frames, url: null } : { frames: c.frames, ...(await storedPiece(deps, c.key)) }))),
      transitions,
      width: spec.width,
      height: spec.height,
      fps: spec.fps,
      ...(await decorationsFor(deps, decorations)),
      window,
      output_url: await deps.url(key, "put"),
    },
    StitchWindowResponse,
  );
  return { kind: "done", output: { key, ...result } };
}

/** A failed measurement leaves `measured` null with `error`; like the one-shot stitch's, it never fails the video. */
export async function seamsStep(deps: StepDeps, claim: ClaimedJob): Promise<StepOutcome> {
  const spec = claim.video.spec!;
  const { seams, measure, pieces, decorations } = claim.job.input as SeamMeasureInput;
  try {
    const measured = await deps.media.call(
      "/v1/media/videos/seams",
      {
        pieces: await Promise.all(pieces.map(async ({ key, ...piece }) => ({ ...piece, ...(await storedPiece(deps, key)) }))),
        measure,
        seams,
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        frames: spec.total_frames,
        decorations: await decorationsFor(deps, decorations),
      },
      SeamsResponse,
      120_000,
    );
    return { kind: "done", output: { measure, measured } };
  } catch (error) {
    deps.log.warn("stitch.seams_unmeasured", { job: claim.job.id, error: (error as Error).message });
    return { kind: "done", output: { measure, measured: null, error: (error as Error).message } };
  }
}

/**
 * A piece for the assembly: its URL and the etag R2 holds for it now, by which media-node reads
 * its own copy of what it stored (media-node/piece-cache.ts). Without an etag (the head failed)
 * media-node downloads it.
 */
export async function storedPiece(deps: StepDeps, key: string): Promise<{ url: string; etag?: string }> {
  const [url, head] = await Promise.all([deps.url(key), deps.env.MEDIA.head(key).catch(() => null)]);
  return head ? { url, etag: head.etag } : { url };
}

export async function assembleStep(deps: StepDeps, claim: ClaimedJob): Promise<StepOutcome> {
  const spec = claim.video.spec!;
  const input = claim.job.input as AssembleInput;
  const key = mediaKeys.final(claim.video.video_id);
  const result = await deps.media.call(
    "/v1/media/videos/assemble",
    {
      chunks: await Promise.all(input.chunks.map(async (c) => ({ frames: c.frames, ...(await storedPiece(deps, c.key)) }))),
      windows: await Promise.all(input.windows.map(async (w) => ({ from_frame: w.from_frame, to_frame: w.to_frame, ...(await storedPiece(deps, w.key)) }))),
      transitions: input.transitions,
      width: spec.width,
      height: spec.height,
      fps: spec.fps,
      ...(await decorationsFor(deps, input.decorations)),
      render_windows: await Promise.all(input.render.map(async (w) => ({ ...w, output_url: await deps.url(mediaKeys.window(claim.video.video_id, w.from_frame), "put") }))),
      ...(await storedPiece(deps, mediaKeys.music(claim.video.video_id)).then(({ url, etag }) => ({ audio_url: url, audio_etag: etag }))),
      output_url: await deps.url(key, "put"),
    },
    AssembleResponse,
  );
  const rendered = input.render.map((w) => ({ from_frame: w.from_frame, key: mediaKeys.window(claim.video.video_id, w.from_frame) }));
  if (result.frames !== spec.total_frames) throw new Error(`assembled ${result.frames} frames, the spec needs ${spec.total_frames}`);
  const { logo, cta_box, mark_box } = input.overlays;
  return { kind: "done", output: { key, ...result, rendered, logo, cta_box, mark_box } };
}
