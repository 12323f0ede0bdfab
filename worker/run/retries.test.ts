import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import type { VideoResponse } from "../../contracts/api.ts";
import { deliverWebhook, driveToChunks, driveToEnd, type Harness, ingest, jobOf, newRun, predictionOf, queued, runJob, snapshot, startJob, submitRun } from "../../test/support/worker/run-driver.ts";
import type { Snapshot } from "./types.ts";

/** The retry rule (SPEC §7.5): a failed chunk is retried alone, up to two more times, and nothing finished is lost. */

async function failPrediction(h: Harness, jobId: string, error: string): Promise<string> {
  await startJob(h, jobId);
  const { id } = await predictionOf(h, jobId);
  h.double.finish(id, { status: "failed", error });
  await deliverWebhook(h, id);
  return id;
}

/** Outputs of every finished job, to prove nothing done is redone or dropped. */
function doneOutputs(snap: Snapshot): Record<string, unknown> {
  return Object.fromEntries(snap.jobs.filter((j) => j.status === "done").map((j) => [j.id, snap.outputs[j.id]]));
}

describe("chunk retries", () => {
  it("retries a failed chunk alone, keeps each reason, and finishes the video with every chunk", async () => {
    const h = await newRun();
    await driveToChunks(h, { music: true });
    const chunks = await queued(h, "chunk");
    const [flaky, ...others] = chunks;
    for (const id of others) await runJob(h, id);
    const before = doneOutputs(await snapshot(h));
    const first = await failPrediction(h, flaky!, "CUDA out of memory");
    const second = await failPrediction(h, flaky!, "upstream timeout");
    const after = await snapshot(h);
    // Only the flaky chunk moved; everything finished before is untouched.
    expect(doneOutputs(after)).toEqual(before);
    const job = after.jobs.find((j) => j.id === flaky)!;
    expect(job).toMatchObject({ attempt: 3, status: "queued" });
    expect(job.errors).toEqual([`attempt 1: prediction ${first} failed: CUDA out of memory`, `attempt 2: prediction ${second} failed: upstream timeout`]);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    expect(end.jobs.find((j) => j.id === flaky)).toMatchObject({ status: "done", attempt: 3 });
    expect(end.jobs.filter((j) => j.kind === "chunk").every((j) => j.status === "done")).toBe(true);
    // Three predictions for the flaky chunk, one for every other.
    expect(h.double.forJob(flaky!)).toHaveLength(3);
    for (const id of others) expect(h.double.forJob(id)).toHaveLength(1);
  });

  it("fails the video naming beat and chunk when a chunk fails every attempt, cancelling what still runs", async () => {
    const h = await newRun();
    await driveToChunks(h);
    const [doomed, finished, running] = await queued(h, "chunk");
    await runJob(h, finished!);
    await startJob(h, running!);
    await startJob(h, "music");
    const beforeFailure = doneOutputs(await snapshot(h));
    for (const reason of ["bad frame", "bad frame again", "still bad"]) await failPrediction(h, doomed!, reason);
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    const plan = end.chunk_plan!.find((c) => `chunk:${String(c.chunk_num).padStart(3, "0")}` === doomed)!;
    const beat = end.spec!.beats[plan.beat_index]!;
    expect(end.error).toBe(`chunk ${plan.chunk_num} (beat ${plan.beat_index} "${beat.name}", part ${plan.index_in_beat + 1}) failed after 3 attempts: prediction ${(await h.double.forJob(doomed!, 3))[0]!.id} failed: still bad`);
    expect((await jobOf(h, doomed!)).errors).toHaveLength(3);
    // What was running is cancelled at the provider; what was done stays done.
    expect(h.double.view((await h.double.forJob(running!))[0]!.id).status).toBe("canceled");
    expect(h.double.view(h.double.forJob("music")[0]!.id).status).toBe("canceled");
    expect(doneOutputs(end)).toEqual(beforeFailure);
    expect(end.jobs.find((j) => j.id === running)!.status).toBe("cancelled");
  });

  it("does not retry a permanent failure", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    await h.stub.claim("music", 1, "start");
    await h.stub.fail("music", 1, "the music model refuses this prompt", false, "start");
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toBe("music step failed after 1 attempt: the music model refuses this prompt");
  });
});

