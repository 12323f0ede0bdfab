import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { deliverWebhook, driveToEnd, type Harness, jobOf, newRun, predictionOf, queued, snapshot, startJob } from "../../test/support/worker/run-driver.ts";

type RunEvent = { id: number; type: string; at: number; data: unknown };

/** POST /api/video/{id}/beats/{n}/regenerate: one beat re-rendered, everything else reused. */

let key: string;
let otherKey: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-regen", "test")).key;
  otherKey = (await createKey(env.DB, "tenant-regen-other", "test")).key;
});

function call(k: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${k}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://adreel.test${path}`, { ...init, headers }));
}

async function completeVideo(k = key): Promise<Harness> {
  const created = await call(k, "/api/generate", { method: "POST", body: JSON.stringify({ prompt: "A folding e-bike for city commuters", duration_s: 15 }) });
  const { video_id } = (await created.json()) as { video_id: string };
  const h = await newRun({ videoId: video_id });
  expect((await driveToEnd(h)).status).toBe("complete");
  return h;
}

const regenerate = (k: string, id: string, n: string | number, body?: unknown) =>
  call(k, `/api/video/${id}/beats/${n}/regenerate`, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe("regenerating one beat", () => {
  it("creates predictions only for that beat's chunks, then stitches and muxes again", async () => {
    const h = await completeVideo();
    const before = await snapshot(h);
    const predictionsBefore = h.double.all().map((p) => p.id);
    const beatChunks = before.chunk_plan!.filter((c) => c.beat_index === 1);
    expect(beatChunks.length).toBeGreaterThan(0);
    const otherOutputs = Object.fromEntries(before.jobs.filter((j) => !(j.kind === "chunk" && j.beat === 1) && !["stitch", "mux"].includes(j.kind)).map((j) => [j.id, before.outputs[j.id]]));
    const oldMux = await jobOf(h, "mux");

    const response = await regenerate(key, h.videoId, 1, { prompt: 'Close-up: the bike {folds} in "two" seconds <b>flat</b>' });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { chunks: number[]; prompt: string; status: string };
    expect(body.status).toBe("processing");
    expect(body.chunks).toEqual(beatChunks.map((c) => c.chunk_num));
    // Sanitised like the planner's slots: no quotes, braces or angle brackets reach the prompt.
    expect(body.prompt).toBe("Close-up: the bike folds in two seconds bflat/b");

    const during = await snapshot(h);
    expect(during).toMatchObject({ status: "processing", phase: "generating_chunks", completed_at: null });
    expect(during.spec!.beats[1]!.prompt).toBe(body.prompt);
    expect(during.spec!.beats[0]!.prompt).toBe(before.spec!.beats[0]!.prompt);
    expect(during.jobs.some((j) => j.id === "stitch" || j.id === "mux")).toBe(false);
    // Only the beat's first chunk may start; its later chunks wait for the previous last frame.
    expect(await queued(h)).toEqual([`chunk:${String(beatChunks[0]!.chunk_num).padStart(3, "0")}`]);
    const status = (await (await call(key, `/api/status/${h.videoId}`)).json()) as { status: string; current_phase: string };
    expect(status).toMatchObject({ status: "processing", current_phase: "generating_chunks" });

    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    expect(end.progress).toBe(100);
    // New predictions: exactly one per chunk of beat 1, each for the chunk's new attempt.
    const fresh = h.double.all().filter((p) => !predictionsBefore.includes(p.id));
    expect(fresh).toHaveLength(beatChunks.length);
    for (const chunk of beatChunks) {
      const id = `chunk:${String(chunk.chunk_num).padStart(3, "0")}`;
      const job = end.jobs.find((j) => j.id === id)!;
      expect(job).toMatchObject({ status: "done", attempt: 2 });
      expect(h.double.forJob(id, 2)).toHaveLength(1);
      expect((h.double.forJob(id, 2)[0]!.input as { prompt: string }).prompt).toContain("folds in two seconds");
    }
    // Everything else was reused as it was.
    for (const [id, output] of Object.entries(otherOutputs)) expect(end.outputs[id], id).toEqual(output);
    // The final video job ran again, after the regeneration.
    const mux = await jobOf(h, "mux");
    expect(mux.status).toBe("done");
    // Progressive assembly (the default): the windows were rendered again, then assembled by the mux.
    const windows = end.jobs.filter((j) => j.kind === "stitch");
    expect(windows.length).toBeGreaterThan(0);
    for (const w of windows) expect(w).toMatchObject({ status: "done", attempt: 1 });
    expect(end.completed_at!).toBeGreaterThanOrEqual(before.completed_at!);
    expect(oldMux.status).toBe("done");
    // The redo's predictions are in the ledger like any others.
    const ledgerIds = new Set(end.cost_ledger.map((l) => l.prediction_id));
    for (const p of fresh) expect(ledgerIds.has(p.id)).toBe(true);
    expect(end.cost_usd).toBeGreaterThan(before.cost_usd);
    // Events announce it, and the video completes a second time.
    const events = (await h.stub.events(0)) as RunEvent[];
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === "complete")).toHaveLength(2);
    const announced = events.find((e) => e.type === "regenerate")!;
    expect(announced.data).toMatchObject({ beat: 1, prompt: body.prompt, chunk_nums: body.chunks });
    expect(types.lastIndexOf("regenerate")).toBeLessThan(types.lastIndexOf("complete"));
    // The D1 index follows.
    const row = await env.DB.prepare("SELECT status, progress FROM videos WHERE id = ?").bind(h.videoId).first();
    expect(row).toEqual({ status: "complete", progress: 100 });
  });

  it("keeps the prompt without a body, and each redo still gets its full retries", async () => {
    const h = await completeVideo();
    const prompt = (await snapshot(h)).spec!.beats[0]!.prompt;
    const response = await regenerate(key, h.videoId, 0);
    expect(response.status).toBe(202);
    expect(((await response.json()) as { prompt: string }).prompt).toBe(prompt);
    expect((await snapshot(h)).spec!.beats[0]!.prompt).toBe(prompt);
    // Two failures of the redone chunk (attempts 2 and 3) still leave it a third try.
    const [first] = await queued(h, "chunk");
    for (const error of ["CUDA out of memory", "upstream timeout"]) {
      await startJob(h, first!);
      const { id } = await predictionOf(h, first!);
      h.double.finish(id, { status: "failed", error });
      await deliverWebhook(h, id);
    }
    expect(await jobOf(h, first!)).toMatchObject({ attempt: 4, status: "queued" });
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    expect(end.jobs.find((j) => j.id === first)!.errors).toHaveLength(2);
  });

  it("refuses an unknown beat (422 naming n), a video that is not complete (409) and another tenant (404)", async () => {
    const h = await completeVideo();
    const beats = (await snapshot(h)).spec!.beats.length;
    for (const n of [beats, 99, "x", "-1"]) {
      const response = await regenerate(key, h.videoId, n);
      expect(response.status, String(n)).toBe(422);
      expect(await response.json()).toMatchObject({ field: "n" });
    }
    const blank = await regenerate(key, h.videoId, 0, { prompt: '""{}[]' });
    expect(blank.status).toBe(422);
    expect(await blank.json()).toMatchObject({ field: "prompt" });
    expect((await regenerate(key, h.videoId, 0, { prompt: "ok", extra: 1 })).status).toBe(422);
    expect((await regenerate(otherKey, h.videoId, 0)).status).toBe(404);
    expect((await regenerate(key, h.videoId, 0)).status).toBe(202);
    const busy = await regenerate(key, h.videoId, 1);
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: string }).error).toContain("processing");
    // A fresh video still running is refused the same way.
    const created = await call(key, "/api/generate", { method: "POST", body: JSON.stringify({ prompt: "still queued", duration_s: 15 }) });
    const { video_id } = (await created.json()) as { video_id: string };
    expect((await regenerate(key, video_id, 0)).status).toBe(409);
  });
});

