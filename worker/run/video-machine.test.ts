import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GenerateRequest, VideoStatus } from "../../contracts/api.ts";
import { runOf } from "../../test/support/worker/run-driver.ts";
import { readRow } from "./run-row.ts";
import { createRun, endRun, reopenRun } from "./run-state.ts";
import { VIDEO_TRANSITIONS, type VideoEvent, videoTransition } from "./video-machine.ts";
import type { VideoRun } from "./video-run.ts";

/**
 * The video lifecycle table (video-machine.ts), enumerated: every event in every status, then
 * the run row's writers (run-state.ts) on a real Durable Object's SQLite, which must move the
 * status exactly where the table says and leave it alone everywhere else.
 */

const EXPECTED: Record<VideoEvent, Partial<Record<VideoStatus, VideoStatus>>> = {
  advance: { queued: "processing", processing: "processing" },
  complete: { queued: "complete", processing: "complete" },
  fail: { queued: "failed", processing: "failed" },
  cancel: { queued: "cancelled", processing: "cancelled" },
  reopen: { complete: "processing" },
};

describe("the video lifecycle table", () => {
  for (const event of Object.keys(VIDEO_TRANSITIONS) as VideoEvent[])
    for (const status of VideoStatus.options)
      it(`${event} in ${status} → ${EXPECTED[event][status] ?? "refused"}`, () => {
        expect(videoTransition(status, event)).toBe(EXPECTED[event][status] ?? null);
      });

  it("nothing leaves failed or cancelled", () => {
    for (const event of Object.keys(VIDEO_TRANSITIONS) as VideoEvent[]) {
      expect(videoTransition("failed", event)).toBeNull();
      expect(videoTransition("cancelled", event)).toBeNull();
    }
  });
});

describe("the run row moves only by the table", () => {
  const request = GenerateRequest.parse({ prompt: "A folding e-bike for city commuters", duration_s: 15 });
  const status = (sql: SqlStorage) => readRow(sql)!.status;

  it("an ended video stays ended: a second end and a reopen of a failed video change nothing", async () => {
    await runInDurableObject(runOf(crypto.randomUUID()), (_instance: VideoRun, state) => {
      const sql = state.storage.sql;
      createRun(sql, { video_id: "v-ended", tenant_id: "t", request, cost_estimate: null });
      expect(status(sql)).toBe("queued");
      expect(endRun(sql, "failed", "the planner refused", 1)).toEqual({ progress: 0 });
      expect(endRun(sql, "complete", null, 2)).toBe(false);
      expect(endRun(sql, "cancelled", null, 3)).toBe(false);
      reopenRun(sql, { beats: [] } as never, [], 50, 4);
      expect(readRow(sql)).toMatchObject({ status: "failed", error: "the planner refused", completed_at: 1 });
    });
  });

  it("a complete video reopens once; a processing one is not reopened", async () => {
    await runInDurableObject(runOf(crypto.randomUUID()), (_instance: VideoRun, state) => {
      const sql = state.storage.sql;
      createRun(sql, { video_id: "v-reopen", tenant_id: "t", request, cost_estimate: null });
      reopenRun(sql, { beats: [] } as never, [], 50, 1);
      expect(status(sql)).toBe("queued");
      expect(endRun(sql, "complete", null, 2)).toEqual({ progress: 100 });
      reopenRun(sql, { beats: [] } as never, [], 60, 3);
      expect(readRow(sql)).toMatchObject({ status: "processing", phase: "generating_chunks", progress: 60, completed_at: null });
      reopenRun(sql, { beats: [1] } as never, [], 70, 4);
      expect(readRow(sql)!.progress).toBe(60);
    });
  });
});
