import { describe, expect, it } from "vitest";
import { jobIntervals, peakOverlap, phaseTimeline, type TimedEvent } from "./event-log.ts";

let seq = 1;
const ev = (at: number, type: string, data: Record<string, unknown> = {}): TimedEvent => ({ id: ++seq, type, at, ...data });
const job = (at: number, id: string, status: string, attempt = 1) => ev(at, "job", { job: { id, kind: id.split(":")[0], beat: 0, status, attempt } });

describe("phaseTimeline", () => {
  it("gives each phase the time until the next one began, the last until the terminal event", () => {
    const { phases, totalSeconds, ended } = phaseTimeline({
      createdAt: 1_000,
      events: [
        ev(2_000, "phase", { phase: "generating_references" }),
        ev(2_500, "progress", { phase: "generating_references" }),
        ev(5_000, "phase", { phase: "storyboarding" }),
        ev(9_000, "phase", { phase: "generating_chunks" }),
        ev(20_000, "phase", { phase: "stitching" }),
        ev(23_000, "phase", { phase: "adding_music" }),
        ev(24_500, "complete", { status: "complete" }),
        ev(25_000, "warning", { message: "late" }),
      ],
    });
    expect(phases.map((p) => [p.phase, p.seconds])).toEqual([
      ["queued", 1],
      ["generating_references", 3],
      ["storyboarding", 4],
      ["generating_chunks", 11],
      ["stitching", 3],
      ["adding_music", 1.5],
    ]);
    expect(totalSeconds).toBe(23.5);
    expect(ended).toBe("complete");
    expect(phases.reduce((s, p) => s + p.seconds, 0)).toBeCloseTo(totalSeconds, 9);
  });

  it("ignores a repeated phase event and says when the run has not ended", () => {
    const { phases, ended } = phaseTimeline({ createdAt: 0, events: [ev(1_000, "phase", { phase: "storyboarding" }), ev(2_000, "phase", { phase: "storyboarding" }), ev(4_000, "progress")] });
    expect(phases.map((p) => [p.phase, p.seconds])).toEqual([
      ["queued", 1],
      ["storyboarding", 3],
    ]);
    expect(ended).toBeNull();
  });
});

describe("job intervals", () => {
  it("runs from the first prediction to done, keeping the ingest start and the last attempt", () => {
    const events = [
      job(100, "chunk:000", "queued"),
      job(200, "chunk:000", "predicting"),
      job(900, "chunk:000", "predicting", 2), // a retry: the interval keeps its first start
      job(1_500, "chunk:000", "ingesting", 2),
      job(1_600, "chunk:000", "normalizing", 2),
      job(1_800, "chunk:000", "done", 2),
      job(300, "chunk:001", "predicting"), // never done: left out
      job(400, "storyboard:0", "predicting"),
      job(600, "storyboard:0", "done"),
    ];
    expect(jobIntervals(events, "chunk")).toEqual([{ id: "chunk:000", kind: "chunk", beat: 0, startAt: 200, lastStartAt: 900, ingestAt: 1_500, publishAt: 1_600, doneAt: 1_800, attempts: 2 }]);
    expect(jobIntervals(events, "storyboard")).toMatchObject([{ publishAt: Number.NaN }]);
  });

  it("counts the most intervals open at once, back-to-back ones once", () => {
    expect(peakOverlap([])).toBe(0);
    expect(
      peakOverlap([
        { startAt: 0, doneAt: 10 },
        { startAt: 10, doneAt: 20 },
        { startAt: 20, doneAt: 30 },
      ]),
    ).toBe(1);
    expect(
      peakOverlap([
        { startAt: 0, doneAt: 10 },
        { startAt: 2, doneAt: 8 },
        { startAt: 5, doneAt: 12 },
        { startAt: 11, doneAt: 14 },
      ]),
    ).toBe(3);
  });
});