describe("regenerations and the tenant's cap on videos in progress", () => {
  const cap = 5;
  type IndexRow = { status: string; current_phase: string; progress: number; final_key: string | null; completed_at: number | null; updated_at: number };
  const indexRow = (id: string) => env.DB.prepare("SELECT status, current_phase, progress, final_key, completed_at, updated_at FROM videos WHERE id = ?").bind(id).first<IndexRow>();
  const active = async (tenant: string) => (await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = ? AND status IN ('queued', 'processing')").bind(tenant).first<{ n: number }>())!.n;
  const queue = async (k: string, count: number) => {
    for (let i = 0; i < count; i++) expect((await call(k, "/api/generate", { method: "POST", body: JSON.stringify({ prompt: `a queued ad ${i}`, duration_s: 15 }) })).status).toBe(200);
  };
  const expectCapRefusal = async (response: Response) => {
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await response.json()).toMatchObject({ limit: "concurrent_videos" });
  };

  it("admits exactly one of three regenerations racing at cap - 1; the others get 429 and stay complete", async () => {
    const k = (await createKey(env.DB, "tenant-regen-cap", "test")).key;
    const runs = [await completeVideo(k), await completeVideo(k), await completeVideo(k)];
    const before = await Promise.all(runs.map((h) => indexRow(h.videoId)));
    await queue(k, cap - 1);
    const answers = await Promise.all(runs.map((h) => regenerate(k, h.videoId, 0)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(await active("tenant-regen-cap")).toBe(cap);
    for (const [i, response] of answers.entries()) {
      if (response.status === 202) {
        expect((await snapshot(runs[i]!)).status).toBe("processing");
        continue;
      }
      await expectCapRefusal(response);
      expect((await snapshot(runs[i]!)).status).toBe("complete");
      expect(await indexRow(runs[i]!.videoId)).toEqual(before[i]);
    }
  });

  it("admits exactly one of a generate and a regeneration racing at cap - 1", async () => {
    const k = (await createKey(env.DB, "tenant-regen-cap-mixed", "test")).key;
    const h = await completeVideo(k);
    await queue(k, cap - 1);
    const [generated, regenerated] = await Promise.all([call(k, "/api/generate", { method: "POST", body: JSON.stringify({ prompt: "the racing newcomer", duration_s: 15 }) }), regenerate(k, h.videoId, 1)]);
    expect([generated.status, regenerated.status].sort()).toEqual(regenerated.status === 202 ? [202, 429] : [200, 429]);
    await expectCapRefusal(regenerated.status === 429 ? regenerated : generated);
    expect(await active("tenant-regen-cap-mixed")).toBe(cap);
    expect((await snapshot(h)).status).toBe(regenerated.status === 202 ? "processing" : "complete");
  });

  it("lets racing regenerations of one video through to its run: one 202, the others 409, one slot taken", async () => {
    const k = (await createKey(env.DB, "tenant-regen-same", "test")).key;
    const h = await completeVideo(k);
    const statuses = await Promise.all([0, 1, 2, 0].map((n) => regenerate(k, h.videoId, n).then((r) => r.status)));
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(3);
    expect(await indexRow(h.videoId)).toMatchObject({ status: "processing", current_phase: "generating_chunks", final_key: null, completed_at: null });
    expect(await active("tenant-regen-same")).toBe(1);
    expect((await driveToEnd(h)).status).toBe("complete");
    expect(await indexRow(h.videoId)).toMatchObject({ status: "complete", progress: 100 });
  });

  it("gives the slot back when the run refuses: the index row is left exactly as it was", async () => {
    const k = (await createKey(env.DB, "tenant-regen-refused", "test")).key;
    const h = await completeVideo(k);
    const before = await indexRow(h.videoId);
    expect(before).toMatchObject({ status: "complete", progress: 100, final_key: expect.any(String) });
    const beats = (await snapshot(h)).spec!.beats.length;
    // Refused by the run (422: no such beat, nothing left of the prompt) after the slot was reserved.
    expect((await regenerate(k, h.videoId, beats)).status).toBe(422);
    expect(await indexRow(h.videoId)).toEqual(before);
    expect((await regenerate(k, h.videoId, 0, { prompt: "<>{}" })).status).toBe(422);
    expect(await indexRow(h.videoId)).toEqual(before);
    expect(await active("tenant-regen-refused")).toBe(0);
    // Refused at the cap: nothing changes either.
    await queue(k, cap);
    await expectCapRefusal(await regenerate(k, h.videoId, 0));
    expect(await indexRow(h.videoId)).toEqual(before);
    expect((await snapshot(h)).status).toBe("complete");
  });

  it("gives the slot back on a 409 from a run the index still shows complete", async () => {
    const k = (await createKey(env.DB, "tenant-regen-stale", "test")).key;
    const h = await completeVideo(k);
    const complete = (await indexRow(h.videoId))!;
    expect((await regenerate(k, h.videoId, 0)).status).toBe(202);
    // The run fails while its index still says complete (an index write that never landed).
    await h.stub.cancel("stopped for the test");
    await env.DB.prepare("UPDATE videos SET status = ?, current_phase = ?, progress = ?, final_key = ?, completed_at = ?, updated_at = ? WHERE id = ?")
      .bind(complete.status, complete.current_phase, complete.progress, complete.final_key, complete.completed_at, complete.updated_at, h.videoId)
      .run();
    const refused = await regenerate(k, h.videoId, 1);
    expect(refused.status).toBe(409);
    expect(await indexRow(h.videoId)).toEqual(complete);
  });
});
