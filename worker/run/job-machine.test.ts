import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobStatus } from "../../contracts/live.ts";
import {
  claim,
  deliverWebhook,
  driveToChunks,
  driveToEnd,
  elapse,
  type Harness,
  jobOf,
  newRun,
  outcomeFor,
  predictionOf,
  publishFrame,
  queued,
  runJob,
  runOf,
  snapshot,
  startJob,
  succeed,
} from "../../test/support/worker/run-driver.ts";
import { ReplicateDouble } from "../../test/support/worker/replicate-double.ts";
import { webhookUrl } from "../providers/webhook.ts";
import { createPrediction } from "../queue/consumer.ts";
import { JOB_TRANSITIONS, type JobEvent, type JobEventParams, JobMachine } from "./job-machine.ts";
import type { JobRow } from "./jobs.ts";
import type { VideoRun } from "./video-run.ts";

/**
 * The job lifecycle table (job-machine.ts), enumerated: every event in every status, taken
 * where the table allows it (with the columns it writes) and refused everywhere else; then
 * real runs, driven through the run's RPCs, must between them take every allowed transition.
 */

const NOW = 1_800_000_000_000;
const EVENTS = Object.keys(JOB_TRANSITIONS) as JobEvent[];

/** Parameters each event is taken with in the table tests. */
const PARAMS: { [E in JobEvent]: JobEventParams[E] } = {
  release: {},
  dispatch: { leaseUntil: NOW + 1 },
  handOff: { leaseUntil: NOW + 12 },
  claim: { leaseUntil: NOW + 2 },
  defer: { notBefore: NOW + 3 },
  beginCreate: { model: "m/new", estimateUsd: 0.5, leaseUntil: NOW + 4 },
  abortCreate: { uncertain: true, leaseUntil: NOW + 5 },
  adopt: { predictionId: "p-new", model: "m/adopted", estimateUsd: 0.25, pollAt: NOW + 6, deadlineAt: NOW + 7 },
  predicted: { output: { prediction: { id: "p-old" } }, leaseUntil: NOW + 8 },
  publish: { output: { published: 1 }, leaseUntil: NOW + 9 },
  complete: { output: { key: "k" } },
  newAttempt: { to: "ready", reason: "it broke", retries: "counted" },
  giveUp: { reason: "it broke for good" },
  cancel: {},
  requeue: { leaseUntil: NOW + 10 },
  recreate: { leaseUntil: NOW + 11 },
};

/** A job two attempts in, with every column set, so a transition's writes (and what it keeps) show. */
const BEFORE = {
  attempt: 2,
  retry_base: 0,
  input: '{"in":1}',
  output: '{"out":1}',
  error: "earlier",
  errors: '["attempt 1: earlier"]',
  prediction_id: "p-old",
  model: "m/old",
  estimate_usd: 0.1,
  creating_since: NOW - 500,
  create_uncertain: 0,
  not_before: NOW - 400,
  lease_until: NOW - 300,
  poll_at: NOW - 200,
  deadline_at: NOW - 100,
  started_at: NOW - 1000,
};

/** What each event must have written (besides `status` and `updated_at`), given BEFORE and PARAMS. */
const WRITES: { [E in JobEvent]: Partial<JobRow> } = {
  release: {},
  dispatch: { not_before: null, lease_until: NOW + 1 },
  handOff: { not_before: null, lease_until: NOW + 12, started_at: NOW - 1000 },
  claim: { lease_until: NOW + 2, started_at: NOW - 1000 },
  defer: { not_before: NOW + 3, lease_until: null },
  beginCreate: { model: "m/new", estimate_usd: 0.5, creating_since: NOW - 500, lease_until: NOW + 4 },
  abortCreate: { create_uncertain: 1, lease_until: NOW + 5 },
  adopt: { prediction_id: "p-new", model: "m/adopted", estimate_usd: 0.25, create_uncertain: 0, poll_at: NOW + 6, deadline_at: NOW + 7, lease_until: null },
  predicted: { output: '{"prediction":{"id":"p-old"}}', poll_at: null, deadline_at: null, lease_until: NOW + 8 },
  publish: { output: '{"published":1}', lease_until: NOW + 9 },
  complete: { output: '{"key":"k"}', error: null, lease_until: null, poll_at: null, deadline_at: null },
  newAttempt: {
    attempt: 3,
    retry_base: 0,
    input: '{"in":1}',
    output: null,
    error: "it broke",
    errors: '["attempt 1: earlier","attempt 2: it broke"]',
    prediction_id: null,
    model: null,
    estimate_usd: null,
    creating_since: null,
    create_uncertain: 0,
    not_before: null,
    lease_until: null,
    poll_at: null,
    deadline_at: null,
    started_at: null,
  },
  giveUp: { error: "it broke for good", errors: '["attempt 1: earlier","attempt 2: it broke for good"]', lease_until: null, poll_at: null, deadline_at: null },
  cancel: { lease_until: null, poll_at: null, deadline_at: null },
  requeue: { lease_until: NOW + 10 },
  recreate: { create_uncertain: 0, lease_until: NOW + 11 },
};

