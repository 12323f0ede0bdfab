import { Cue, RenderOverlaysResponse, StitchResponse, holdCuesToKeyframes } from "../../contracts/media.ts";
import { copyWindows, type VideoSpec } from "../../contracts/spec.ts";
import { mediaKeys } from "../media/keys.ts";
import type { ChunkOutput } from "../chunks/output.ts";
import { ChunkPlan } from "../chunks/plan.ts";
import { assetIdOf } from "../references/assets.ts";
import type { ClaimedJob, JobSteps, StepDeps } from "./step.ts";

/**
 * Stitching (SPEC §8): the normalized chunks in order, joined by the spec's transitions —
 * cuts inside a beat, the beat's own transition between beats — with the ad's finish drawn on
 * (issue 15): the headline over its beat, the end card (the brand's own logo or its name in
 * type, the offer, the call to action) from its beat to the end, and burned captions on their
 * cues. Only the frames those cover and the transition windows are re-encoded. The prepared
 * soundtrack is then muxed under it (mux.ts).
 */

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
async function renderOverlays(deps: StepDeps, claim: ClaimedJob, spec: VideoSpec) {
  const videoId = claim.video.video_id;
  const { copy } = spec;
  const windows = copyWindows(spec);
  // A one-beat ad has no beat before its end card: the end card alone carries the copy.
  const withHeadline = windows.headline.to_frame <= windows.end_card.from_frame;
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
  const layers = [
    ...(withHeadline ? [{ url: await deps.url(mediaKeys.overlay(videoId, "headline")), ...windows.headline }] : []),
    { url: await deps.url(mediaKeys.overlay(videoId, "end-card")), ...windows.end_card },
  ];
  return { layers, rendered };
}

export const stitchSteps: JobSteps = {
  async start(deps, claim) {
    const spec = claim.video.spec!;
    const videoId = claim.video.video_id;
    const input = claim.job.input as { chunks?: unknown[]; outputs?: ChunkOutput[]; cues?: unknown[] };
    const plan = (input.chunks ?? []).map((c) => ChunkPlan.parse(c));
    const outputs = input.outputs ?? [];
    if (plan.length === 0 || plan.length !== outputs.length) throw new Error("stitch job has no chunk list");
    const cues = holdCuesToKeyframes((input.cues ?? []).map((c) => Cue.parse(c)), plan, outputs, spec.fps, spec.total_frames);
    const [chunks, overlays] = await Promise.all([
      Promise.all(outputs.map(async (o) => ({ url: await deps.url(o.key), frames: o.frames }))),
      renderOverlays(deps, claim, spec),
    ]);
    const transitions = plan.slice(0, -1).map((c) => c.seam_out);
    const key = mediaKeys.stitched(videoId);
    const result = await deps.media.call(
      "/v1/media/videos/stitch",
      {
        chunks,
        transitions,
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        method: "seams",
        overlays: overlays.layers,
        captions: cues.length ? { cues } : null,
        output_url: await deps.url(key, "put"),
      },
      StitchResponse,
    );
    if (result.frames !== spec.total_frames) throw new Error(`stitched ${result.frames} frames, the spec needs ${spec.total_frames}`);
    return { kind: "done", output: { key, ...result, logo: overlays.rendered.end_card.logo, cta_box: overlays.rendered.end_card.cta_box, mark_box: overlays.rendered.end_card.mark_box } };
  },
};
