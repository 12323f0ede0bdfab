import { describe, expect, it } from "vitest";
import { partOfTravel, shotTravel, viewInsideFrame } from "./camera.ts";

describe("camera travel", () => {
  it("grows with the shot at a steady speed up to a cap, and shares out evenly over chained parts", () => {
    expect(shotTravel("push_in", 2)).toEqual({ zoom: 1.12, dx: 0, dy: 0 });
    expect(shotTravel("push_in", 10).zoom).toBe(1.25);
    expect(shotTravel("pull_out", 2).zoom).toBeCloseTo(1 / 1.12, 10);
    expect(shotTravel("pan_right", 2)).toEqual({ zoom: 1, dx: 0.08, dy: 0 });
    expect(shotTravel("tilt_up", 5)).toEqual({ zoom: 1, dx: 0, dy: -0.12 });
    const part = partOfTravel(shotTravel("push_in", 6), 3);
    expect(part.zoom ** 3).toBeCloseTo(1.25, 10);
    expect(viewInsideFrame({ zoom: 1.25, dx: 0.1, dy: 0 })).toBe(true);
    expect(viewInsideFrame({ zoom: 1.25, dx: 0.11, dy: 0 })).toBe(false);
    expect(viewInsideFrame({ zoom: 1, dx: 0, dy: 0 })).toBe(false);
  });
});
