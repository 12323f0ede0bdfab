import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "../contracts/log.ts";
import { AdreelClient } from "../cli/client.ts";
import { createDevKey, type Stack, startStack } from "../scripts/stack.ts";
import { logRecords } from "./support/log-records.ts";

/**
 * One video's story in the logs, as README "Observability" tells an operator to read it: the
 * real local stack makes a short ad, and every structured line of the Worker (routes, queue
 * consumers, the VideoRun object) and of media-node that carries its `video_id` is selected.
 * Together they must tell every phase from `queued` to `complete`, each job claimed and done,
 * each prediction created and ended, and media-node's requests for the video's jobs.
 */

const PHASES = ["queued", "planning", "generating_references", "storyboarding", "generating_chunks", "stitching", "adding_music", "complete"];

let stack: Stack;
let client: AdreelClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-logs-"));
  stack = await startStack({ stateDir: join(dir, "state"), keepLines: true });
  client = new AdreelClient(stack.workerUrl, await createDevKey(stack));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Both services' records of one video: the documented filter, `video_id` equals the id. */
function story(videoId: string) {
  const lines = stack.lines();
  const worker = logRecords(lines.worker).records;
  const media = logRecords(lines.media);
  return { worker: worker.filter((r) => r.video_id === videoId), media: media.records.filter((r) => r.video_id === videoId), mediaOther: media.other, allWorker: worker };
}

const events = (records: LogRecord[], event: string) => records.filter((r) => r.event === event);

/** Steps claimed whose end (done, or deferred while media-node was busy) has not been logged. */
function unended(worker: LogRecord[]): LogRecord[] {
  const ends = [...events(worker, "job.step_done"), ...events(worker, "job.step_deferred")];
  return events(worker, "job.claimed").filter((claimed) => !ends.some((r) => r.job_id === claimed.job_id && r.attempt === claimed.attempt && r.step === claimed.step));
}

/**
 * The processes' output reaches this one through pipes after the API has answered: wait until
 * the line that closes the story (the video's end) has arrived. Only the arrival is waited for.
 */
async function storyOf(videoId: string): Promise<ReturnType<typeof story>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = story(videoId);
    // A consumer logs its step's end after the call that finished the job, which may have ended the video: wait for those lines too.
    if (found.worker.some((r) => r.event === "video.ended") && found.media.some((r) => r.event === "request.end" && r.path === "/v1/media/videos/assemble") && unended(found.worker).length === 0) return found;
    if (Date.now() > deadline) throw new Error(`the end of video ${videoId} never reached the logs (steps claimed and never ended: ${unended(found.worker).map((r) => `${r.job_id} ${r.step}`).join(", ") || "none"}):\n${stack.logs().worker.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}



describe("one video's logs", () => {
  it("tell its whole story across the Worker and media-node, selected by its video_id", async () => {
    const { video_id } = await client.generate({ prompt: "A neighbourhood bike repair shop offers same-day fixes", duration_s: 15 });
    const end = await client.watch(video_id, () => {}, 240_000);
    expect(end.status).toBe("complete");
    const { worker, media, mediaOther, allWorker } = await storyOf(video_id);

    // Every phase, in order, from the Worker's VideoRun.
    const phases = events(worker, "phase.changed").sort((a, b) => a.time - b.time);
    expect(phases.map((r) => r.phase)).toEqual(PHASES);
    expect(events(worker, "video.ended")).toEqual([expect.objectContaining({ level: "info", status: "complete", error: null })]);

    // Each job's steps, claimed and done by the queue consumers, and every transition of the job table.
    const jobs = new Set(events(worker, "job.transition").map((r) => r.job_id));
    expect([...jobs].filter((id) => id?.startsWith("chunk")).length).toBeGreaterThan(1);
    // Progressive assembly: the copy's layers, windows and seam measures (stitch jobs), then the assembly (mux).
    for (const id of ["plan", "overlays", "mux"]) expect(jobs).toContain(id);
    // (Windows may all be rendered by the assembly itself, when the soundtrack is late.)
    expect([...jobs].some((id) => id?.startsWith("seams:"))).toBe(true);
    for (const claimed of events(worker, "job.claimed")) {
      expect(claimed).toMatchObject({ job_id: expect.any(String), kind: expect.any(String), attempt: expect.any(Number), step: expect.stringMatching(/^(start|ingest|normalize)$/) });
      // Done, or deferred while media-node was busy (it is then claimed again).
      const ended = [...events(worker, "job.step_done"), ...events(worker, "job.step_deferred")].find((r) => r.job_id === claimed.job_id && r.attempt === claimed.attempt && r.step === claimed.step);
      expect(ended, `${claimed.job_id} ${claimed.step}`).toBeDefined();
    }
    expect(events(worker, "job.transition").filter((r) => r.transition === "complete").map((r) => r.job_id).sort()).toEqual([...jobs].sort());

    // Every prediction, created by a consumer and ended through its webhook, under one id.
    const created = events(worker, "prediction.created");
    expect(created.length).toBeGreaterThan(0);
    const ended = new Map(events(worker, "prediction.ended").map((r) => [r.prediction_id, r]));
    for (const prediction of created) expect(ended.get(prediction.prediction_id), prediction.prediction_id).toMatchObject({ job_id: prediction.job_id, status: "succeeded" });

    // media-node's requests for this video's jobs: started and ended, each naming the job, its attempt and step.
    const requests = events(media, "request.end");
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      // 503: refused while every encode slot was in use (media-node/admission.ts); the step came back later.
      expect(request).toMatchObject({ service: "media-node", status: expect.toSatisfy((status: number) => status === 200 || status === 503), job_id: expect.any(String), kind: expect.any(String), attempt: expect.any(Number), step: expect.any(String) });
      expect(request.duration_ms).toEqual(expect.any(Number));
      expect(jobs).toContain(request.job_id);
    }
    // Continuity conditioning (the default) makes no composite: chunks start from stored pictures (docs/SEAMS.md).
    expect(requests.map((r) => r.path)).toEqual(expect.arrayContaining(["/v1/media/chunks/last-frame", "/v1/media/chunks/normalize", "/v1/media/finish/overlays", "/v1/media/videos/seams", "/v1/media/videos/assemble"]));
    expect(events(media, "request.start")).toHaveLength(requests.length);
    // The assembly read every chunk, window and the soundtrack from media-node's own copies
    // (piece-cache.ts): the etags the Worker read from R2 are those of the bytes it stored.
    expect(events(media, "assemble.pieces")).toEqual([expect.objectContaining({ job_id: "mux", kept: expect.toSatisfy((n: number) => n > 2), downloaded: 0 })]);

    // media-node prints nothing but records; no record of either service holds a URL's signature.
    expect(mediaOther).toEqual([]);
    const written = JSON.stringify([...allWorker, ...logRecords(stack.lines().media).records]);
    expect(written).not.toMatch(/sig=|X-Amz-Signature|access_token=/);
  }, 300_000);
});
