import { AssembleResponse, SeamsResponse, StitchWindowResponse } from "../../contracts/media.ts";
import type { AssembleInput, AssemblyDecorations, OverlaysOutput, SeamMeasureInput, WindowInput } from "../run/assembly.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ClaimedJob, StepDeps, StepOutcome } from "./step.ts";
import { renderOverlays } from "./stitch.ts";

/**
 * The steps of progressive assembly (run/assembly.ts decides when each runs): the copy's layers,
 * one window, a few seam measures, and the final assembly with the soundtrack.
 */

/** The decorations as media-node takes them: each stored layer by a signed URL, the held cues. */
async function decorationsFor(deps: StepDeps, decorations: AssemblyDecorations) {
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
      chunks: await Promise.all(chunks.map(async (c) => ({ frames: c.frames, url: c.key === null ? null : await deps.url(c.key) }))),
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
        pieces: await Promise.all(pieces.map(async ({ key, ...piece }) => ({ ...piece, url: await deps.url(key) }))),
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

export async function assembleStep(deps: StepDeps, claim: ClaimedJob): Promise<StepOutcome> {
  const spec = claim.video.spec!;
  const input = claim.job.input as AssembleInput;
  const key = mediaKeys.final(claim.video.video_id);
  const result = await deps.media.call(
    "/v1/media/videos/assemble",
    {
      chunks: await Promise.all(input.chunks.map(async (c) => ({ frames: c.frames, url: await deps.url(c.key) }))),
      windows: await Promise.all(input.windows.map(async (w) => ({ from_frame: w.from_frame, to_frame: w.to_frame, url: await deps.url(w.key) }))),
      transitions: input.transitions,
      width: spec.width,
      height: spec.height,
      fps: spec.fps,
      ...(await decorationsFor(deps, input.decorations)),
      render_windows: await Promise.all(input.render.map(async (w) => ({ ...w, output_url: await deps.url(mediaKeys.window(claim.video.video_id, w.from_frame), "put") }))),
      audio_url: await deps.url(mediaKeys.music(claim.video.video_id)),
      output_url: await deps.url(key, "put"),
    },
    AssembleResponse,
  );
  const rendered = input.render.map((w) => ({ from_frame: w.from_frame, key: mediaKeys.window(claim.video.video_id, w.from_frame) }));
  if (result.frames !== spec.total_frames) throw new Error(`assembled ${result.frames} frames, the spec needs ${spec.total_frames}`);
  const { logo, cta_box, mark_box } = input.overlays;
  return { kind: "done", output: { key, ...result, rendered, logo, cta_box, mark_box } };
}
