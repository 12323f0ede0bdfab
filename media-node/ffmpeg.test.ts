import { describe, expect, it } from "vitest";
import { BACKGROUND_SLOTS, ffmpeg, PROCESS_SLOTS, processesRunning } from "./ffmpeg.ts";

/** 0.4 s of silence read at its own pace (-re): wall time without CPU, so overlap shows in the clock. */
const PACED = ["-re", "-f", "lavfi", "-i", "anullsrc=r=8000", "-t", "0.4", "-f", "null", "-"];

describe("background encodes", () => {
  it(`run at most ${BACKGROUND_SLOTS} at once; the rest wait their turn and all finish`, async () => {
    const began = performance.now();
    const runs = Array.from({ length: 2 * BACKGROUND_SLOTS }, () => ffmpeg(PACED, { background: true, timeoutMs: 30_000 }));
    await Promise.all(runs);
    const twoRounds = (performance.now() - began) / 1000;
    // Two full rounds of slots: at least twice one run's 0.4 s; all at once would take one.
    expect(twoRounds).toBeGreaterThanOrEqual(0.8);
  });

  it("do not hold up normal runs", async () => {
    let backgroundDone = 0;
    const background = Promise.all(Array.from({ length: 3 * BACKGROUND_SLOTS }, () => ffmpeg(PACED, { background: true, timeoutMs: 30_000 }))).then(() => (backgroundDone = performance.now()));
    await ffmpeg(PACED, { timeoutMs: 30_000 });
    const normalDone = performance.now();
    await background;
    // Had it queued behind them (first in, first out), it would end after all three rounds.
    expect(normalDone).toBeLessThan(backgroundDone);
  });
});

describe("child processes", () => {
  it(`never more than ${PROCESS_SLOTS} at once, whatever asked for them; all finish`, async () => {
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, processesRunning())), 5);
    try {
      const began = performance.now();
      await Promise.all(Array.from({ length: 3 * PROCESS_SLOTS }, (_, i) => ffmpeg(PACED, { background: i % 3 === 0, timeoutMs: 30_000 })));
      // Three full rounds of slots: at least three times one run's 0.4 s; all at once would take one.
      expect((performance.now() - began) / 1000).toBeGreaterThanOrEqual(1.2);
    } finally {
      clearInterval(watch);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(PROCESS_SLOTS);
    expect(processesRunning()).toBe(0);
  });
});
