import { describe, expect, it } from "vitest";
import { assemblyTimes } from "./assembly.ts";
import type { TimedEvent } from "./event-log.ts";

let seq = 1;
const job = (at: number, id: string, idx: number, status: string, output?: unknown): TimedEvent => ({
  id: ++seq,
  type: "job",
  at,
  job: { id, kind: id.split(":")[0], beat: 0, idx, status, attempt: 1 },
  ...(output === undefined ? {} : { output }),
});

/** Three chunks; chunk 2 is the last done, its pass from `lastStart`; chunk 1's pass runs [`prevStart`, `prevDone`]. */
function run(prevStart: number, prevDone: number, lastStart: number, lastInIngest = false): TimedEvent[] {
  return [
    job(1_000, "chunk:000", 0, "normalizing"),
    job(2_000, "chunk:000", 0, "done"),
    job(prevStart, "chunk:001", 1, "normalizing"),
    job(prevDone, "chunk:001", 1, "done"),
    job(lastStart - 200, "chunk:002", 2, "ingesting"),
    ...(lastInIngest ? [] : [job(lastStart, "chunk:002", 2, "normalizing")]),
    job(10_000, "chunk:002", 2, "done", { windows: [] }),
    job(10_600, "mux", 0, "done"),
  ];
}

describe("assemblyTimes: the last chunk's pass and a neighbour still normalizing", () => {
  it("names the neighbour whose pass was running when the last chunk's started, and how long before the last chunk's done it was done", () => {
    const times = assemblyTimes(run(5_000, 9_000, 6_000));
    expect(times.breakdown.lastPass).toBe(4);
    expect(times.breakdown.neighbourInFlight).toEqual({ chunk: 1, doneBefore: 1 });
    expect(times.fromNormalized).toBeCloseTo(0.6);
  });

  it("finds none when every neighbour was done before the last chunk's pass started", () => {
    expect(assemblyTimes(run(3_000, 5_500, 6_000)).breakdown.neighbourInFlight).toBeNull();
  });

  it("takes the pass run in the ingest from its `ingesting`", () => {
    const times = assemblyTimes(run(5_000, 9_000, 6_000, true));
    expect(times.breakdown.lastPass).toBe(4.2);
    expect(times.breakdown.neighbourInFlight).toEqual({ chunk: 1, doneBefore: 1 });
  });
});
