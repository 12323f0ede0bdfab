import { describe, expect, it } from "vitest";
import { type DurationEstimates, durationEstimates, jobRemainder, phaseSeconds, secondsRemaining, type WorkItem } from "./eta.ts";
import type { JobKind } from "./jobs.ts";

/** Every kind 1 s of start step, 8 s at the provider, 1 s of ingest: 10 s a job. */
const TEN: DurationEstimates = Object.fromEntries(
  (["plan", "reference", "storyboard", "chunk", "music", "stitch", "mux"] as JobKind[]).map((kind) => [kind, { start: 1, provider: 8, ingest: 1 }]),
) as DurationEstimates;

function item(id: string, fields: Partial<WorkItem> = {}): WorkItem {
  return { id, kind: "chunk", dependsOn: null, status: "planned", elapsed: 0, ...fields };
}

/** Chunks `chunk:b.k` for beats of the given lengths, chained inside each beat. */
function beats(lengths: number[]): WorkItem[] {
  return lengths.flatMap((length, b) => Array.from({ length }, (_, k) => item(`chunk:${b}.${k}`, { dependsOn: k === 0 ? null : `chunk:${b}.${k - 1}` })));
}

describe("phaseSeconds: chains against the prediction cap", () => {
  it("a long chain dominates when slots are plenty", () => {
    // Beats of 4, 1, 1 chunks, 8 slots: the 4-chunk beat sets the pace.
    expect(phaseSeconds(beats([4, 1, 1]), TEN.chunk, 8)).toBe(40);
  });

  it("the cap dominates when many short beats share few slots", () => {
    // 12 one-chunk beats over 4 slots: ceil(12 / 4) = 3 waves.
    expect(phaseSeconds(beats(Array(12).fill(1)), TEN.chunk, 4)).toBe(30);
    // 13 → 4 waves, whatever the chains.
    expect(phaseSeconds(beats([2, ...Array(11).fill(1)]), TEN.chunk, 4)).toBe(40);
  });

  it("is the larger of the two bounds", () => {
    const work = beats([3, 3, 3, 3]); // chains 30 s; 12 chunks over 2 slots: 60 s
    expect(phaseSeconds(work, TEN.chunk, 2)).toBe(60);
    expect(phaseSeconds(work, TEN.chunk, 8)).toBe(30);
  });

  it("jobs without a prediction are not held to the cap", () => {
    expect(phaseSeconds(beats([1, 1, 1]), TEN.chunk, Number.POSITIVE_INFINITY)).toBe(10);
  });
});

describe("jobs in flight count only what is left of them", () => {
  it("by stage, never below nothing", () => {
    expect(jobRemainder({ status: "queued", elapsed: 0 }, TEN.chunk)).toBe(10);
    expect(jobRemainder({ status: "running", elapsed: 0.5 }, TEN.chunk)).toBe(9.5);
    expect(jobRemainder({ status: "predicting", elapsed: 6 }, TEN.chunk)).toBe(3);
    expect(jobRemainder({ status: "predicting", elapsed: 60 }, TEN.chunk)).toBe(1); // overdue: its ingest is still to come
    expect(jobRemainder({ status: "ingesting", elapsed: 5 }, TEN.chunk)).toBe(0);
    expect(jobRemainder({ status: "done", elapsed: 0 }, TEN.chunk)).toBe(0);
  });

  it("a chain's running head shortens the chain", () => {
    const work = beats([3]);
    work[0] = { ...work[0]!, status: "predicting", elapsed: 6 };
    expect(phaseSeconds(work, TEN.chunk, 8)).toBe(3 + 10 + 10);
  });

  it("a slot held by a job in flight frees when it ends", () => {
    // 2 slots, both busy: one ends in 3 s, the other in 9 s; 2 more jobs wait for them.
    const work = [
      item("a", { status: "predicting", elapsed: 6 }),
      item("b", { status: "running", elapsed: 0 }),
      item("c", { status: "ready" }),
      item("d", { status: "ready" }),
    ];
    // c takes a's slot at 3 and ends at 13; d takes b's slot at 10 and ends at 20.
    expect(phaseSeconds(work, TEN.chunk, 2)).toBe(20);
  });

  it("the estimate falls as a phase's work completes", () => {
    const work = beats([2, 2, 1]);
    const seen: number[] = [phaseSeconds(work, TEN.chunk, 2)];
    for (const [status, elapsed] of [
      ["running", 0.5],
      ["predicting", 4],
      ["ingesting", 0.5],
      ["done", 0],
    ] as const) {
      work[0] = { ...work[0]!, status, elapsed };
      seen.push(phaseSeconds(work, TEN.chunk, 2));
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeLessThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1)!).toBeLessThan(seen[0]!);
  });
});

describe("durationEstimates: this run's observations before priors", () => {
  it("a stage observed in this run replaces the prior, per kind and stage", () => {
    const estimates = durationEstimates(TEN, [
      { kind: "chunk", start: null, provider: 40, ingest: null }, // prediction ended, ingest still running
      { kind: "chunk", start: 2, provider: 50, ingest: 3 },
    ]);
    expect(estimates.chunk).toEqual({ start: 2, provider: 45, ingest: 3 });
    expect(estimates.reference).toEqual(TEN.reference); // nothing of that kind finished: the prior
  });

  it("ignores nonsense", () => {
    expect(durationEstimates(TEN, [{ kind: "music", start: -1, provider: Number.NaN, ingest: null }]).music).toEqual(TEN.music);
  });
});

describe("secondsRemaining over the whole run", () => {
  const run = (chunks: WorkItem[], music: WorkItem = item("music", { kind: "music" })): WorkItem[] => [
    item("plan", { kind: "plan", status: "done" }),
    ...[0, 1, 2].map((i) => item(`reference:${i}`, { kind: "reference" })),
    music,
    ...[0, 1].map((i) => item(`storyboard:${i}`, { kind: "storyboard" })),
    ...chunks,
    item("stitch", { kind: "stitch" }),
    item("mux", { kind: "mux" }),
  ];

  it("phases in order; music alongside, off the critical path", () => {
    // references 10 + storyboards 10 + chunks (chain of 3) 30 + stitch 10, then mux 10.
    expect(secondsRemaining(run(beats([3, 1])), TEN, 8)).toBe(70);
  });

  it("music sets the pace when it is the longer branch", () => {
    const slowMusic: DurationEstimates = { ...TEN, music: { start: 1, provider: 100, ingest: 1 } };
    expect(secondsRemaining(run(beats([3, 1])), slowMusic, 8)).toBe(102 + 10);
  });

  it("observed provider latency moves the estimate", () => {
    const work = run(beats([3, 1]));
    const slowChunks = durationEstimates(TEN, [{ kind: "chunk", start: 1, provider: 38, ingest: 1 }]);
    expect(secondsRemaining(work, slowChunks, 8) - secondsRemaining(work, TEN, 8)).toBe(3 * 30);
  });

  it("nothing left is zero", () => {
    const done = run(beats([1])).map((w) => ({ ...w, status: "done" as const }));
    expect(secondsRemaining(done, TEN, 8)).toBe(0);
  });
});
