import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { driveToEnd, type Harness, ingest, jobOf, MODELS, newRun, rows, runJob, type RunOptions, snapshot, startJob, submitRun, succeed } from "../../test/support/worker/run-driver.ts";
import { type JobKind, PREDICTION_KINDS } from "./jobs.ts";
import type { Snapshot } from "./types.ts";
import type { StatusResponse } from "../../contracts/api.ts";

/**
 * `estimated_time_remaining` from observed provider latency: a run times its jobs, estimates
 * from what it saw (priors before that), and leaves its means in D1 for the next video.
 */

/** The models the driver's predictions run on, so D1's means are keyed as the run reads them. */
const OPTIONS: RunOptions = { config: { models: { ...MODELS, imageFallbacks: [] } } };
const CHUNK_SECONDS = 40;

/** Run a job the driver's way, its prediction taking `seconds[kind]` at the provider (its reported `total_time` is that + 0.2 s). */
function withLatency(seconds: Partial<Record<JobKind, number>>) {
  return async (h: Harness, jobId: string): Promise<void> => {
    const { kind } = await jobOf(h, jobId);
    if (!PREDICTION_KINDS.includes(kind)) return runJob(h, jobId);
    await startJob(h, jobId);
    await succeed(h, jobId, seconds[kind] ?? 2);
    await ingest(h, jobId);
  };
}

/** The longest run of chunks not yet done inside one beat. */
function longestChain(snap: Snapshot): number {
  const left = new Map<number, number>();
  for (const job of snap.jobs) if (job.kind === "chunk" && job.status !== "done") left.set(job.beat!, (left.get(job.beat!) ?? 0) + 1);
  return Math.max(0, ...left.values());
}

async function durations(kind: JobKind, model: string) {
  return env.DB.prepare("SELECT provider_seconds, samples FROM job_durations WHERE kind = ? AND model = ?").bind(kind, model).first<{ provider_seconds: number; samples: number }>();
}

let key: string;
beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-eta", "test")).key;
});

const submit = (): Promise<Harness> => submitRun(key, "A reusable steel water bottle for trail runners", OPTIONS);

async function statusOf(h: Harness): Promise<StatusResponse> {
  const response = await exports.default.fetch(new Request(`http://adreel.test/api/status/${h.videoId}`, { headers: { authorization: `Bearer ${key}` } }));
  return (await response.json()) as StatusResponse;
}

async function statusEta(h: Harness): Promise<number | null> {
  return (await statusOf(h)).estimated_time_remaining;
}

/** The status fields as the full snapshot has them: the status route reads them without it. */
function statusFields(snap: Snapshot): StatusResponse {
  return {
    video_id: snap.video_id,
    status: snap.status,
    progress: snap.progress,
    current_phase: snap.phase,
    estimated_time_remaining: snap.estimated_time_remaining,
    error: snap.error,
    cost_usd: snap.cost_usd,
    cost_pending_usd: snap.cost_pending_usd,
    cost_estimate_usd: snap.cost_estimate?.total_usd ?? null,
  };
}

