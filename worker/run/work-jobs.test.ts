import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { driveToChunks, newRun } from "../../test/support/worker/run-driver.ts";
import type { VideoRun } from "./video-run.ts";
import { parsedOutput, workJob, workJobs } from "./work-jobs.ts";

/**
 * The jobs the pipeline's decisions read are kept while the run's `work_revision` stays
 * (work-jobs.ts): a read must answer what the table holds now, after any write a decision reads.
 */

const WORK_COLUMNS = "id, kind, beat, idx, attempt, status, depends_on, input, output, error";

/** What the table holds, read with SQL alone. */
const stored = (sql: SqlStorage) => sql.exec(`SELECT ${WORK_COLUMNS} FROM jobs ORDER BY created_at, idx`).toArray();

describe("the run's kept jobs", () => {
  it("answer the table after every transition, insert and delete, and stay the same objects across a lease or a poll time", async () => {
    const h = await newRun();
    await driveToChunks(h);
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const { sql, jobs } = run.run;
      const kept = workJobs(sql);
      expect(kept).toEqual(stored(sql));
      // Nothing a decision reads was written: the same rows, not read again.
      const chunk = kept.find((j) => j.kind === "chunk" && (j.status === "ready" || j.status === "queued"))!;
      jobs.renewLease(chunk.id, Date.now() + 60_000);
      jobs.pollAt(chunk.id, Date.now() + 60_000);
      expect(workJobs(sql)).toBe(kept);

      // A transition whose status stays what it was (a start step claimed again) still moves the revision.
      const queued = chunk.status === "ready" ? jobs.apply("dispatch", chunk, { leaseUntil: Date.now() + 60_000 })! : chunk;
      const claimed = jobs.apply("claim", queued, { leaseUntil: Date.now() + 60_000 })!;
      const again = workJobs(sql);
      expect(jobs.apply("claim", claimed, { leaseUntil: Date.now() + 90_000 })).not.toBeNull();
      expect(workJobs(sql)).not.toBe(again);

      // An output written by a transition is read, and parsed afresh for the new row.
      const first = workJob(sql, "reference:0")!;
      expect(parsedOutput(first)).toEqual(JSON.parse(first.output!));
      jobs.apply("newAttempt", first, { to: "ready", retries: "fresh", reason: null });
      expect(workJob(sql, "reference:0")).toMatchObject({ attempt: first.attempt + 1, status: "ready", output: null });
      expect(parsedOutput(workJob(sql, "reference:0")!)).toBeNull();

      jobs.insert([{ id: "extra", kind: "stitch", beat: null, idx: 99, input: { n: 1 } }]);
      expect(workJob(sql, "extra")).toMatchObject({ status: "ready", input: '{"n":1}' });
      jobs.remove(["extra"]);
      expect(workJob(sql, "extra")).toBeNull();
      expect(workJobs(sql)).toEqual(stored(sql));
    });
  });

  it("are shared by every reader, so none may change them or their parsed outputs", async () => {
    const h = await newRun();
    await driveToChunks(h);
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const reference = workJob(run.run.sql, "reference:0")!;
      expect(() => {
        (reference as { status: string }).status = "failed";
      }).toThrow(TypeError);
      const output = parsedOutput<{ key: string }>(reference)!;
      expect(parsedOutput(reference)).toBe(output);
      expect(() => {
        output.key = "another";
      }).toThrow(TypeError);
    });
  });
});
