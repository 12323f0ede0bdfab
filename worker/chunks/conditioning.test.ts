import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChunkPlan } from "../../contracts/spec.ts";
import { apiRequest } from "../../test/support/worker/api-client.ts";
import { createKey } from "../auth/keys.ts";
import { beatEndView, conditioningOf } from "./conditioning.ts";
import { driftCorrection, nextChunkInput, reanchorStrength, referenceDrift } from "./drift.ts";

const weights = { storyboard: 0.7, style: 0.3, previousFrame: 0.7, storyboardAfterFirst: 0.3 };
const options = { weights, fps: 24, endFrames: true, style: true };

function chunk(over: Partial<ChunkPlan>): ChunkPlan {
  return {
    chunk_num: 4,
    beat_index: 1,
    index_in_beat: 1,
    chunks_in_beat: 3,
    start_frame: 48,
    video_start_frame: 120,
    frames: 48,
    prompt: "Hero shot. Continuous shot, part 2 of 3.",
    camera: "push_in",
    seam_in: { type: "cut", frames: 0 },
    seam_out: { type: "cut", frames: 0 },
    first_in_beat: false,
    last_in_beat: false,
    ...over,
  };
}
const first = chunk({ chunk_num: 3, index_in_beat: 0, start_frame: 0, first_in_beat: true });
const middle = chunk({});
const last = chunk({ chunk_num: 5, index_in_beat: 2, start_frame: 96, last_in_beat: true });

describe("continuity conditioning", () => {
  it("starts a beat on its storyboard frame and every later chunk on the previous chunk's last frame", () => {
    expect(conditioningOf(first, "continuity", options)).toEqual({ strategy: "continuity", start: { kind: "storyboard" }, end: null });
    expect(conditioningOf(middle, "continuity", options)).toEqual({ strategy: "continuity", start: { kind: "last_frame", chunk_num: 3 }, end: null });
  });

  it("ends a beat's last chunk where the beat's camera arrives, when that view lies inside the storyboard", () => {
    // 144 rendered frames = 6 s of push-in: 6 %/s capped at 25 %.
    expect(conditioningOf(last, "continuity", options)).toEqual({ strategy: "continuity", start: { kind: "last_frame", chunk_num: 4 }, end: { zoom: 1.25, dx: 0, dy: 0 } });
    // No end frame for a model without the input, for a single-chunk beat, or for moves that end outside the frame or where they began.
    expect(conditioningOf(last, "continuity", { ...options, endFrames: false })).toMatchObject({ end: null });
    expect(beatEndView(chunk({ chunks_in_beat: 1, index_in_beat: 0, first_in_beat: true, last_in_beat: true, start_frame: 0 }), 24)).toBeNull();
    for (const camera of ["pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down", "orbit", "static", "handheld"] as const) {
      expect(beatEndView({ ...last, camera }, 24), camera).toBeNull();
    }
  });
});

describe("composite conditioning (seed 003)", () => {
  it("blends storyboard and style for a beat's first chunk, previous last frame and storyboard after, with the configured weights", () => {
    expect(conditioningOf(first, "composite", options)).toEqual({ strategy: "composite", layers: [{ picture: { kind: "storyboard" }, weight: 0.7 }, { picture: { kind: "style" }, weight: 0.3 }] });
    expect(conditioningOf(middle, "composite", { ...options, weights: { ...weights, previousFrame: 0.8, storyboardAfterFirst: 0.2 } })).toEqual({
      strategy: "composite",
      layers: [{ picture: { kind: "last_frame", chunk_num: 3 }, weight: 0.8 }, { picture: { kind: "storyboard" }, weight: 0.2 }],
    });
    // Without a style reference the first chunk's composite is its storyboard frame alone.
    expect(conditioningOf(first, "composite", { ...options, style: false })).toEqual({ strategy: "composite", layers: [{ picture: { kind: "storyboard" }, weight: 0.7 }] });
  });
});

describe("the request's conditioning field", () => {
  let key: string;
  beforeAll(async () => {
    key = (await createKey(env.DB, "tenant-conditioning", "test")).key;
  });

  it("is a 422 naming the field when it is neither strategy", async () => {
    const response = await apiRequest("/api/generate", key, { method: "POST", body: JSON.stringify({ prompt: "A steel bottle", duration_s: 15, conditioning: "blend", dry_run: true }) });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'conditioning: must be "continuity" or "composite"', field: "conditioning" });
    const accepted = await apiRequest("/api/generate", key, { method: "POST", body: JSON.stringify({ prompt: "A steel bottle", duration_s: 15, conditioning: "composite", dry_run: true }) });
    expect(accepted.status).toBe(200);
  });
});

describe("drift correction (chunks/drift.ts)", () => {
  const drifting = chunk({ chunk_num: 3, index_in_beat: 0, start_frame: 0, first_in_beat: true });
  const on = { threshold: 20, strategy: "continuity" as const, endFrames: true, fps: 24 };

  it("re-anchors the next chunk of the beat when a chunk drifts past the threshold, strong enough to bring it to ¾ of it", () => {
    expect(driftCorrection(drifting, middle, 40, on)).toEqual({ action: "reanchor", chunk_num: 3, next_chunk_num: 4, drift: 40, threshold: 20, strength: 0.63 });
    expect(reanchorStrength(40, 20)).toBe(0.63);
    expect(reanchorStrength(20.5, 20)).toBe(0.27);
    // Never past the storyboard's own statistics.
    expect(reanchorStrength(1e9, 20)).toBe(1);
    const input = nextChunkInput(middle, driftCorrection(drifting, middle, 40, on));
    expect(input.reanchor).toEqual({ from_chunk: 3, strength: 0.63, drift: 40 });
    expect(conditioningOf(input, "continuity", options)).toEqual({ strategy: "continuity", start: { kind: "reanchored", chunk_num: 3, strength: 0.63 }, end: null });
  });

  it("lets the end frame pull the beat's last chunk back instead, where the model takes one", () => {
    expect(driftCorrection(middle, last, 40, on)).toMatchObject({ action: "end_frame", next_chunk_num: 5 });
    expect(driftCorrection(middle, last, 40, { ...on, endFrames: false })).toMatchObject({ action: "reanchor", next_chunk_num: 5 });
  });

  it("does nothing at or under the threshold, without a measure, under composite, or for the next beat's first chunk; and clears an earlier re-anchor", () => {
    expect(driftCorrection(drifting, middle, 20, on)).toBeNull();
    expect(driftCorrection(drifting, middle, null, on)).toBeNull();
    expect(driftCorrection(drifting, middle, 40, { ...on, strategy: "composite" })).toBeNull();
    expect(driftCorrection(last, chunk({ chunk_num: 6, beat_index: 2, index_in_beat: 0, first_in_beat: true }), 40, on)).toBeNull();
    expect(driftCorrection(last, undefined, 40, on)).toBeNull();
    const reanchored = nextChunkInput(middle, driftCorrection(drifting, middle, 40, on));
    expect(nextChunkInput(reanchored, null)).toEqual(middle);
  });

  it("measures drift against the references' pooled palette", () => {
    const red = [{ hex: "#C0392B", share: 1, lab: [45, 60, 40] as [number, number, number] }];
    const blue = [{ hex: "#1030E0", share: 1, lab: [32, 60, -100] as [number, number, number] }];
    expect(referenceDrift(red, [{ palette: red }, { palette: red }])).toBe(0);
    expect(referenceDrift(blue, [{ palette: red }])).toBeGreaterThan(20);
    expect(referenceDrift([], [{ palette: red }])).toBeNull();
    expect(referenceDrift(red, [])).toBeNull();
  });
});