let jobs = 0;

/** A job in `status` (BEFORE's columns, with `overrides`) in a fresh run's SQLite, and the machine over it. */
function place(sql: SqlStorage, status: JobStatus, overrides: Partial<JobRow> = {}): JobRow {
  const row = { ...BEFORE, ...overrides, id: `job-${++jobs}`, kind: "chunk", phase: "generating_chunks", beat: 0, idx: 0, status, depends_on: null, updated_at: NOW - 10, created_at: NOW - 10 };
  const columns = Object.keys(row);
  sql.exec(`INSERT INTO jobs (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`, ...Object.values(row));
  return row as JobRow;
}

/** Runs `test` with a job machine over a fresh run's real SQLite (a Durable Object of its own). */
function withMachine<T>(test: (machine: JobMachine, sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(runOf(crypto.randomUUID()), (_run: VideoRun, state) => test(new JobMachine(state.storage.sql), state.storage.sql));
}

describe("the job lifecycle table", () => {
  it("covers every status: each is entered by some event, and every open status has a way out", () => {
    const entered = new Set(EVENTS.flatMap((e) => JOB_TRANSITIONS[e].to));
    const left = new Set(EVENTS.flatMap((e) => JOB_TRANSITIONS[e].from));
    // `waiting` and `ready` are also where `insert` puts new jobs.
    expect(JobStatus.options.filter((s) => !entered.has(s) && s !== "waiting")).toEqual([]);
    expect(JobStatus.options.filter((s) => !left.has(s))).toEqual(["failed", "cancelled"]);
  });

  for (const event of EVENTS) {
    const transition = JOB_TRANSITIONS[event];
    for (const status of JobStatus.options) {
      const allowed = transition.from.includes(status);
      it(`${event} from ${status}: ${allowed ? `→ ${transition.to.join(" | ")}` : "refused"}`, async () => {
        await withMachine((machine, sql) => {
          // `adopt` outside `creating` needs a create whose outcome is unknown.
          const job = place(sql, status, event === "adopt" && status !== "creating" ? { create_uncertain: 1 } : {});
          const after = machine.apply(event, { id: job.id, attempt: job.attempt }, PARAMS[event], NOW);
          const stored = machine.get(job.id)!;
          if (!allowed) {
            expect(after).toBeNull();
            expect(stored).toEqual(job);
            return;
          }
          expect(after).toEqual(stored);
          expect(transition.to).toContain(stored.status);
          expect(stored).toEqual({ ...job, ...WRITES[event], status: stored.status, updated_at: NOW });
        });
      });
    }
  }

  it("refuses a report about an attempt the job has moved past, and a guard that does not hold", async () => {
    await withMachine((machine, sql) => {
      const job = place(sql, "running");
      expect(machine.apply("beginCreate", { id: job.id, attempt: job.attempt - 1 }, PARAMS.beginCreate, NOW)).toBeNull();
      expect(machine.get(job.id)).toEqual(job);
      // A running job may adopt a prediction only when its create's outcome is unknown.
      expect(machine.apply("adopt", job, PARAMS.adopt, NOW)).toBeNull();
      expect(machine.apply("claim", { id: "no-such-job" }, PARAMS.claim, NOW)).toBeNull();
    });
  });

  it("counts a new attempt against the job's retries, gives the try back, or starts the count afresh", async () => {
    await withMachine((machine, sql) => {
      const base = { retry_base: 1, attempt: 3 };
      const counted = machine.apply("newAttempt", place(sql, "predicting", base), { to: "ready", reason: "x", retries: "counted" }, NOW)!;
      const free = machine.apply("newAttempt", place(sql, "predicting", base), { to: "waiting", reason: "y", retries: "free" }, NOW)!;
      const fresh = machine.apply("newAttempt", place(sql, "done", base), { to: "ready", reason: null, retries: "fresh", input: { beat: 1 } }, NOW)!;
      expect([counted, free, fresh].map((j) => [j.status, j.attempt, j.attempt - j.retry_base])).toEqual([
        ["ready", 4, 3],
        ["waiting", 4, 2],
        ["ready", 4, 1],
      ]);
      // A regeneration keeps the job's history and says nothing went wrong; it takes its new input.
      expect(fresh).toMatchObject({ error: null, errors: BEFORE.errors, input: '{"beat":1}' });
    });
  });

  it("inserts new jobs waiting on their dependency or ready, never twice", async () => {
    await withMachine((machine) => {
      machine.insert([
        { id: "chunk:000", kind: "chunk", beat: 0, idx: 0, input: {} },
        { id: "chunk:001", kind: "chunk", beat: 0, idx: 1, input: {}, dependsOn: "chunk:000" },
      ]);
      machine.insert([{ id: "chunk:000", kind: "chunk", beat: 0, idx: 0, input: { again: true } }]);
      expect(machine.list().map((j) => [j.id, j.status, j.attempt, j.input])).toEqual([
        ["chunk:000", "ready", 1, "{}"],
        ["chunk:001", "waiting", 1, "{}"],
      ]);
    });
  });
});

// ---------------------------------------------------------------- real runs

/** Transitions taken by the runs below, as `event from status`. */
const taken = new Set<string>();

/** Every transition the run's job machine takes from now on is recorded. */
async function watch(h: Harness): Promise<Harness> {
  await runInDurableObject(h.stub, (run: VideoRun) => {
    const machine = run.run.jobs;
    const apply = machine.apply.bind(machine);
    machine.apply = ((event, job, params, now) => {
      const before = machine.get(job.id)?.status;
      const after = apply(event, job, params, now);
      if (after && before) taken.add(`${event} from ${before}`);
      return after;
    }) as JobMachine["apply"];
  });
  return h;
}

const LEASE_MS = 180_000;

async function alarm(h: Harness): Promise<void> {
  expect(await runDurableObjectAlarm(h.stub)).toBe(true);
}

/** The provider ends the job's current prediction as failed, by webhook. */
async function failPrediction(h: Harness, jobId: string): Promise<void> {
  const { id } = await predictionOf(h, jobId);
  h.double.finish(id, { status: "failed", error: "CUDA out of memory" });
  await deliverWebhook(h, id);
}

/** Passes the creation guard for the job and stops there, as a consumer that died would. */
async function beginCreating(h: Harness, jobId: string): Promise<void> {
  const claimed = await claim(h, jobId, "start");
  const outcome = outcomeFor(h, claimed);
  expect(await h.stub.beginPrediction(jobId, claimed.job.attempt, outcome.estimateUsd, outcome.model)).toEqual({ proceed: true });
}

/**
 * Transitions no run can take through the RPCs, each with the reason the table still allows
 * it. The table tests above take them; a run that reaches one some day just covers it twice.
 */
const TABLE_ONLY: Record<string, string> = {
  "defer from queued": "a consumer defers only after the creation guard let it through (creating)",
  "defer from running": "as above",
  "giveUp from queued": "a start failure is reported by the consumer that claimed it (running)",
  "giveUp from creating": "a failure while creating comes through the consumer (running again) or the alarm's lookup, which retries",
  "giveUp from ingesting": "the ingest's failures are retried first; the run gives up only on what the provider reports",
  "giveUp from normalizing": "as above",
  "newAttempt from ready": "a dependent restarts from `ready` only while the create gate defers it, which a run cannot pause at",
};

describe("real runs take every transition of the table", () => {
  it("a whole video with a duplicated claim, then a regenerated beat", async () => {
    const h = await watch(await newRun());
    await claim(h, "plan", "start");
    await runJob(h, "plan"); // its message came twice: the second claim finds it running
    expect((await driveToEnd(h)).status).toBe("complete");
    expect(await h.stub.regenerateBeat(1, null)).toMatchObject({ ok: true });
    expect((await driveToEnd(h)).status).toBe("complete");
  });

  it("failures at each step are retried on a new attempt", async () => {
    const h = await watch(await newRun());
    await runJob(h, "plan");
    const [first, second, third] = await queued(h, "reference");
    // Queued: its message was dead-lettered.
    await h.stub.fail(first!, 1, "dead-lettered", true, "start");
    // Running: its step threw.
    await claim(h, second!, "start");
    await h.stub.fail(second!, 1, "media-node answered 500", true, "start");
    // Predicting: the provider failed it.
    await startJob(h, third!);
    await failPrediction(h, third!);
    // Ingesting: storing its output failed.
    await startJob(h, "music");
    await succeed(h, "music");
    await h.stub.fail("music", 1, "R2 write failed", true, "ingest");
    expect((await snapshot(h)).jobs.filter((j) => j.attempt === 2).map((j) => j.id).sort()).toEqual([first, second, third, "music"].sort());
  });

  it("a chunk that fails while normalizing restarts the chunk started from its frame", async () => {
    const h = await watch(await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 32 } }));
    await driveToChunks(h);
    const chunks = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk");
    const first = chunks.find((c) => chunks.some((n) => n.beat === c.beat && n.idx === c.idx + 1))!;
    const next = chunks.find((n) => n.beat === first.beat && n.idx === first.idx + 1)!;
    await startJob(h, first.id);
    await succeed(h, first.id);
    // The consumer that publishes the frame runs the next chunk's start step itself.
    const handed = await publishFrame(h, first.id, { handOff: true });
    expect(handed?.job.id).toBe(next.id);
    await createPrediction(h.deps, handed!, outcomeFor(h, handed!));
    await h.stub.fail(first.id, 1, "normalize pass failed", true, "normalize");
    expect(await jobOf(h, next.id)).toMatchObject({ status: "waiting", attempt: 2 });
  });

  it("creates that fail, answers that are lost, a full create gate and lost messages", async () => {
    const h = await watch(await newRun({ config: { jobLeaseMs: LEASE_MS, providerCreatesPerMinute: 2, providerBaseUrl: `https://gate-${crypto.randomUUID()}.test` } }));
    await runJob(h, "plan");
    const [first, second, third] = await queued(h, "reference");
    // The provider answers 500: the attempt goes back to running and is sent again by the queue.
    h.double.failNext({ kind: "server-error" });
    await expect(startJob(h, first!)).rejects.toThrow();
    // Applied, then the answer is lost: its webhook names the prediction first.
    h.double.failNext({ kind: "answer-lost" });
    const claimed = await claim(h, second!, "start");
    await expect(createPrediction(h.deps, claimed, outcomeFor(h, claimed))).rejects.toThrow();
    await deliverWebhook(h, h.double.forJob(second!, 1)[0]!.id);
    expect(await jobOf(h, second!)).toMatchObject({ status: "predicting", attempt: 1 });
    // The gate has room for two creates a minute: the third waits, ready.
    await startJob(h, third!);
    expect((await jobOf(h, third!)).status).toBe("ready");
    // Lost: the first's redelivery (running) and the music's message (queued), both past their lease.
    await elapse(h, LEASE_MS + 1);
    await alarm(h);
    expect(await jobOf(h, first!)).toMatchObject({ status: "queued", attempt: 1 });
    expect(await jobOf(h, "music")).toMatchObject({ status: "queued", attempt: 1 });
  });

  it("a webhook that comes after its lost create was sent again is adopted from the queue", async () => {
    const h = await watch(await newRun({ config: { jobLeaseMs: LEASE_MS } }));
    await runJob(h, "plan");
    const [first] = await queued(h, "reference");
    h.double.failNext({ kind: "answer-lost" });
    const claimed = await claim(h, first!, "start");
    await expect(createPrediction(h.deps, claimed, outcomeFor(h, claimed))).rejects.toThrow();
    await elapse(h, LEASE_MS + 1);
    await alarm(h);
    expect((await jobOf(h, first!)).status).toBe("queued");
    await deliverWebhook(h, h.double.forJob(first!, 1)[0]!.id);
    expect((await jobOf(h, first!)).status).toBe("predicting");
  });

  it("a consumer lost while creating: the same attempt starts again, or a new one when the provider cannot tell", async () => {
    const absent = await watch(await newRun({ config: { jobLeaseMs: LEASE_MS } }));
    await runJob(absent, "plan");
    await beginCreating(absent, "reference:1");
    await elapse(absent, LEASE_MS + 1);
    await alarm(absent);
    expect(await jobOf(absent, "reference:1")).toMatchObject({ status: "queued", attempt: 1 });

    const unknown = await watch(await newRun({ config: { jobLeaseMs: LEASE_MS }, double: new ReplicateDouble({ reportWebhook: false }) }));
    await runJob(unknown, "plan");
    await beginCreating(unknown, "reference:1");
    await unknown.deps.provider.create({ model: "google/nano-banana", input: {}, webhook: await webhookUrl(unknown.config, unknown.videoId, "reference:1", 1) });
    await elapse(unknown, LEASE_MS + 1);
    await alarm(unknown);
    expect(await jobOf(unknown, "reference:1")).toMatchObject({ status: "queued", attempt: 2 });
  });

  it("a job that cannot succeed fails the video, from running and from predicting", async () => {
    const running = await watch(await newRun());
    await claim(running, "plan", "start");
    await running.stub.fail("plan", 1, "the request cannot be planned", false, "start");
    expect((await snapshot(running)).status).toBe("failed");

    const predicting = await watch(await newRun({ config: { maxAttempts: 1 } }));
    await runJob(predicting, "plan");
    // A reference that fails is degraded around (the video goes on without it); a storyboard is not.
    for (const id of await queued(predicting, "reference")) await runJob(predicting, id);
    const [storyboard] = await queued(predicting, "storyboard");
    await startJob(predicting, storyboard!);
    await failPrediction(predicting, storyboard!);
    expect((await snapshot(predicting)).status).toBe("failed");
  });

  it("cancelling a video cancels jobs in every open status", async () => {
    const h = await watch(await newRun({ request: { duration_s: 30 }, config: { maxPredictionsPerVideo: 6 } }));
    await driveToChunks(h);
    const chunks = (await snapshot(h)).jobs.filter((j) => j.kind === "chunk");
    const beatHeads = chunks.filter((c) => c.status === "queued");
    const [running, creating, predicting, normalizing] = beatHeads;
    await claim(h, running!.id, "start");
    await beginCreating(h, creating!.id);
    await startJob(h, predicting!.id);
    await startJob(h, normalizing!.id);
    await succeed(h, normalizing!.id);
    await publishFrame(h, normalizing!.id);
    // The slot it freed went to the next chunk; that one's prediction is back, not yet stored.
    const [ingesting] = await queued(h, "chunk");
    await startJob(h, ingesting!);
    await succeed(h, ingesting!);
    const before = new Set((await snapshot(h)).jobs.map((j) => j.status));
    for (const status of ["waiting", "ready", "queued", "running", "creating", "predicting", "ingesting", "normalizing"] as const) expect(before, status).toContain(status);
    await h.stub.cancel("cancelled by request");
    expect((await snapshot(h)).jobs.filter((j) => j.status !== "done" && j.status !== "cancelled")).toEqual([]);
  });

  it("between them, every transition the table allows (TABLE_ONLY aside, each with its reason)", () => {
    const allowed = EVENTS.flatMap((event) => JOB_TRANSITIONS[event].from.map((from) => `${event} from ${from}`));
    expect(allowed.filter((t) => !taken.has(t) && !(t in TABLE_ONLY))).toEqual([]);
    // The list holds only what the table allows and the runs did not take.
    expect(Object.keys(TABLE_ONLY).filter((t) => !allowed.includes(t) || taken.has(t))).toEqual([]);
  });
});
