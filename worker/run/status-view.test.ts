import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ingest, newRun, runJob, snapshot, startJob, succeed } from "../../test/support/worker/run-driver.ts";
import { snapshotOf } from "./run-state.ts";
import { StatusView } from "./status-view.ts";
import { jobStates } from "./jobs.ts";
import { type CurrentWork, currentJobs, currentWork, estimateSecondsRemaining, storedPlannedJobs, workLeft } from "./timings.ts";
import type { VideoRun } from "./video-run.ts";

/**
 * The status a poller reads is kept between the run's changes: what it answers must be what
 * reading the run afresh answers, at every moment — the clock ageing the jobs in flight
 * between changes, and every change (a webhook, a transition) seen on the next read.
 */

/** The estimate read afresh from the run's storage at `now`, rounded as the API shows it. */
function freshEstimate(run: VideoRun, now: number): number | null {
  const seconds = estimateSecondsRemaining(run.run.sql, run.run.config, run.run.jobs.list(), now);
  return seconds === null ? null : Math.max(1, Math.round(seconds));
}

describe("the kept status", () => {
  it("ages the jobs in flight by the clock between changes, exactly as a fresh read does", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    // Every reference's prediction in flight: the estimate falls as they run.
    for (const job of (await snapshot(h)).jobs.filter((j) => j.kind === "reference")) await startJob(h, job.id);
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const view = new StatusView();
      const t0 = Date.now();
      const moments = [t0, t0 + 1_000, t0 + 4_500, t0 + 30_000, t0 + 600_000];
      const etas = moments.map((now) => view.read(run.run, now)!.estimated_time_remaining);
      expect(etas).toEqual(moments.map((now) => freshEstimate(run, now)));
      // What the route sends is that answer's JSON, at every moment (kept only while the estimate holds).
      const sent = new StatusView();
      for (const now of moments) expect(JSON.parse(sent.json(run.run, now)!)).toEqual(view.read(run.run, now));
      // The clock alone moved it: it fell while the prediction's expected time ran out, then held.
      expect(etas[2]!).toBeLessThan(etas[0]!);
      expect(etas[4]).toBe(etas[3]);
    });
  });

  it("keeps a shown estimate only while the clock cannot have moved it: read densely, every answer is the fresh one", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    // One prediction in flight, the others done: the estimate falls exactly as fast as the bound allows, so a hold any longer would show a stale second.
    const references = (await snapshot(h)).jobs.filter((j) => j.kind === "reference");
    for (const job of references) await startJob(h, job.id);
    for (const job of references.slice(1)) {
      // Predictions that took 40 s: what this run expects of the one still running.
      await succeed(h, job.id, 40);
      await ingest(h, job.id);
    }
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const view = new StatusView();
      const t0 = Date.now();
      // Every 7 ms for a minute: steps shorter than any hold, across every whole second the estimate passes.
      const moments = Array.from({ length: 60_000 / 7 }, (_, i) => t0 + 7 * i);
      const kept = moments.map((now) => view.read(run.run, now)!.estimated_time_remaining);
      expect(kept).toEqual(moments.map((now) => freshEstimate(run, now)));
      // The estimate fell second by second, so many holds ended, not just one answer repeated.
      expect(new Set(kept).size).toBeGreaterThan(20);
    });
  });

  it("answers a change on the next read, with every field the full snapshot holds", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    const references = (await snapshot(h)).jobs.filter((j) => j.kind === "reference");
    const view = new StatusView();
    const fields = (run: VideoRun, now: number) => {
      const snap = snapshotOf(run.run)!;
      return {
        kept: view.read(run.run, now),
        fresh: {
          video_id: snap.video_id,
          status: snap.status,
          progress: snap.progress,
          current_phase: snap.phase,
          estimated_time_remaining: freshEstimate(run, now),
          error: snap.error,
          cost_usd: snap.cost_usd,
          cost_pending_usd: snap.cost_pending_usd,
          cost_estimate_usd: snap.cost_estimate?.total_usd ?? null,
        },
      };
    };
    const seen: unknown[] = [];
    // After each change: the kept view equals a fresh read, and the JSON sent is that view's.
    const matchesFresh = () =>
      runInDurableObject(h.stub, (run: VideoRun) => {
        const { kept, fresh } = fields(run, Date.now());
        expect(kept).toEqual(fresh);
        expect(JSON.parse(view.json(run.run)!)).toEqual(view.read(run.run));
        seen.push(kept);
      });
    for (const reference of references) {
      await startJob(h, reference.id);
      await matchesFresh();
      // A write that changes nothing shown (the kept answer stays), then one that does (a progress event's row update).
      await runInDurableObject(h.stub, (run: VideoRun) => {
        run.run.jobs.renewLease(reference.id, Date.now() + 60_000);
        run.run.event("warning", { message: "a note", job_id: reference.id });
      });
      await matchesFresh();
      await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE run SET progress = progress + 0.5"));
      await matchesFresh();
      await succeed(h, reference.id);
      await ingest(h, reference.id);
      await matchesFresh();
    }
    // The reads saw the run move: its pending cost booked and settled, its progress rising.
    expect(new Set(seen.map((s) => JSON.stringify(s))).size).toBeGreaterThan(references.length);
    const end = await runInDurableObject(h.stub, (run: VideoRun) => view.read(run.run)!);
    expect(end.cost_usd).toBeGreaterThan(0);
  });
});

