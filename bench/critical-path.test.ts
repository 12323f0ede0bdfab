import { describe, expect, it } from "vitest";
import { criticalPath, mediaRequestSeconds } from "./critical-path.ts";
import type { JobInterval } from "./event-log.ts";

const job = (id: string, beat: number, lastStartAt: number, ingestAt: number, publishAt: number, doneAt: number): JobInterval => ({ id, kind: "chunk", beat, startAt: lastStartAt, lastStartAt, ingestAt, publishAt, doneAt, attempts: 1 });

describe("the chunk phase along the chain that ended it", () => {
  it("splits the phase into parts that add up to it, on the beat whose last chunk was done last", () => {
    const intervals = [
      job("chunk:001", 0, 1_100, 4_100, 4_400, 9_000),
      job("chunk:002", 0, 4_500, 7_500, 7_900, 12_000),
      job("chunk:003", 1, 1_200, 4_200, 4_500, 6_000),
    ];
    const chains: Record<number, string[]> = { 0: ["chunk:001", "chunk:002"], 1: ["chunk:003"] };
    const path = criticalPath(intervals, (beat) => chains[beat] ?? [], { startAt: 1_000, endAt: 12_500 });
    expect(path).toEqual({ beat: 0, ids: ["chunk:001", "chunk:002"], chunks: 2, firstCreateSeconds: 0.1, providerSeconds: 6, lastFrameSeconds: 0.7, handoffSeconds: 0.1, tailNormalizeSeconds: 4.1, afterTailSeconds: 0.5 });
    const sum = path.firstCreateSeconds + path.providerSeconds + path.lastFrameSeconds + path.handoffSeconds + path.tailNormalizeSeconds + path.afterTailSeconds;
    expect(sum).toBeCloseTo(11.5, 9);
  });

  it("ends the chain at the tail when a chunk before the beat's last was done last", () => {
    const intervals = [job("chunk:001", 0, 0, 3_000, 3_200, 9_000), job("chunk:002", 0, 3_300, 6_300, 6_500, 7_000)];
    const path = criticalPath(intervals, () => ["chunk:001", "chunk:002"], { startAt: 0, endAt: 9_000 });
    expect(path).toMatchObject({ ids: ["chunk:001"], chunks: 1, providerSeconds: 3, lastFrameSeconds: 0.2, handoffSeconds: 0, tailNormalizeSeconds: 5.8 });
  });

  it("counts no last frame for a tail normalized in its ingest (it published nothing first): its pass runs from the ingest", () => {
    const intervals = [job("chunk:001", 0, 0, 3_000, 3_200, 5_000), job("chunk:002", 0, 3_300, 6_300, Number.NaN, 7_000)];
    const path = criticalPath(intervals, () => ["chunk:001", "chunk:002"], { startAt: 0, endAt: 7_000 });
    expect(path).toMatchObject({ ids: ["chunk:001", "chunk:002"], providerSeconds: 6, lastFrameSeconds: 0.2, handoffSeconds: 0.1, tailNormalizeSeconds: 0.7, afterTailSeconds: 0 });
  });

  it("answers NaN parts when a chunk of that chain has no interval", () => {
    const path = criticalPath([job("chunk:002", 0, 0, 1, 2, 3)], () => ["chunk:001", "chunk:002"], { startAt: 0, endAt: 3 });
    expect(path.chunks).toBe(2);
    expect(path.providerSeconds).toBeNaN();
  });

  it("reads media-node's own time per job from its request.end lines, for one video and route, successes only", () => {
    const line = (fields: Record<string, unknown>) => JSON.stringify({ level: "info", service: "media-node", event: "request.end", method: "POST", ...fields });
    const lines = [
      line({ path: "/v1/media/chunks/last-frame", status: 200, duration_ms: 250, video_id: "v", job_id: "chunk:001" }),
      line({ path: "/v1/media/chunks/last-frame", status: 200, duration_ms: 900, video_id: "w", job_id: "chunk:001" }),
      line({ path: "/v1/media/chunks/normalize", status: 503, duration_ms: 1, video_id: "v", job_id: "chunk:001" }),
      line({ path: "/v1/media/chunks/normalize", status: 200, duration_ms: 600, video_id: "v", job_id: "chunk:001" }),
      "not json",
    ];
    expect(mediaRequestSeconds(lines, "v", "chunks/last-frame")).toEqual(new Map([["chunk:001", 0.25]]));
    expect(mediaRequestSeconds(lines, "v", "chunks/normalize")).toEqual(new Map([["chunk:001", 0.6]]));
  });
});
