import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { SeamReport, VideoResponse } from "../../../contracts/api.ts";
import type { SeamsResponse } from "../../../contracts/media.ts";
import { apiRequest } from "../../../test/support/worker/api-client.ts";
import { claim, driveToEnd, type Harness, runJob, snapshot, submitRun } from "../../../test/support/worker/run-driver.ts";
import { createKey } from "../../auth/keys.ts";
import type { ChunkPlan } from "../../chunks/plan.ts";
import { type MeasuredPart, plannedSeams, scoreSeams } from "../../references/seam-scores.ts";
import { SEAMS_PREFIX, type SeamMeasureInput } from "../../steps/assembly.ts";

/**
 * `GET /api/video/{id}`'s `consistency.seams[]`: every seam measured, as the progressive
 * assembly's seam measures stored them in their outputs (scored together once all are in). The stitch step runs in the tests of the real stack
 * (test/seams.test.ts measures real pixels); here the stitch job stores a scored report the way
 * that step does (references/seam-scores.ts `scoreSeams` over media-node's `videos/seams`
 * answer), with one seam inside a beat that jumps, and the route must carry it unchanged.
 */

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-record", "test")).key;
});

/** media-node's measurement of every planned seam: smooth joins, but the seam into `jumpInto` jumps 3.4×. */
function measured(plan: readonly ChunkPlan[], jumpInto: number): SeamsResponse {
  return {
    analysis_width: 256,
    analysis_height: 144,
    decoded_frames: 12 * (plan.length - 1),
    measure_seconds: 0.4,
    seams: plannedSeams(plan).map((s) => ({
      at_frame: s.at_frame,
      within_beat: s.within_beat,
      transition: s.transition,
      ssim: s.within_beat ? 0.97 : 0.6,
      palette_delta_e: s.within_beat ? 1.1 : 8,
      difference: s.chunk_num === jumpInto ? 6.8 : 1,
      motion: 2,
      jump_ratio: s.chunk_num === jumpInto ? 3.4 : s.within_beat ? 0.5 : 12,
      transition_check: s.within_beat ? null : { delivered: true, detail: "as planned" },
      rows: { from: 0, to: 144 },
      unjudged: null,
    })),
  };
}

async function record(h: Harness): Promise<VideoResponse> {
  const response = await apiRequest(`/api/video/${h.videoId}`, key);
  expect(response.status).toBe(200);
  return (await response.json()) as VideoResponse;
}

describe("GET /api/video/{id}: consistency.seams", () => {
  it("reports every seam the stitch scored, flags the one that jumps, and has none before the stitch", async () => {
    const h = await submitRun(key, "A folding e-bike for city commuters who take the train");
    const seen: { beforeStitch?: VideoResponse; report?: SeamReport } = {};
    const end = await driveToEnd(h, {
      // Progressive assembly measures the seams a few at a time (run/assembly.ts), each part as steps/assembly.ts stores it.
      run: async (harness, jobId) => {
        if (!jobId.startsWith(SEAMS_PREFIX)) return runJob(harness, jobId);
        seen.beforeStitch ??= await record(harness);
        const claimed = await claim(harness, jobId, "start");
        const plan = (await snapshot(harness)).chunk_plan!;
        const jumpInto = plannedSeams(plan).find((s) => s.within_beat)!.chunk_num;
        const all = measured(plan, jumpInto);
        seen.report = scoreSeams(plannedSeams(plan), all);
        const { measure } = claimed.job.input as SeamMeasureInput;
        const part: MeasuredPart = { measure, measured: { ...all, seams: measure.map((i) => all.seams[i]!) } };
        await harness.stub.jobDone(jobId, claimed.job.attempt, part);
      },
    });
    expect(end.status).toBe("complete");
    // Chunks are done and scored for drift, but no seam exists before the stitch.
    expect(seen.beforeStitch!.consistency!.chunks.length).toBeGreaterThan(0);
    expect(seen.beforeStitch!.consistency!.seams).toEqual([]);
    const report = seen.report!;

    const { consistency } = await record(h);
    const seams = report.seams;
    expect(seams.length).toBe(end.chunk_plan!.length - 1);
    expect(consistency!.seams).toEqual(seams);
    expect(consistency!.seam_thresholds).toEqual(report.thresholds);
    const jumped = seams.filter((s) => s.flagged);
    expect(jumped).toHaveLength(1);
    expect(jumped[0]).toMatchObject({ kind: "within_beat", jump_ratio: 3.4 });
    expect(consistency!.flagged_seams).toEqual([jumped[0]!.chunk_num]);
    const inside = seams.filter((s) => s.kind === "within_beat").map((s) => s.jump_ratio!);
    expect(consistency!.within_beat_jump_ratio).toEqual({ mean: Math.round((inside.reduce((a, b) => a + b, 0) / inside.length) * 100) / 100, max: 3.4 });
    const parts = Object.entries((await snapshot(h)).outputs).filter(([id]) => id.startsWith(SEAMS_PREFIX));
    expect(parts.flatMap(([, part]) => (part as MeasuredPart).measure).sort((a, b) => a - b)).toEqual(seams.map((_, i) => i));
  });
});
