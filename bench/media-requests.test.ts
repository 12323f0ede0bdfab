import { describe, expect, it } from "vitest";
import { tallyMediaRequests } from "./media-requests.ts";

const end = (fields: Record<string, unknown>) => `[media] ${JSON.stringify({ level: "info", time: 20, event: "request.end", method: "POST", ...fields })}`;

describe("tallyMediaRequests", () => {
  it("counts requests, busy refusals and repeated successes per route, ordered by time spent, from `since` on", () => {
    const job = { video_id: "v1", job_id: "chunk:0:0", attempt: 1, step: "ingest" };
    const tally = tallyMediaRequests([
      end({ path: "/v1/media/chunks/normalize", status: 503, duration_ms: 2, ...job }),
      end({ path: "/v1/media/chunks/normalize", status: 200, duration_ms: 3000, ...job }),
      end({ path: "/v1/media/chunks/normalize", status: 200, duration_ms: 2500, ...job }),
      end({ path: "/v1/media/chunks/normalize", status: 200, duration_ms: 2000, ...job, attempt: 2 }),
      end({ path: "/v1/media/chunks/last-frame", status: 200, duration_ms: 400, ...job }),
      end({ path: "/health", status: 200, duration_ms: 1 }),
      `[media] {"event":"request.start","path":"/v1/media/chunks/normalize"}`,
      "not json at all",
      end({ path: "/v1/media/chunks/normalize", status: 200, duration_ms: 9000, ...job, time: 5 }),
    ], 10);
    expect(tally).toEqual([
      { path: "chunks/normalize", requests: 4, busy: 1, ok: 3, repeated: 1, okSeconds: 7.5 },
      { path: "chunks/last-frame", requests: 1, busy: 0, ok: 1, repeated: 0, okSeconds: 0.4 },
    ]);
  });
});
