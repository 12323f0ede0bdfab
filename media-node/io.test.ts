import { describe, expect, it } from "vitest";
import { mapLimited, settleAll } from "./io.ts";

/**
 * A failed item must not let the caller (and withTempDir's removal of the temp dir) go on while
 * other items still write into that dir: the error comes once the running ones have stopped,
 * and no item starts after a failure. A full disk left temp dirs behind before (test/faults).
 */

function barrier() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { done, release };
}

describe("mapLimited", () => {
  it("throws the first error only after the running items stopped, and starts none after it", async () => {
    const slow = barrier();
    const started: number[] = [];
    let settled = false;
    const run = mapLimited([0, 1, 2, 3, 4], 2, async (item) => {
      started.push(item);
      if (item === 0) throw new Error("ENOSPC: no space left on device");
      await slow.done;
      return item;
    }).finally(() => (settled = true));
    const outcome = run.catch((error: Error) => error.message);
    // Item 0 failed at once; item 1 still runs: nothing may be reported yet.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(settled).toBe(false);
    slow.release();
    expect(await outcome).toBe("ENOSPC: no space left on device");
    expect(started).toEqual([0, 1]);
  });

  it("keeps the order of the results", async () => {
    expect(await mapLimited([3, 1, 2], 2, async (n) => n * 10)).toEqual([30, 10, 20]);
  });
});

describe("settleAll", () => {
  it("waits for every promise before it throws", async () => {
    const slow = barrier();
    let slowDone = false;
    const outcome = settleAll([Promise.reject(new Error("first")), slow.done.then(() => (slowDone = true))]).catch((error: Error) => [error.message, slowDone]);
    slow.release();
    expect(await outcome).toEqual(["first", true]);
    expect(await settleAll([Promise.resolve(1), Promise.resolve("a")])).toEqual([1, "a"]);
  });
});