/** What `currentWork` keeps, read afresh from the run's storage. */
function freshWork(run: VideoRun) {
  const { sql, config } = run.run;
  const jobs = jobStates(sql);
  const planned = storedPlannedJobs(sql, config);
  return { jobs, remaining: planned ? workLeft(sql, config, planned, jobs) : null };
}

describe("the kept remaining work", () => {
  it("equals a fresh read after every change, and is read again only when what it is made of was written", async () => {
    const h = await newRun();
    let last: CurrentWork | null = null;
    /** The kept work equals a fresh read; `recomputed`: whether the change just made had to be seen. */
    const check = (recomputed: boolean) =>
      runInDurableObject(h.stub, (run: VideoRun) => {
        // The job states alone first (as progress asks), then with the remaining work walked for them.
        const jobs = currentJobs(run.run.sql, run.run.config);
        const kept = currentWork(run.run.sql, run.run.config);
        const { revision: _revision, ...work } = kept;
        expect(work).toEqual(freshWork(run));
        expect(kept.jobs).toBe(jobs);
        if (last) expect(kept.jobs === last.jobs && kept.remaining === last.remaining).toBe(!recomputed);
        last = kept;
      });
    await check(true);
    await runJob(h, "plan");
    await check(true);
    const references = (await snapshot(h)).jobs.filter((j) => j.kind === "reference");
    for (const reference of references) {
      await startJob(h, reference.id);
      await check(true);
      // A lease renewed, an event told, a poll time moved: none is what the estimate reads.
      await runInDurableObject(h.stub, (run: VideoRun) => {
        run.run.jobs.renewLease(reference.id, Date.now() + 60_000);
        run.run.jobs.pollAt(reference.id, Date.now() + 5_000);
        run.run.event("warning", { message: "a note", job_id: reference.id });
      });
      await check(false);
      await succeed(h, reference.id, 30);
      await check(true);
      await ingest(h, reference.id);
      await check(true);
    }
    // Writes from outside the run's modules are seen too (the triggers keep the revision), and so are new settings.
    await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE attempts SET started_at = started_at - 5000"));
    await check(true);
    await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE jobs SET status = 'ready' WHERE kind = 'storyboard'"));
    await check(true);
    await runInDurableObject(h.stub, (_run: VideoRun, state) => state.storage.sql.exec("UPDATE duration_priors SET provider_seconds = provider_seconds + 1"));
    await check(true);
    await runInDurableObject(h.stub, (run: VideoRun) => {
      run.config = { ...run.config, maxPredictionsPerVideo: run.config.maxPredictionsPerVideo + 1 };
    });
    await check(true);
    await check(false);
  });
});
