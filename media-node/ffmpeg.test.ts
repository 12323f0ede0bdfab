import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

describe("critical runs", () => {
  /**
   * Each run reads raw audio from a FIFO of its own: it holds its slot until the test writes
   * and closes it, and the test sees when it started, because opening a FIFO to write waits
   * for its reader (and fails at once, non-blocking, while there is none).
   */
  it("take the first slot that frees ahead of normal and background waiters", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ffmpeg-critical-"));
    const fifo = (name: string) => {
      const path = join(dir, name);
      execFileSync("mkfifo", [path]);
      return path;
    };
    const reading = (path: string, options: { background?: boolean; critical?: boolean } = {}) => ffmpeg(["-f", "u8", "-ar", "8000", "-ac", "1", "-i", path, "-f", "null", "-"], { ...options, timeoutMs: 30_000 });
    const release = async (path: string) => {
      const writer = await open(path, "w");
      await writer.write(Buffer.alloc(800, 128));
      await writer.close();
    };
    try {
      const busy = Array.from({ length: PROCESS_SLOTS }, (_, i) => fifo(`busy${i}`));
      const held = busy.map((path) => reading(path));
      const normal = fifo("normal");
      const background = fifo("background");
      const critical = fifo("critical");
      const waiters = [reading(normal), reading(background, { background: true })];
      const criticalRun = reading(critical, { critical: true });
      await release(busy[0]!);
      await held[0];
      // The freed slot went to the critical run: its ffmpeg opened its FIFO (this open waits for that)…
      await release(critical);
      await criticalRun;
      // …while the waiters that came before it still wait: nothing reads their FIFOs.
      for (const path of [normal, background]) await expect(open(path, constants.O_WRONLY | constants.O_NONBLOCK)).rejects.toMatchObject({ code: "ENXIO" });
      for (const path of busy.slice(1)) await release(path);
      await release(normal);
      await release(background);
      await Promise.all([...held, ...waiters]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
