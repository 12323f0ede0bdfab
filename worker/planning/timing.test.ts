import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocateFrames, chunkCount, lowerBounds, type TimingSlot } from "./timing.ts";

const slot = (target: number, out = 0, min = 24, max = 144): TimingSlot => ({ target, min, max, out });
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("allocateFrames", () => {
  it("keeps targets that already fit exactly", () => {
    expect(allocateFrames([slot(48), slot(96), slot(84, 12), slot(132), slot(360, 0, 24, 400)], 720)).toEqual([48, 96, 84, 132, 360]);
  });

  it("scales targets to the total and respects bounds", () => {
    const frames = allocateFrames([slot(10, 0, 24, 72), slot(100), slot(100)], 300);
    expect(sum(frames)).toBe(300);
    expect(frames[0]).toBe(24);
    expect(frames[1]! + frames[2]!).toBe(276);
  });

  it("gives each beat half a second clear of the incoming transition", () => {
    const slots = [slot(100, 12), slot(1, 0, 12, 144), slot(200)];
    expect(lowerBounds(slots)).toEqual([24, 24, 24]);
    expect(allocateFrames(slots, 240)[1]).toBeGreaterThanOrEqual(24);
  });

  it("moves a few frames so a beat does not spill into an extra chunk", () => {
    // 100 rendered frames would need 3 chunks; 96 needs 2, and the hook has room in its chunk.
    const slots = [slot(30), slot(100), slot(96)];
    const frames = allocateFrames(slots, 226);
    expect(sum(frames)).toBe(226);
    expect(frames.reduce((n, f, i) => n + chunkCount(f + slots[i]!.out), 0)).toBe(5);
  });

  it("refuses beats that cannot fit and stretches beats that are too few", () => {
    expect(() => allocateFrames([slot(48), slot(48)], 30)).toThrow(/need at least 48 frames/);
    const frames = allocateFrames([slot(48, 0, 24, 72), slot(48, 0, 24, 72)], 360);
    expect(sum(frames)).toBe(360);
  });

  it("always sums exactly and stays within bounds (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ target: fc.integer({ min: 1, max: 200 }), out: fc.constantFrom(0, 0, 8, 12), min: fc.integer({ min: 12, max: 48 }), span: fc.integer({ min: 0, max: 120 }) }), { minLength: 2, maxLength: 14 }),
        fc.constantFrom(360, 720, 1440),
        (raw, total) => {
          const slots = raw.map((r, i) => ({ target: r.target, min: r.min, max: r.min + r.span, out: i === raw.length - 1 ? 0 : r.out }));
          const lo = lowerBounds(slots);
          if (sum(lo) > total) return;
          const frames = allocateFrames(slots, total);
          expect(sum(frames)).toBe(total);
          frames.forEach((f, i) => {
            expect(Number.isInteger(f)).toBe(true);
            expect(f).toBeGreaterThanOrEqual(lo[i]!);
          });
          if (sum(slots.map((s, i) => Math.max(lo[i]!, s.max))) >= total) frames.forEach((f, i) => expect(f).toBeLessThanOrEqual(Math.max(lo[i]!, slots[i]!.max)));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});
