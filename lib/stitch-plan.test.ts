import { describe, expect, it } from "vitest";
import { type PlanChunk, type PlanJoin, type Span, layoutChunks, mergeRanges, planSeams, planSinglePass, readySpans, spanChunks, spanFrames } from "./stitch-plan.ts";

const fade = (frames: number): PlanJoin => ({ type: "fade", frames });
const cut: PlanJoin = { type: "cut", frames: 0 };
const chunk = (frames: number, keyframes: number[] = [0], copyable = true): PlanChunk => ({ frames, keyframes, copyable });

/** Spans must tile the output: contiguous, in order, summing to the layout's total. */
function expectTiling(spans: Span[], total: number) {
  let at = 0;
  for (const span of spans) {
    expect(span.at).toBe(at);
    at += spanFrames(span);
  }
  expect(at).toBe(total);
}

describe("layoutChunks", () => {
  it("places chunks so the total is Σframes − Σoverlaps", () => {
    const layout = layoutChunks([chunk(48), chunk(60), chunk(30)], [fade(12), cut]);
    expect(layout.starts).toEqual([0, 36, 96]);
    expect(layout.total).toBe(48 + 60 + 30 - 12);
  });

  it("refuses a cut with overlap, a fade without, and overlaps longer than a chunk", () => {
    expect(() => layoutChunks([chunk(10), chunk(10)], [{ type: "cut", frames: 3 }])).toThrow(/transitions\[0\]/);
    expect(() => layoutChunks([chunk(10), chunk(10)], [fade(0)])).toThrow(/transitions\[0\]/);
    expect(() => layoutChunks([chunk(10), chunk(8), chunk(10)], [fade(5), fade(4)])).toThrow(/chunks\[1\] has 8 frames/);
    expect(() => layoutChunks([chunk(10), chunk(10)], [])).toThrow(/expected 1 entries/);
  });
});

describe("planSeams", () => {
  it("encodes exactly the overlaps when B has a keyframe where its overlap ends", () => {
    const chunks = [chunk(48, [0, 24]), chunk(48, [0, 12, 36]), chunk(48, [0, 8, 32])];
    const spans = planSeams(chunks, [fade(12), fade(8)]);
    expectTiling(spans, 48 * 3 - 20);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 36],
      ["encode", 36, 12],
      ["copy", 48, 28],
      ["encode", 76, 8],
      ["copy", 84, 40],
    ]);
    const seam = spans[1] as Extract<Span, { kind: "encode" }>;
    expect(seam.pieces).toEqual([
      { chunk: 0, from: 36, to: 48, join: null },
      { chunk: 1, from: 0, to: 12, join: fade(12) },
    ]);
  });

  it("runs a seam on to B's next keyframe when the overlap does not end on one", () => {
    const spans = planSeams([chunk(48), chunk(48, [0, 24])], [fade(12)]);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 36],
      ["encode", 36, 24],
      ["copy", 60, 24],
    ]);
    const seam = spans[1] as Extract<Span, { kind: "encode" }>;
    expect(seam.pieces.at(-1)).toEqual({ chunk: 1, from: 0, to: 24, join: fade(12) });
  });

  it("merges into one span across a chunk with nothing to copy", () => {
    const spans = planSeams([chunk(20), chunk(20, [0]), chunk(20)], [fade(4), cut]);
    expectTiling(spans, 56);
    expect(spans.map((s) => s.kind)).toEqual(["copy", "encode", "copy"]);
    const seam = spans[1] as Extract<Span, { kind: "encode" }>;
    expect(seam.pieces.map((p) => [p.chunk, p.from, p.to, p.join?.type ?? null])).toEqual([
      [0, 16, 20, null],
      [1, 0, 20, "fade"],
    ]);
  });

  it("is pure copy when every join is a cut, and for a single chunk", () => {
    const spans = planSeams([chunk(10), chunk(12), chunk(14)], [cut, cut]);
    expect(spans.every((s) => s.kind === "copy")).toBe(true);
    expectTiling(spans, 36);
    expect(planSeams([chunk(30)], [])).toEqual([{ kind: "copy", chunk: 0, from: 0, to: 30, at: 0 }]);
  });

  it("re-encodes chunks that cannot be spliced", () => {
    const spans = planSeams([chunk(10), chunk(10, [0], false), chunk(10)], [cut, cut]);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 10],
      ["encode", 10, 10],
      ["copy", 20, 10],
    ]);
  });
});

describe("planSeams with marked (decorated) frames", () => {
  it("splits a copy around a marked range and resumes it on the keyframe where the range ends", () => {
    const spans = planSeams([chunk(48, [0, 30])], [], [{ from: 10, to: 30 }]);
    expectTiling(spans, 48);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 10],
      ["encode", 10, 20],
      ["copy", 30, 18],
    ]);
  });

  it("runs the encode on to the next keyframe when the range does not end on one", () => {
    const spans = planSeams([chunk(48, [0, 24]), chunk(24)], [cut], [{ from: 5, to: 12 }, { from: 60, to: 72 }]);
    expectTiling(spans, 72);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 5],
      ["encode", 5, 19],
      ["copy", 24, 24],
      ["copy", 48, 12],
      ["encode", 60, 12],
    ]);
  });

  it("splits the encoded frames where each chunk starts: a chunk marked whole leaves no window reading three chunks, and the part before the last chunk is ready without it", () => {
    // Chunk 1 carries a decoration over all of its frames (normalized before it was known): output [10, 40).
    const chunks = [chunk(20), chunk(20), chunk(20, [0, 8])];
    const joins = [fade(4), fade(4)];
    const marked = [{ from: 10, to: 40 }];
    const spans = planSeams(chunks, joins, marked);
    expectTiling(spans, 52);
    expect(spans.map((s) => [s.kind, s.at, spanFrames(s)])).toEqual([
      ["copy", 0, 10],
      ["encode", 10, 6],
      ["encode", 16, 16],
      ["encode", 32, 8],
      ["copy", 40, 12],
    ]);
    const encoded = spans.filter((s): s is Extract<Span, { kind: "encode" }> => s.kind === "encode");
    expect(encoded.map(spanChunks)).toEqual([[0], [0, 1], [1, 2]]);
    // The last chunk not normalized yet: what does not read it is ready, exactly as the whole plan has it.
    expect(readySpans([chunks[0]!, chunks[1]!, null], [20, 20, 20], joins, marked)).toEqual(encoded.slice(0, 2));
  });

  it("merges overlapping and touching ranges", () => {
    expect(mergeRanges([{ from: 20, to: 30 }, { from: 0, to: 5 }, { from: 5, to: 8 }, { from: 25, to: 40 }, { from: 50, to: 50 }])).toEqual([
      { from: 0, to: 8 },
      { from: 20, to: 40 },
    ]);
  });
});

describe("planSinglePass", () => {
  it("is one encode span over every chunk", () => {
    const spans = planSinglePass([chunk(20), chunk(20), chunk(20)], [fade(5), cut]);
    expect(spans).toHaveLength(1);
    expectTiling(spans, 55);
    const span = spans[0] as Extract<Span, { kind: "encode" }>;
    expect(span.pieces.map((p) => [p.chunk, p.from, p.to])).toEqual([
      [0, 0, 20],
      [1, 0, 20],
      [2, 0, 20],
    ]);
  });
});
