import { describe, expect, it } from "vitest";
import { LogFollower, parseJobTransitions, parseQueueBatches } from "./queue-log.ts";

describe("queue batches in wrangler's log", () => {
  it("parses acked/total and duration", () => {
    const text = "[wrangler:info] GET /api/status/x 200 OK (12ms)\n[wrangler:info] QUEUE adreel-jobs 7/10 (2311ms)\n[wrangler:info] QUEUE adreel-jobs-dlq 1/1 (5ms)\n";
    expect(parseQueueBatches(text)).toEqual([
      { queue: "adreel-jobs", acked: 7, size: 10, ms: 2311 },
      { queue: "adreel-jobs-dlq", acked: 1, size: 1, ms: 5 },
    ]);
  });

  it("reads the runs' job transitions from their JSON lines", () => {
    const text = [
      '[wrangler:info] QUEUE adreel-jobs 1/1 (4ms)',
      '{"level":"info","time":1,"service":"worker","event":"job.transition","video_id":"v","job_id":"chunk:001","kind":"chunk","attempt":1,"transition":"handOff","from":"ready","to":"running"}',
      '{"level":"info","time":2,"service":"worker","event":"job.claimed","video_id":"v","job_id":"chunk:001"}',
      'job.transition mentioned in prose',
    ].join("\n");
    expect(parseJobTransitions(text)).toEqual([expect.objectContaining({ video_id: "v", job_id: "chunk:001", kind: "chunk", transition: "handOff", from: "ready", to: "running" })]);
  });

  it("counts each batch once while following a log seen only as its tail", () => {
    let log = "";
    const max = 300;
    const follower = new LogFollower(() => log.slice(-max), 100);
    const line = (i: number) => `[wrangler:info] GET /api/status/${i} 200 OK (3ms)\n[wrangler:info] QUEUE adreel-jobs 1/1 (${i}ms)\n`;
    for (let i = 1; i <= 20; i++) {
      if (i === 8) log += "9ms)\n"; // the rest of the line cut mid-write below
      log += line(i);
      if (i === 7) log += "[wrangler:info] QUEUE adreel-jobs 2/2 (9";
      follower.poll();
    }
    expect(follower.batches.map((b) => b.ms)).toEqual([1, 2, 3, 4, 5, 6, 7, 99, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(follower.lost).toBe(false);
  });

  it("says so when the log outran it", () => {
    let log = "x\n";
    const follower = new LogFollower(() => log.slice(-100), 20);
    follower.poll();
    log += "[wrangler:info] QUEUE adreel-jobs 1/1 (1ms)\n".repeat(10);
    follower.poll();
    expect(follower.lost).toBe(true);
  });
});