describe("a reference image that fails every attempt (SPEC §5.7)", () => {
  let key: string;
  beforeAll(async () => {
    key = (await createKey(env.DB, "tenant-degrade", "test")).key;
  });

  it("does not fail the video: it completes with the other two, a warning, and the record and context say which is missing", async () => {
    const h = await submitRun(key, "A cosy neighbourhood bakery launches a sourdough subscription");
    await runJob(h, "plan");
    const [lost, ...kept] = await queued(h, "reference");
    const reasons = ["safety filter", "model overloaded", "still refused"];
    for (const reason of reasons) await failPrediction(h, lost!, reason);
    // Three attempts, each on the next image model (steps/reference.ts imageModelFor, SPEC §5.3).
    expect(h.double.forJob(lost!)).toHaveLength(3);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    expect(end.jobs.find((j) => j.id === lost)).toMatchObject({ status: "failed", attempt: 3 });
    const events = (await h.stub.events(0)) as { type: string; data: Record<string, unknown> }[];
    const warning = events.find((e) => e.type === "warning" && e.data.job_id === lost);
    expect(warning?.data.message).toMatch(/^reference image 1 \(character\) could not be made, the other image models included: prediction \w+ failed: still refused; the video goes on without it$/);
    const ready = events.find((e) => e.type === "reference_images_ready")!.data as { message: string; images: { index: number }[]; missing: { index: number; type: string }[] };
    expect(ready.message).toBe("Using these 2 reference images for visual consistency across all scenes (1 could not be made)");
    expect(ready.images.map((i) => i.index)).toEqual(kept.map((id) => Number(id.split(":")[1])));
    expect(ready.missing).toMatchObject([{ index: 0, type: "character" }]);
    expect(end.consistency_context).toMatch(/^CHARACTER APPEARANCE: .*; no character reference image$/m);
    const record = (await (await exports.default.fetch(new Request(`http://adreel.test/api/video/${h.videoId}`, { headers: { authorization: `Bearer ${key}` } }))).json()) as VideoResponse;
    expect(record.reference_images.map((r) => r.type)).toEqual(["product", "environment"]);
    expect(record.missing_references).toEqual([{ index: 0, type: "character", source: "generated", reason: expect.stringMatching(/failed: still refused$/) }]);
    // The failed attempts are in the ledger at what they cost.
    expect(record.cost_ledger!.filter((e) => e.job_id === lost)).toHaveLength(3);
  });

  it("is not retried when its failure is permanent (a brand asset gone), and the video still goes on", async () => {
    const h = await newRun();
    await runJob(h, "plan");
    await h.stub.claim("reference:0", 1, "start");
    await h.stub.fail("reference:0", 1, "brand asset asset:0a1b2c3d no longer exists", false, "start");
    const snap = await snapshot(h);
    expect(snap.status).toBe("processing");
    expect(snap.jobs.find((j) => j.id === "reference:0")).toMatchObject({ status: "failed", attempt: 1 });
    for (const id of await queued(h, "reference")) await runJob(h, id);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
  });
});

describe("POST /api/video/{id}/cancel", () => {
  let key: string;
  beforeAll(async () => {
    key = (await createKey(env.DB, "tenant-cancel", "test")).key;
  });

  it("cancels every outstanding prediction and ends the video", async () => {
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const created = await exports.default.fetch(new Request("http://adreel.test/api/generate", { method: "POST", headers, body: JSON.stringify({ prompt: "A bakery's new rye loaf", duration_s: 15 }) }));
    const { video_id } = (await created.json()) as { video_id: string };
    const h = await newRun({ videoId: video_id });
    await runJob(h, "plan");
    const references = await queued(h, "reference");
    for (const id of [...references, "music"]) await startJob(h, id);
    // One reference already finished at the provider and is being ingested: nothing to cancel there.
    const done = (await predictionOf(h, references[0]!)).id;
    h.double.finish(done, { status: "succeeded" });
    await deliverWebhook(h, done);
    const response = await exports.default.fetch(new Request(`http://adreel.test/api/video/${video_id}/cancel`, { method: "POST", headers }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ video_id, cancelled: true, status: "cancelled" });
    const statuses = Object.fromEntries(h.double.all().map((p) => [p.id, p.status]));
    expect(statuses[done]).toBe("succeeded");
    for (const id of [...references.slice(1), "music"]) expect(statuses[(await h.double.forJob(id))[0]!.id]).toBe("canceled");
    expect(h.double.calls.filter((c) => c.endsWith("/cancel"))).toHaveLength(3);
    // A second cancel is refused, and the late ingest of the finished reference changes nothing.
    const again = await exports.default.fetch(new Request(`http://adreel.test/api/video/${video_id}/cancel`, { method: "POST", headers }));
    expect(again.status).toBe(409);
    await expect(ingest(h, references[0]!)).rejects.toThrow(/cannot be claimed/);
    expect((await snapshot(h)).status).toBe("cancelled");
  });
});
