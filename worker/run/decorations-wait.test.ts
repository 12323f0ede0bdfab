import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Cue } from "../../contracts/media.ts";
import { VideoSpec } from "../../contracts/spec.ts";
import { driveToChunks, newRun, queued, runJob, snapshot } from "../../test/support/worker/run-driver.ts";
import { runCues, timedCues } from "./decorations-wait.ts";
import type { JobRow } from "./jobs.ts";
import type { VideoRun } from "./video-run.ts";

/** The cues `timedCues` works out from the run's storage as it is now: the spec and every job read afresh. */
function freshCues(run: VideoRun): Cue[] | null {
  const { spec } = run.run.sql.exec("SELECT spec FROM run").one() as { spec: string | null };
  if (spec === null) return null;
  const jobs = run.run.sql.exec("SELECT id, kind, status, output FROM jobs").toArray() as Pick<JobRow, "id" | "kind" | "status" | "output">[];
  return timedCues(VideoSpec.parse(JSON.parse(spec)), jobs);
}

describe("the burned captions' cues kept per work revision", () => {
  it("equal the cues worked out afresh after every change, and are worked out again only when the revision moved", async () => {
    const h = await newRun();
    let last: readonly Cue[] | null = null;
    /** `recomputed`: whether the change just made had to be seen (a kept list is answered as the same object until then). */
    const check = (recomputed: boolean) =>
      runInDurableObject(h.stub, (run: VideoRun) => {
        const kept = runCues(run.run);
        expect(kept).toEqual(freshCues(run));
        expect(runCues(run.run)).toBe(kept);
        if (kept && last) expect(kept === last).toBe(!recomputed);
        last = kept;
      });
    await check(true);
    await driveToChunks(h, { voice: false });
    await runJob(h, "overlays");
    expect((await snapshot(h)).spec!.copy.captions).toBe("burned");
    await check(true);
    const lines = await queued(h, "voice");
    expect(lines.length).toBeGreaterThan(1);
    for (const id of lines) {
      await runJob(h, id);
      await check(true);
    }
    // The voice timed from the lines' measured speech, before the mix.
    const timed = last as readonly Cue[] | null;
    expect(timed?.length).toBeGreaterThan(0);
    expect(Object.isFrozen(timed)).toBe(true);
    // A lease renewed, an event told: neither is what the cues are made of.
    await runInDurableObject(h.stub, (run: VideoRun) => {
      run.run.jobs.renewLease(lines[0]!, Date.now() + 60_000);
      run.run.event("warning", { message: "a note", job_id: lines[0]! });
    });
    await check(false);
    // A line started again (written from outside the run's modules: the triggers keep the revision): untimed until it is done again.
    await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE jobs SET status = 'queued' WHERE id = ?", lines[0]!));
    await check(true);
    expect(last).toBeNull();
    await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE jobs SET status = 'done' WHERE id = ?", lines[0]!));
    await check(true);
    expect(last).toEqual(timed);
  });
});
