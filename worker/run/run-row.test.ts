import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newRun, runJob } from "../../test/support/worker/run-driver.ts";
import { readRow, readState } from "./run-row.ts";
import { createRun, storeConsistencyContext } from "./run-state.ts";
import type { VideoRun } from "./video-run.ts";

/**
 * The run's long JSON texts are kept parsed between their changes (run-row.ts `readRow`): a
 * read must answer what the row holds now, whoever wrote it and however — the run's own writers,
 * a statement of another module, the row stored again from nothing.
 */

/** What the row holds, read with SQL alone. */
function stored(sql: SqlStorage) {
  return sql.exec("SELECT * FROM run WHERE id = 1").toArray()[0] as Record<string, unknown> | undefined;
}

describe("the run's kept texts", () => {
  it("are read again after every write of one of them, by any statement", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const sql = run.run.sql;
      const before = readState(sql)!;
      expect(before.spec).not.toBeNull();
      // Kept: the same parse while nothing changed.
      expect(readState(sql)!.spec).toBe(before.spec);
      // The token is an integer a JavaScript number holds exactly, so two tokens never read as one.
      expect(Number.isSafeInteger(sql.exec("SELECT token FROM run_texts").one().token)).toBe(true);

      // A statement that is none of run-state.ts's own.
      const spec = { ...before.spec!, title: "Another title" };
      sql.exec("UPDATE run SET spec = ? WHERE id = 1", JSON.stringify(spec));
      expect(readState(sql)!.spec).toEqual(spec);
      expect(readRow(sql)!.spec).toBe(stored(sql)!.spec);

      storeConsistencyContext(sql, "CHARACTER APPEARANCE: a new line");
      expect(readRow(sql)!.consistency_context).toBe("CHARACTER APPEARANCE: a new line");

      for (const [column, value] of [["request", JSON.stringify({ ...before.request, prompt: "A new prompt" })], ["chunk_plan", "[]"], ["cost_estimate", null]] as const) {
        sql.exec(`UPDATE run SET ${column} = ? WHERE id = 1`, value);
        expect(readRow(sql)![column]).toBe(value);
      }
      expect(readState(sql)).toMatchObject({ request: { prompt: "A new prompt" }, chunk_plan: [], cost_estimate: null });

      // The other columns are read on every call, kept texts or not.
      sql.exec("UPDATE run SET progress = 42 WHERE id = 1");
      expect(readRow(sql)!.progress).toBe(42);
      const { last_progress_at: _, id: __, ...columns } = stored(sql)!;
      expect(readState(sql)).toMatchObject({ ...columns, request: { prompt: "A new prompt" }, spec, chunk_plan: [], cost_estimate: null });
    });
  });

  it("are never those of an earlier run when the row is stored again from nothing", async () => {
    const h = await newRun();
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const sql = run.run.sql;
      const first = readState(sql)!;
      sql.exec("DELETE FROM run");
      expect(readRow(sql)).toBeNull();
      createRun(sql, { video_id: first.video_id, tenant_id: first.tenant_id, request: { ...first.request, prompt: "Stored again" }, cost_estimate: null });
      expect(readState(sql)!.request.prompt).toBe("Stored again");
    });
  });

  it("are shared by every reader, so none may change them", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    await runInDurableObject(h.stub, (run: VideoRun) => {
      const state = readState(run.run.sql)!;
      expect(() => {
        (state.request as { prompt: string }).prompt = "changed";
      }).toThrow(TypeError);
      expect(() => state.spec!.beats.pop()).toThrow(TypeError);
      expect(readState(run.run.sql)!.spec!.beats.length).toBe(state.spec!.beats.length);
    });
  });
});
