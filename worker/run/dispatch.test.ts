import { TERMINAL_STATUSES } from "../../contracts/prediction.ts";
import { describe, expect, it } from "vitest";
import { ACTIVE_STATUSES, PREDICTION_KINDS } from "./jobs.ts";
import { runDurableObjectAlarm } from "cloudflare:test";
import { deliverWebhook, driveToChunks, elapse, type Harness, ingest, jobOf, newRun, predictionOf, queued, rows, runJob, snapshot, startJob } from "../../test/support/worker/run-driver.ts";

/** The per-video cap on predictions in flight (maxPredictionsPerVideo) holds whatever finishes when. */

const CAP = 2;

function runningAtProvider(h: Harness): number {
  return h.double.all().filter((p) => !TERMINAL_STATUSES.includes(p.status)).length;
}

async function holdingSlots(h: Harness): Promise<number> {
  return (await snapshot(h)).jobs.filter((j) => PREDICTION_KINDS.includes(j.kind) && ACTIVE_STATUSES.includes(j.status)).length;
}

describe("dispatch", () => {
  it("sends no more prediction jobs than the cap, and fills a slot as soon as one frees", async () => {
    const h = await newRun({ config: { maxPredictionsPerVideo: CAP } });
    await runJob(h, "plan");
    const afterPlan = await snapshot(h);
    // Three references and the music are ready; only two may go.
    const paid = afterPlan.jobs.filter((j) => PREDICTION_KINDS.includes(j.kind));
    expect(paid.filter((j) => j.status === "queued")).toHaveLength(CAP);
    expect(paid.filter((j) => j.status === "ready")).toHaveLength(paid.length - CAP);

    let peak = 0;
    let inFlight: string[] = [];
    for (let round = 0; round < 200; round++) {
      const snap = await snapshot(h);
      if (snap.status !== "processing") break;
      // Every queued job is started at once, as a fleet of consumers would.
      for (const job of snap.jobs.filter((j) => j.status === "queued")) {
        if (PREDICTION_KINDS.includes(job.kind)) {
          await startJob(h, job.id);
          inFlight.push(job.id);
        } else await runJob(h, job.id);
      }
      expect(await holdingSlots(h)).toBeLessThanOrEqual(CAP);
      expect(runningAtProvider(h)).toBeLessThanOrEqual(CAP);
      peak = Math.max(peak, runningAtProvider(h));
      // The oldest prediction finishes and is ingested, which frees its slot.
      const next = inFlight.shift();
      if (!next) continue;
      const { id } = await predictionOf(h, next);
      h.double.finish(id, { status: "succeeded" });
      await deliverWebhook(h, id);
      await ingest(h, next);
    }
    const end = await snapshot(h);
    expect(end.status).toBe("complete");
    expect(peak).toBe(CAP);
  });
});

describe("the deployment's create gate", () => {
  it("defers a create over providerCreatesPerMinute to when the gate has room, without using a retry", async () => {
    // Its own gate (one limiter object per provider URL), so no other test's creates count.
    // No voiceover: its lines would take the video's free slots while the third reference waits.
    const h = await newRun({ request: { voiceover: { enabled: false } }, config: { providerCreatesPerMinute: 2, providerBaseUrl: `https://gate-${crypto.randomUUID()}.test` } });
    await runJob(h, "plan");
    const references = await queued(h, "reference");
    expect(references).toHaveLength(3);
    for (const id of references) await startJob(h, id);
    // Two creates fit the minute; the third job gave its slot back and waits, not failed.
    expect(h.double.all()).toHaveLength(2);
    const third = await jobOf(h, references[2]!);
    expect(third).toMatchObject({ status: "ready", attempt: 1, errors: [] });
    const [row] = await rows<{ not_before: number }>(h, `SELECT not_before FROM jobs WHERE id = '${references[2]}'`);
    expect(row!.not_before - Date.now()).toBeGreaterThan(50_000);
    // Watchers are told why it waits.
    const warnings = await rows<{ data: string }>(h, "SELECT data FROM events WHERE type = 'warning'");
    expect(warnings.map((w) => JSON.parse(w.data) as { message: string; job_id?: string })).toContainEqual({ message: expect.stringMatching(/waits \d+ s: the provider's 2 prediction creates per minute are taken/), job_id: references[2] });
    // Not sent before its time; sent by the alarm once it is due.
    await runDurableObjectAlarm(h.stub);
    expect((await jobOf(h, references[2]!)).status).toBe("ready");
    await elapse(h, 61_000);
    await runDurableObjectAlarm(h.stub);
    expect(await jobOf(h, references[2]!)).toMatchObject({ status: "queued", attempt: 1 });
  });
});

describe("which chunk gets a free slot", () => {
  it("the one with the most of its beat still behind it (longest chain first)", async () => {
    const h = await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 2 } });
    await driveToChunks(h, { music: true });
    const chunks = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk");
    const perBeat = new Map<number, number>();
    for (const c of chunks) perBeat.set(c.beat!, (perBeat.get(c.beat!) ?? 0) + 1);
    const sent = chunks.filter((c) => c.status === "queued");
    expect(sent).toHaveLength(2);
    // The longest beats' first chunks went; every beat left waiting is no longer than they are.
    const longest = Math.max(...perBeat.values());
    expect(Math.max(...sent.map((c) => perBeat.get(c.beat!)!))).toBe(longest);
    const shortestSent = Math.min(...sent.map((c) => perBeat.get(c.beat!)!));
    for (const c of chunks.filter((j) => j.status === "ready")) expect(perBeat.get(c.beat!)!).toBeLessThanOrEqual(shortestSent);
  });
});
