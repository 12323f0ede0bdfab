import { TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { describe, expect, it } from "vitest";
import { queueOf } from "../queue/messages.ts";
import { createPrediction } from "../queue/consumer.ts";
import { claim, driveToChunks, driveToEnd, normalizeChunk, outcomeFor, type Harness, ingest, jobOf, newRun, predictionOf, publishFrame, rows, snapshot, startJob, succeed } from "../../test/support/worker/run-driver.ts";

/**
 * Chunk k+1 of a beat starts from chunk k's last frame. The frame is published by the ingest
 * step as soon as the clip is back; the normalize pass (the `normalize` step) runs while k+1 generates.
 */

/** The first beat with at least `n` chunks, as job ids in order. */
async function chain(h: Harness, n: number): Promise<string[]> {
  const all = (await snapshot(h)).jobs;
  const chunks = all.filter((j) => j.kind === "chunk");
  if (chunks.length === 0) throw new Error(`no chunks yet: ${all.map((c) => `${c.id}=${c.status}`).join(", ")}`);
  const beats = new Map<number, string[]>();
  for (const c of [...chunks].sort((a, b) => a.idx - b.idx)) beats.set(c.beat!, [...(beats.get(c.beat!) ?? []), c.id]);
  const found = [...beats.values()].find((ids) => ids.length >= n);
  if (!found) throw new Error(`no beat has ${n} chunks: ${chunks.map((c) => `${c.id}@${c.beat}=${c.status}`).join(", ")}`);
  return found;
}

describe("last-frame hand-off", () => {
  it("routes the normalize pass, stitch and mux to the media queue, music preparation and the soundtrack to the audio queue, and every hand-off to the jobs queue", () => {
    expect(queueOf("chunk", "normalize")).toBe("media");
    expect(queueOf("music", "ingest")).toBe("audio");
    expect(queueOf("soundtrack", "start")).toBe("audio");
    expect(queueOf("stitch", "start")).toBe("media");
    expect(queueOf("mux", "start")).toBe("media");
    for (const [kind, step] of [["chunk", "start"], ["chunk", "ingest"], ["plan", "start"], ["reference", "ingest"], ["storyboard", "start"], ["music", "start"]] as const) {
      expect(queueOf(kind, step)).toBe("jobs");
    }
  });

  it("starts chunk k+1 when chunk k's last frame is published, before chunk k is normalized", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const [first, second] = await chain(h, 2);
    await startJob(h, first!);
    await succeed(h, first!);
    expect((await jobOf(h, second!)).status).toBe("waiting");
    await publishFrame(h, first!);
    expect((await jobOf(h, first!)).status).toBe("normalizing");
    // Watchers see the frame at once (the live page shows it in the chunk's cell).
    const events = await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'job'");
    const published = events.map((e) => JSON.parse(e.data) as { job: { id: string; status: string }; frame_url?: string }).find((e) => e.job.id === first && e.job.status === "normalizing");
    expect(published?.frame_url).toMatch(/-last\.png/);
    // The frame was enough: the next chunk is sent before the first one is done.
    expect((await jobOf(h, second!)).status).toBe("queued");
    await startJob(h, second!);
    await normalizeChunk(h, first!);
    expect((await jobOf(h, first!)).status).toBe("done");
    expect((await jobOf(h, second!)).status).toBe("predicting");
    await succeed(h, second!);
    await ingest(h, second!);
    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
  });

  it("a chunk that fails after publishing its frame is rendered again, and the chunks started from the old frame start again without losing a retry", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const [first, second, third] = await chain(h, 3);
    await startJob(h, first!);
    await succeed(h, first!);
    await publishFrame(h, first!);
    await startJob(h, second!);
    await succeed(h, second!);
    await publishFrame(h, second!);
    await startJob(h, third!);
    const stale = await predictionOf(h, third!);

    // The normalize pass of the first chunk gives up (e.g. media-node kept failing).
    await h.stub.fail(first!, 1, "media-node answered 503", true, "normalize");
    expect(await jobOf(h, first!)).toMatchObject({ status: "queued", attempt: 2 });
    for (const id of [second!, third!]) {
      const job = await jobOf(h, id);
      expect(job).toMatchObject({ status: "waiting", attempt: 2 });
      expect(job.errors.at(-1)).toMatch(/rendered again/);
    }
    // The third chunk's prediction, conditioned on a frame that is gone, is stopped.
    expect(TERMINAL_STATUSES).toContain(h.double.view(stale.id).status);

    const end = await driveToEnd(h);
    expect(end.status).toBe("complete");
    // Restarts are not failures: the chunks downstream still had their whole retry budget.
    const [retryBase] = await rows<{ retry_base: number }>(h, `SELECT retry_base FROM jobs WHERE id = '${third}'`);
    expect(retryBase!.retry_base).toBe(1);
    // Every prediction that ran is in the ledger once, the stopped one included.
    const ledger = end.cost_ledger.filter((e) => e.job_id === third);
    expect(new Set(ledger.map((e) => e.prediction_id)).size).toBe(2);
  });

  it("a normalize report for a job that moved on changes nothing", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const [first] = await chain(h, 2);
    await startJob(h, first!);
    await succeed(h, first!);
    // Not published yet: a normalize failure is about a step the job has not reached.
    await h.stub.fail(first!, 1, "late report", true, "normalize");
    expect((await jobOf(h, first!)).status).toBe("ingesting");
    await publishFrame(h, first!);
    await normalizeChunk(h, first!);
    await h.stub.fail(first!, 1, "late report", true, "normalize");
    expect(await jobOf(h, first!)).toMatchObject({ status: "done", attempt: 1 });
  });
  it("flags a chunk's normalize pass as ending the chunk phase only once no other chunk of the video is still generating, read at each claim", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const [first] = await chain(h, 2);
    await startJob(h, first!);
    await succeed(h, first!);
    await publishFrame(h, first!);
    // The next chunk of its beat (and every other beat) still generates: an ordinary background pass.
    expect((await claim(h, first!, "normalize")).endsPhase).toBe(false);
    const published: string[] = [first!];
    for (let round = 0; round < 50; round++) {
      const waiting = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status === "queued");
      if (waiting.length === 0) break;
      for (const job of waiting) {
        await startJob(h, job.id);
        await succeed(h, job.id);
        await publishFrame(h, job.id);
        published.push(job.id);
      }
    }
    const chunks = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk");
    expect(chunks.every((c) => c.status === "normalizing")).toBe(true);
    expect(published.length).toBe(chunks.length);
    // Every frame is published: what is left of the phase is these passes, the one claimed (and refused busy, say) before among them.
    for (const id of published) expect((await claim(h, id, "normalize")).endsPhase, id).toBe(true);
    for (const id of published) await normalizeChunk(h, id);
    expect((await driveToEnd(h)).status).toBe("complete");
  });
  it("two beats' last chunks ingested at once: neither waits for the other, each one's pass ends the phase", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const lastOfBeat = async (id: string) => (JSON.parse((await rows<{ input: string }>(h, `SELECT input FROM jobs WHERE id = '${id}'`))[0]!.input) as { last_in_beat: boolean }).last_in_beat;
    const ingesting: string[] = [];
    for (let round = 0; round < 50; round++) {
      const queued = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status === "queued");
      if (queued.length === 0) break;
      for (const job of queued) {
        await startJob(h, job.id);
        await succeed(h, job.id);
        // Every beat's last chunk stays ingesting (its last frame or its pass under way).
        if (await lastOfBeat(job.id)) ingesting.push(job.id);
        else await publishFrame(h, job.id);
      }
    }
    expect(ingesting.length).toBeGreaterThan(1);
    const [first, second] = ingesting;
    await publishFrame(h, first!);
    // The other beat's last chunk still being ingested generates nothing this pass waits behind.
    expect((await claim(h, first!, "normalize")).endsPhase).toBe(true);
    await publishFrame(h, second!);
    expect((await claim(h, second!, "normalize")).endsPhase).toBe(true);
    for (const id of ingesting.slice(2)) await publishFrame(h, id);
    for (const job of (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status === "normalizing")) await normalizeChunk(h, job.id);
    expect((await driveToEnd(h)).status).toBe("complete");
  });

  it("hands the last chunk's normalize pass, which ends the phase, to the consumer that published its frame; a failed one goes back on the queue", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } });
    await driveToChunks(h);
    const generating = async () => (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status !== "normalizing");
    const [first] = await chain(h, 2);
    await startJob(h, first!);
    await succeed(h, first!);
    // Other chunks still generate: the publishing consumer gets the next chunk of the beat, not this pass.
    const handed = await publishFrame(h, first!, { handOff: true });
    expect(handed?.step).toBe("start");
    expect(handed?.job.id).not.toBe(first);
    await createPrediction(h.deps, handed!, outcomeFor(h, handed!));
    for (let round = 0; round < 50 && (await generating()).length > 1; round++) {
      for (const job of (await generating()).filter((j) => j.status === "queued" || j.status === "predicting")) {
        if ((await generating()).length === 1) break;
        if (job.status === "queued") await startJob(h, job.id);
        await succeed(h, job.id);
        await publishFrame(h, job.id);
      }
    }
    const [last] = await generating();
    expect(last).toBeDefined();
    if (last!.status === "queued") await startJob(h, last!.id);
    await succeed(h, last!.id);
    const own = await publishFrame(h, last!.id, { handOff: true });
    expect(own).toMatchObject({ step: "normalize", endsPhase: true, job: { id: last!.id } });
    // Its consumer could not finish it: sent again on the queue, the job still normalizing.
    await h.stub.handBack(last!.id, own!.job.attempt, 1, "normalize");
    expect((await jobOf(h, last!.id)).status).toBe("normalizing");
    for (const job of (await snapshot(h)).jobs.filter((j) => j.kind === "chunk" && j.status === "normalizing")) await normalizeChunk(h, job.id);
    expect((await driveToEnd(h)).status).toBe("complete");
  });
});