describe("estimated_time_remaining", () => {
  it("follows the provider latency this run observes, and GET /api/status serves it", async () => {
    const h = await submit();
    const seen: { phase: string; eta: number | null; chain: number; chunksDone: number; api: number | null }[] = [];
    const statuses: { api: StatusResponse; snapshot: StatusResponse }[] = [];
    const end = await driveToEnd(h, {
      run: withLatency({ chunk: CHUNK_SECONDS }),
      afterStep: async (snap) => {
        const chunksDone = snap.jobs.filter((j) => j.kind === "chunk" && j.status === "done").length;
        const api = await statusOf(h);
        seen.push({ phase: snap.phase, eta: snap.estimated_time_remaining, chain: longestChain(snap), chunksDone, api: api.estimated_time_remaining });
        statuses.push({ api, snapshot: statusFields(snap) });
      },
    });
    expect(end.status).toBe("complete");
    expect(end.estimated_time_remaining).toBe(0);
    expect(await statusEta(h)).toBe(0);

    // Between steps nothing is in flight: the API answers exactly what the snapshot says.
    for (const step of seen) expect(step.api).toBe(step.eta);
    // And so for every field of the status: the same values the full snapshot holds.
    for (const { api, snapshot } of statuses) expect(api).toEqual(snapshot);
    expect(statuses.some(({ api }) => api.cost_usd > 0 && api.cost_estimate_usd !== null)).toBe(true);
    // Null only until planning produced the spec.
    expect(seen.filter((s) => s.eta === null).every((s) => ["queued", "planning"].includes(s.phase))).toBe(true);
    expect(seen.filter((s) => !["queued", "planning"].includes(s.phase)).every((s) => typeof s.eta === "number")).toBe(true);

    // Before any chunk finished: the draft priors (seconds per chunk).
    const beforeChunks = seen.find((s) => s.phase === "generating_chunks" && s.chunksDone === 0)!;
    expect(beforeChunks.eta!).toBeLessThan(CHUNK_SECONDS);
    // After the first: 40 s per chunk observed, so at least the longest remaining chain of them.
    const afterFirst = seen.findIndex((s) => s.chunksDone === 1);
    const first = seen[afterFirst]!;
    expect(first.chain).toBeGreaterThan(0);
    expect(first.eta!).toBeGreaterThanOrEqual(CHUNK_SECONDS * first.chain);
    // From then on it only falls (within a rounding second) as the chunks complete, to 0 at the end.
    const rest = seen.slice(afterFirst).map((s) => s.eta!);
    for (let i = 1; i < rest.length; i++) expect(rest[i]!, rest.join(", ")).toBeLessThanOrEqual(rest[i - 1]! + 1);
    expect(rest.at(-1)).toBe(0);

    // Every progress event once the spec exists carries the estimate.
    const events = (await h.stub.events(0)) as unknown as { id: number; type: string; data: { estimated_time_remaining?: unknown } }[];
    const specAt = events.find((e) => e.type === "spec")!.id;
    const progress = events.filter((e) => e.type === "progress" && e.id > specAt).map((e) => e.data.estimated_time_remaining);
    expect(progress.length).toBeGreaterThan(5);
    for (const eta of progress) expect(typeof eta).toBe("number");
  });

  it("records observed means in D1 when a video ends, and the next video starts from them", async () => {
    await env.DB.exec("DELETE FROM job_durations"); // D1 is shared by this file's tests
    const first = await newRun(OPTIONS);
    const early: number[] = [];
    const firstEnd = await driveToEnd(first, {
      run: withLatency({ chunk: CHUNK_SECONDS }),
      afterStep: (snap) => {
        if (snap.phase === "generating_references" && snap.estimated_time_remaining !== null) early.push(snap.estimated_time_remaining);
      },
    });
    expect(firstEnd.status).toBe("complete");
    const chunk = await durations("chunk", MODELS.video);
    expect(chunk).toMatchObject({ samples: 1 });
    expect(chunk!.provider_seconds).toBeGreaterThanOrEqual(CHUNK_SECONDS);
    expect(chunk!.provider_seconds).toBeLessThan(CHUNK_SECONDS + 5);
    expect(await durations("reference", MODELS.image)).toMatchObject({ samples: 1 });
    expect(await durations("stitch", "media-node")).toMatchObject({ samples: 1, provider_seconds: 0 });

    // The next video reads them when its planning ends: 40 s chunks before any of its own ran.
    const second = await newRun(OPTIONS);
    await runJob(second, "plan");
    const priors = await rows<{ kind: string; model: string; provider_seconds: number; source: string }>(second, "SELECT kind, model, provider_seconds, source FROM duration_priors WHERE kind = 'chunk'");
    expect(priors).toEqual([{ kind: "chunk", model: MODELS.video, provider_seconds: chunk!.provider_seconds, source: "observed" }]);
    const planned = await snapshot(second);
    const beats = new Map<number, number>();
    for (const c of planned.chunk_plan!) beats.set(c.beat_index, (beats.get(c.beat_index) ?? 0) + 1);
    const chain = Math.max(...beats.values());
    expect(early[0]!).toBeLessThan(CHUNK_SECONDS * chain); // the first video, same plan, from the defaults
    expect(planned.estimated_time_remaining!).toBeGreaterThanOrEqual(CHUNK_SECONDS * chain);

    // Its own observations (20 s chunks) fold into the mean: two samples, a plain mean while samples < 1 / weight.
    const secondEnd = await driveToEnd(second, { run: withLatency({ chunk: 20 }) });
    expect(secondEnd.status).toBe("complete");
    const after = await durations("chunk", MODELS.video);
    expect(after!.samples).toBe(2);
    expect(after!.provider_seconds).toBeGreaterThan(30);
    expect(after!.provider_seconds).toBeLessThan(33);
  });

  it("a D1 that cannot be read or written leaves the run to its defaults", async () => {
    await env.DB.exec("DROP TABLE job_durations");
    const h = await newRun(OPTIONS);
    const end = await driveToEnd(h, { run: withLatency({ chunk: CHUNK_SECONDS }) });
    expect(end.status).toBe("complete");
    expect(end.estimated_time_remaining).toBe(0);
    const sources = await rows<{ source: string }>(h, "SELECT DISTINCT source FROM duration_priors");
    expect(sources).toEqual([{ source: "default" }]);
    // Nothing was recorded, so a D1 that comes back gets these attempts at the next end.
    expect(await rows(h, "SELECT 1 FROM attempts WHERE recorded = 1")).toEqual([]);
  });
});
