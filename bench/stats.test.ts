import { describe, expect, it } from "vitest";
import { median, percentile, summarize } from "./stats.ts";

describe("order statistics", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose

  it("takes nearest-rank percentiles", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
  });

  it("averages the middle pair for an even median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("refuses an empty sample instead of inventing a number", () => {
    expect(() => percentile([], 50)).toThrow(/empty/);
    expect(() => median([])).toThrow(/empty/);
  });

  it("summarizes without reordering the caller's array", () => {
    const values = [5, 1, 4];
    expect(summarize(values)).toEqual({ count: 3, p50: 4, p95: 5, p99: 5, max: 5 });
    expect(values).toEqual([5, 1, 4]);
  });
});
