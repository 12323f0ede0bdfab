import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { deliverWebhook, driveToChunks, driveToEnd, type Harness, ingest, jobOf, newRun, predictionOf, queued, runJob, snapshot, startJob } from "../../test/support/worker/run-driver.ts";
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
    await h.stub.claim("reference:0", 1, "start");
    await h.stub.fail("reference:0", 1, "brand asset is not an image", false, "start");
    const end = await snapshot(h);
    expect(end.status).toBe("failed");
    expect(end.error).toBe("reference image 1 failed after 1 attempt: brand asset is not an image");
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
