import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdreelClient } from "../../cli/client.ts";
import { signWebhook, WEBHOOK_TOLERANCE_SECONDS } from "../../contracts/signing.ts";
import type { DraftKnobsPatch } from "../../draft/options.ts";
import { freePort } from "../../scripts/free-port.ts";
import { createDevKey, ROOT, startStack } from "../../scripts/stack.ts";
import { type ProviderRecorder, type RecordedCreate, startProviderRecorder } from "../support/provider-recorder.ts";
import { tempLeftovers } from "./audit.ts";
import { writeFaultReport } from "./report.ts";
import { type FaultSuite, runGroup, type Scenario, VIDEO_DEADLINE_MS } from "./scenario.ts";
import { holdStoreLock, type StoreKind } from "./storage-outage.ts";
import { productPng, sweepStagedAt, type UploadAnswer, uploadAsset, uploadIntoOutage, uploadWhileStaged } from "./asset-upload.ts";

/**
 * The fault suite: the real local stack, each fault on 15 s ads. Short Worker deadlines make
 * polling, deadline cancels and lease recovery happen within seconds. Faults that strike one
 * video (a cancel, a forged or skewed webhook) run several videos at once; faults that change
 * the provider or a whole process run alone. After every group the four checks of audit.ts
 * must hold for each video; each video's row goes to docs/FAULTS.md.
 */

const VARS = { POLL_AFTER_MS: "2000", PREDICTION_DEADLINE_MS: "8000", JOB_LEASE_MS: "8000", STALL_TIMEOUT_MS: "90000" };
const TEST_TIMEOUT_MS = VIDEO_DEADLINE_MS + 60_000;

let suite: FaultSuite;
/** Between the Worker and the draft server: every create, with what the provider answered and when. */
let recorder: ProviderRecorder;
let dir: string;
let apiKey: string;
let mounted = false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const started = Date.now();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-faults-"));
  const mediaTmp = join(dir, "media-tmp");
  mkdirSync(mediaTmp);
  const draftPort = await freePort();
  recorder = await startProviderRecorder(`http://127.0.0.1:${draftPort}`);
  const stack = await startStack({ stateDir: join(dir, "state"), draftPort, mediaEnv: { MEDIA_NODE_TMP: mediaTmp }, vars: { ...VARS, PROVIDER_BASE_URL: recorder.url } });
  apiKey = await createDevKey(stack);
  suite = { stack, client: new AdreelClient(stack.workerUrl, apiKey), mediaTmp, rows: [] };
}, 180_000);

afterAll(async () => {
  if (mounted) unmount();
  await suite?.stack.stop();
  await recorder?.close();
  rmSync(dir, { recursive: true, force: true });
  const settings = `Worker vars: ${Object.entries(VARS).map(([k, v]) => `${k}=${v}`).join(", ")}; each video must end within ${VIDEO_DEADLINE_MS / 1000} s.`;
  if (suite?.rows.length) console.log(writeFaultReport(join(ROOT, "docs", "FAULTS.md"), suite.rows, settings, (Date.now() - started) / 1000));
});

/** Runs the group and fails the test on any failed check, with the Worker's last log lines. */
async function run(knobs: DraftKnobsPatch, scenarios: Scenario[]) {
  const { outcomes, failed } = await runGroup(suite, knobs, scenarios);
  expect(failed, `${scenarios.map((s) => s.fault).join(" + ")}:\n${suite.stack.logs().worker.slice(-2000)}`).toEqual([]);
  return outcomes.map((o) => o!);
}

/** Mounting needs root: as root directly, otherwise through passwordless sudo (as on GitHub's runners). */
function asRoot(command: string, args: string[]): void {
  if (process.getuid?.() === 0) execFileSync(command, args);
  else execFileSync("sudo", ["-n", command, ...args]);
}

function unmount(): void {
  asRoot("umount", ["-l", suite.mediaTmp]);
  mounted = false;
}

interface Wait {
  webhook: string | null;
  /** The Retry-After, in milliseconds. */
  toldMs: number;
  /** From the 429's answer to the next create for the same attempt; null when there was none. */
  waitedMs: number | null;
}

/** For every create the provider refused with 429: how long it said to wait, and how long the Worker waited before asking again for the same attempt. */
function waitsAfterThrottle(creates: RecordedCreate[]): Wait[] {
  return creates
    .filter((c) => c.status === 429)
    .map((refused) => {
      const next = creates.find((c) => c.webhook === refused.webhook && c.receivedAt >= refused.answeredAt);
      return { webhook: refused.webhook, toldMs: (refused.retryAfter ?? 0) * 1000, waitedMs: next ? next.receivedAt - refused.answeredAt : null };
    });
}

/** The Worker's webhook URL for one attempt of a job, as the run gives it to the provider. */
const webhookUrl = (videoId: string, job: string, attempt: number) => `${suite.stack.workerUrl}/webhooks/replicate?video=${videoId}&job=${encodeURIComponent(job)}&attempt=${attempt}`;

/** The prediction as the provider reports it once it has ended (its JSON text, what a webhook carries). */
async function endedAtProvider(id: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${suite.stack.draftUrl}/v1/predictions/${id}`, { headers: { authorization: `Bearer ${suite.stack.secrets.DRAFT_PROVIDER_TOKEN}` } });
    const text = await response.text();
    if (response.ok && ["succeeded", "failed", "canceled"].includes((JSON.parse(text) as { status: string }).status)) return text;
    await sleep(200);
  }
  throw new Error(`prediction ${id} did not end within 60 s`);
}

describe("provider faults", () => {
  it("create answered 500 half the time: creates are retried", async () => {
    await run({ createErrorRate: 0.5, failSeed: 11 }, [{ fault: "provider: 500 on create (createErrorRate 0.5)", prompt: "A cosy neighbourhood bakery launches a sourdough subscription", end: "complete" }]);
  }, TEST_TIMEOUT_MS);

  it("429 with Retry-After: creates wait as told", async () => {
    const from = recorder.creates.length;
    let waits: Wait[] = [];
    // A 15 s ad makes about 10 predictions: a limit of 6 a minute throttles its last few.
    await run({ rateLimitPerMinute: 6 }, [
      {
        fault: "provider: 429 + Retry-After (rateLimitPerMinute 6)",
        prompt: "Trail running shoes that grip wet rock",
        end: "stated",
        note: () => {
          waits = waitsAfterThrottle(recorder.creates.slice(from));
          const margins = waits.filter((w) => w.waitedMs !== null).map((w) => (w.waitedMs! - w.toldMs) / 1000);
          return `${waits.length} creates answered 429, ${margins.length} asked again for the same attempt, each after its Retry-After (+${Math.min(...margins).toFixed(1)} s at the least)`;
        },
      },
    ]);
    // The fault struck, and the creates it refused were made again: never sooner than the provider said.
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.filter((w) => w.waitedMs !== null).length).toBeGreaterThan(0);
    for (const wait of waits) if (wait.waitedMs !== null) expect(wait.waitedMs, wait.webhook ?? "").toBeGreaterThanOrEqual(wait.toldMs);
  }, TEST_TIMEOUT_MS);

  it("predictions that never finish are cancelled at their deadline and retried", async () => {
    const [outcome] = await run({ hangRate: 0.25, failSeed: 5 }, [{ fault: "provider: hanging predictions (hangRate 0.25) → deadline cancel + retry", prompt: "A bicycle repair shop opens a night workshop", end: "stated" }]);
    // Hung predictions were really given up on: more predictions than jobs, the extra ones cancelled.
    expect(new Set(outcome!.video.cost_ledger!.map((e) => e.job_id)).size).toBeLessThan(outcome!.video.cost_ledger!.length);
  }, TEST_TIMEOUT_MS);

  it("malformed prediction objects and 500s on GET are survived: the video completes", async () => {
    // No webhooks: every prediction is seen through GETs, so the faulty reads are the only way the run can learn its results.
    const from = recorder.reads.length;
    let reads = recorder.reads.slice(from);
    const [outcome] = await run({ malformedRate: 0.3, getErrorRate: 0.3, failSeed: 3, webhookMode: "none" }, [
      {
        fault: "provider: malformed prediction objects (malformedRate 0.3) + 500 on GET (getErrorRate 0.3), no webhooks",
        prompt: "Organic dog treats for picky eaters",
        end: "complete",
        note: () => {
          reads = recorder.reads.slice(from);
          return `${reads.length} GETs: ${reads.filter((r) => r.malformed).length} malformed, ${reads.filter((r) => r.status === 500).length} answered 500`;
        },
      },
    ]);
    // The faults struck the reads of this video's own predictions, and it completed all the same.
    const own = new Set(outcome!.video.cost_ledger!.map((e) => e.prediction_id));
    expect(reads.filter((r) => own.has(r.id) && r.malformed).length).toBeGreaterThan(0);
    expect(reads.filter((r) => own.has(r.id) && r.status === 500).length).toBeGreaterThan(0);
  }, TEST_TIMEOUT_MS);
});

/** A webhook for a running prediction, signed with a secret that is not the Worker's, and one unsigned: both 401, nothing changes. */
function forgedWebhook(): { scenario: Scenario; check: (outcome: { video: { cost_ledger?: { prediction_id: string; job_id: string; attempt: number; actual_usd: number | null }[] } }) => void } {
  const forged: { status: number; body: string; prediction: string; job: string; attempt: number }[] = [];
  let forging = false;
  return {
    scenario: {
      fault: "forged webhook (wrong secret, and unsigned) for a running prediction",
      prompt: "A smart water bottle that reminds you to drink",
      end: "complete",
      note: () => (forged.length ? `forged "succeeded" for ${forged[0]!.job} → ${forged.map((f) => f.status).join(", ")}` : "no running prediction found to forge"),
      during: async (event, _phase, id) => {
        // A prediction the run has just adopted: the job waits for exactly this one.
        if (forging || event.type !== "job" || event.job.status !== "predicting" || event.prediction_id === undefined) return;
        forging = true;
        const target = { prediction_id: event.prediction_id, job_id: event.job.id, attempt: event.job.attempt };
        const body = JSON.stringify({ id: target.prediction_id, status: "succeeded", output: "http://127.0.0.1:9/forged.mp4", metrics: { predict_time: 0.1 } });
        const wrongSecret = `whsec_${randomBytes(32).toString("base64")}`;
        const signed = await signWebhook(wrongSecret, `msg_${randomBytes(8).toString("hex")}`, Math.floor(Date.now() / 1000), body);
        for (const headers of [signed, {}]) {
          const response = await fetch(webhookUrl(id, target.job_id, target.attempt), { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
          forged.push({ status: response.status, body: await response.text(), prediction: target.prediction_id, job: target.job_id, attempt: target.attempt });
        }
      },
    },
    check: (outcome) => {
      expect(forged.length).toBe(2);
      for (const f of forged) {
        expect(f.status).toBe(401);
        expect(f.body).toMatch(/webhook rejected/);
      }
      // The forged prediction ended on its own (really priced) and its job needed no other attempt.
      const ledger = outcome.video.cost_ledger!;
      expect(ledger.find((e) => e.prediction_id === forged[0]!.prediction)?.actual_usd).not.toBeNull();
      expect(ledger.filter((e) => e.job_id === forged[0]!.job).map((e) => e.attempt)).toEqual([forged[0]!.attempt]);
    },
  };
}

/**
 * Cancelled at a phase: `first` strikes as soon as the video is accepted (queued, or planning).
 * A media phase is held while the cancel lands (media-node's process group frozen, SIGSTOP, then
 * continued), so the video is still in it whatever the machine's speed; the cancel must be taken (`cancelled: true`).
 */
function cancelAt(phase: string, prompt: string, options: { holdMedia?: boolean } = {}): Scenario & { struck: () => string | null } {
  let struck: string | null = null;
  let answered = "";
  return {
    fault: phase === "first" ? "video cancelled as soon as it was accepted" : `video cancelled during ${phase}`,
    prompt,
    end: "cancelled",
    struck: () => struck,
    note: () => (struck ? `cancelled in ${struck} (${answered})` : `${phase} never observed`),
    submitted: async (id) => {
      if (phase !== "first") return;
      struck = (await suite.client.status(id)).current_phase;
      answered = JSON.stringify(await suite.client.cancel(id));
    },
    during: async (_event, now, id) => {
      if (struck || phase === "first" || now !== phase) return;
      struck = now;
      // Frozen, not stopped: a stopped media-node answers at once (refused), and a step that may
      // go without it (the seams measure) then lets the video complete before the cancel lands.
      const media = options.holdMedia ? suite.stack.pids().media : null;
      if (media) process.kill(-media, "SIGSTOP");
      try {
        answered = JSON.stringify(await suite.client.cancel(id));
      } finally {
        if (media) process.kill(-media, "SIGCONT");
      }
    },
  };
}

describe("webhook faults", () => {
  it("duplicated webhooks are acted on once; at the same time, a forged webhook is refused and videos are cancelled in each prediction phase", async () => {
    const forged = forgedWebhook();
    const cancels = [
      cancelAt("first", "A pottery studio offers weekend wheel classes"),
      cancelAt("generating_references", "A mobile car wash that comes to your office"),
      cancelAt("storyboarding", "Sparkling yerba mate in three citrus flavours"),
      cancelAt("generating_chunks", "A neighbourhood tool library opens a second branch"),
    ];
    const outcomes = await run({ webhookMode: "duplicate" }, [{ fault: "webhooks duplicated", prompt: "A language app for travelling chefs", end: "complete" }, forged.scenario, ...cancels]);
    forged.check(outcomes[1]!);
    for (const cancel of cancels) expect(cancel.struck(), cancel.fault).not.toBeNull();
  }, TEST_TIMEOUT_MS);

  it("cancelled while media-node works: during stitching and during adding_music", async () => {
    const cancels = [cancelAt("stitching", "A rooftop beekeeping course for city dwellers", { holdMedia: true }), cancelAt("adding_music", "Wool socks knitted from recycled yarn", { holdMedia: true })];
    await run({}, cancels);
    for (const cancel of cancels) expect(cancel.struck(), cancel.fault).toBe(cancel.fault.replace("video cancelled during ", ""));
  }, TEST_TIMEOUT_MS);

  it("webhooks delayed past the deadline: polling finishes the work, late ones change nothing", async () => {
    await run({ webhookMode: { delayMs: 10_000 } }, [{ fault: "webhooks delayed 10 s (past the 8 s deadline)", prompt: "A rooftop cinema opens for the summer", end: "complete" }]);
  }, TEST_TIMEOUT_MS);

  it("reordered webhooks (completed before start) are handled", async () => {
    await run({ webhookMode: "shuffle" }, [{ fault: "webhooks reordered (shuffle: newest first)", prompt: "Noise-cancelling headphones for open-plan offices", end: "complete" }]);
  }, TEST_TIMEOUT_MS);

  it("no webhooks from the provider: polling completes the video; webhooks signed at the edge of the clock tolerance are taken just inside it and refused just outside, and polling ends what they were refused for", async () => {
    // Far enough from the edge that a slow request (seconds on a loaded machine) cannot carry a webhook across it.
    const margin = 10;
    const sent: { job: string; prediction: string; skew: number; status: number; body: string }[] = [];
    const targets: string[] = [];
    const skewed: Scenario = {
      fault: `webhooks signed ${WEBHOOK_TOLERANCE_SECONDS - margin} s and ${WEBHOOK_TOLERANCE_SECONDS + margin} s off the Worker's clock, both ways`,
      prompt: "A tea subscription for night-shift nurses",
      end: "complete",
      note: () => sent.map((s) => `${s.job} ${s.skew > 0 ? "+" : ""}${s.skew} s → ${s.status}`).join(", "),
      during: async (event, _phase, id) => {
        if (targets.length >= 2 || event.type !== "job" || event.job.status !== "predicting" || event.prediction_id === undefined || targets.includes(event.job.id)) return;
        const inside = targets.length === 0;
        targets.push(event.job.id);
        const body = await endedAtProvider(event.prediction_id);
        const skews = inside ? [-(WEBHOOK_TOLERANCE_SECONDS - margin), WEBHOOK_TOLERANCE_SECONDS - margin] : [-(WEBHOOK_TOLERANCE_SECONDS + margin), WEBHOOK_TOLERANCE_SECONDS + margin];
        for (const skew of skews) {
          const headers = await signWebhook(suite.stack.secrets.WEBHOOK_SECRET, `msg_${randomBytes(8).toString("hex")}`, Math.floor(Date.now() / 1000) + skew, body);
          const response = await fetch(webhookUrl(id, event.job.id, event.job.attempt), { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
          sent.push({ job: event.job.id, prediction: event.prediction_id, skew, status: response.status, body: await response.text() });
        }
      },
    };
    const [, outcome] = await run({ webhookMode: "none" }, [{ fault: "no webhooks at all (polling only)", prompt: "A vegan ice cream truck tours the coast", end: "complete" }, skewed]);
    // Each skew once: the two just inside taken, the two just outside refused for their timestamp.
    expect(Object.fromEntries(sent.map((s) => [s.skew, s.status]))).toEqual({ [-(WEBHOOK_TOLERANCE_SECONDS - margin)]: 200, [WEBHOOK_TOLERANCE_SECONDS - margin]: 200, [-(WEBHOOK_TOLERANCE_SECONDS + margin)]: 401, [WEBHOOK_TOLERANCE_SECONDS + margin]: 401 });
    expect(sent).toHaveLength(4);
    for (const refused of sent.filter((s) => s.status === 401)) expect(refused.body).toMatch(/tolerance/);
    // What the refused webhooks were for was ended by polling: that prediction priced, its job done on its first attempt.
    const ledger = outcome!.video.cost_ledger!;
    const refused = sent.find((s) => s.status === 401)!;
    expect(ledger.find((e) => e.prediction_id === refused.prediction)?.actual_usd).not.toBeNull();
    expect(ledger.filter((e) => e.job_id === refused.job)).toHaveLength(1);
  }, TEST_TIMEOUT_MS);
});

/** A store made unavailable from outside (storage-outage.ts) for `ms`, from the moment chunks start generating. */
function storeOutage(fault: string, prompt: string, kind: StoreKind, lock: "exclusive" | "immediate", ms: number): Scenario & { struck: () => string | null } {
  let struck: string | null = null;
  return {
    fault,
    prompt,
    end: "complete",
    struck: () => struck,
    note: () => (struck ? `locked at ${struck}` : "chunk phase never observed"),
    during: async (_event, phase) => {
      if (struck || phase !== "generating_chunks") return;
      struck = phase;
      await holdStoreLock(suite.stack.stateDir, kind, lock, ms);
    },
  };
}

describe("storage faults", () => {
  // An exclusive lock on D1's SQLite file refuses writes only: the file is in WAL mode, where reads go on (storage-outage.ts).
  it("D1 refusing writes for 15 s while chunks generate: the run goes on from its Durable Object, and the D1 index catches up", async () => {
    const outage = storeOutage("D1 writes failing for 15 s (an exclusive lock on its SQLite file; WAL: reads go on) during generating_chunks", "A co-working space with a daycare downstairs", "d1", "exclusive", 15_000);
    const [outcome] = await run({}, [outage]);
    expect(outage.struck()).not.toBeNull();
    // The video list (D1) shows the end and the cost the run has, once the alarm has written what the outage refused.
    const listed = async () => (await suite.client.list({ limit: 20 })).videos.find((v) => v.video_id === outcome!.video.video_id);
    const deadline = Date.now() + 60_000;
    let row = await listed();
    while ((row?.status !== "complete" || row.cost_usd !== outcome!.video.cost_usd) && Date.now() < deadline) {
      await sleep(1000);
      row = await listed();
    }
    expect(row).toMatchObject({ status: "complete", cost_usd: outcome!.video.cost_usd });
  }, TEST_TIMEOUT_MS);

  it("R2 refusing writes for 8 s while chunks generate: the steps that store media are tried again", async () => {
    const outage = storeOutage("R2 writes failing for 8 s (a write lock on its SQLite file) during generating_chunks", "A repair café that fixes toasters for free", "r2", "immediate", 8_000);
    await run({}, [outage]);
    expect(outage.struck()).not.toBeNull();
  }, TEST_TIMEOUT_MS);
});

/** An upload the outage struck: our 503, retryable, naming storage and no field of the client's. */
function expectOurOutage(answer: UploadAnswer, when: string) {
  expect(answer.status, `${when}: ${JSON.stringify(answer.body)}`).toBe(503);
  expect(Number(answer.retryAfter), when).toBeGreaterThan(0);
  expect(answer.body.error, when).toMatch(/storage is unavailable/);
  expect(answer.body.field, when).toBeUndefined();
}

describe("storage faults during a brand-asset upload", () => {
  it("R2 writes failing during a brand-asset upload: 503 with Retry-After naming storage, the Worker healthy; after it, the same upload succeeds and an ad made from it completes", async () => {
    const png = await productPng();
    // The path works before the fault (and R2's database exists to be locked, in a suite run alone).
    const baseline = await uploadAsset(suite.stack, apiKey, png);
    expect(baseline.status, JSON.stringify(baseline.body)).toBe(201);
    // R2 refusing writes already: the Worker's stage of the bytes is refused.
    const before = await uploadIntoOutage(suite.stack, apiKey, png);
    expectOurOutage(before.answer, "outage before the upload");
    expect(before.health).toBe(200);
    // R2 refusing writes once the upload is staged: media-node reads it, its PUT of the PNG is refused.
    const staged = await uploadWhileStaged(suite.stack, apiKey, png);
    expectOurOutage(staged.answer, "outage after the stage");
    expect(staged.health).toBe(200);
    // The Worker's delete of its staged copy met the outage too: the copy is the cron sweep's, kept
    // while its URL may still be read, removed by a run due past its lifetime (11 min; a day here).
    expect(staged.stagedLeft.length).toBeGreaterThan(0);
    const keptNow = await sweepStagedAt(suite.stack, Date.now());
    for (const key of staged.stagedLeft) expect(keptNow, key).toContain(key);
    const leftAfterLifetime = await sweepStagedAt(suite.stack, Date.now() + 24 * 3600_000);
    for (const key of staged.stagedLeft) expect(leftAfterLifetime, key).not.toContain(key);
    // The outage over: the same bytes are taken, and the ad uses them.
    const after = await uploadAsset(suite.stack, apiKey, png);
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    const ref = after.body.ref!;
    const answers = `upload during the outage → ${before.answer.status} (Retry-After ${before.answer.retryAfter}, "${before.answer.body.error}"); outage from the stage on → ${staged.answer.status} (Retry-After ${staged.answer.retryAfter}, "${staged.answer.body.error}", ${staged.stagedLeft.length} staged copy left, kept by a sweep due then, removed by one due past its lifetime); after → ${after.status} ${ref}`;
    const [outcome] = await run({}, [
      { fault: "R2 writes failing (a write lock on its SQLite file) during a brand-asset upload (POST /api/assets): before it, and from its stage on", prompt: "A thermos that keeps coffee hot on a winter hike", brandAssets: { product_images: [ref] }, end: "complete", note: () => answers },
    ]);
    expect(outcome!.video.reference_images.map((r) => r.asset)).toContain(ref);
  }, TEST_TIMEOUT_MS);
});

describe("process faults", () => {
  it("restarting the Worker while chunks generate", async () => {
    let restartedAt: string | null = null;
    await run({}, [
      {
        fault: "the Worker restarted during generating_chunks",
        prompt: "Handmade leather boots for city hikers",
        end: "complete",
        note: () => (restartedAt ? `restarted at ${restartedAt}` : "chunk phase never observed"),
        during: async (event, phase) => {
          // Strike once a chunk prediction is under way.
          if (restartedAt || phase !== "generating_chunks" || event.type !== "job") return;
          restartedAt = `generating_chunks, just after ${event.job.id} changed`;
          await suite.stack.restartWorker();
        },
      },
    ]);
    expect(restartedAt).not.toBeNull();
  }, TEST_TIMEOUT_MS);

  it("killing media-node during a media step, back 3 s later", async () => {
    let killedAt: string | null = null;
    await run({}, [
      {
        fault: "media-node killed during stitching, restarted 3 s later",
        prompt: "A family-run olive oil press opens its doors",
        end: "stated",
        note: () => (killedAt ? `killed in ${killedAt}` : "stitch phase never observed"),
        during: async (_event, phase) => {
          if (killedAt || phase !== "stitching") return;
          killedAt = phase;
          await suite.stack.stopMediaNode();
          await sleep(3000);
          await suite.stack.startMediaNode();
        },
      },
    ]);
    expect(killedAt).not.toBeNull();
  }, TEST_TIMEOUT_MS);

  it("a full disk under media-node's temp dir", async () => {
    try {
      asRoot("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", suite.mediaTmp]);
      mounted = true;
    } catch (error) {
      suite.rows.push({ fault: "full disk for MEDIA_NODE_TMP", happened: `could not mount a 2 MB tmpfs here: ${(error as Error).message}`, checks: "not run" });
      throw error;
    }
    try {
      const [outcome] = await run({}, [{ fault: "full disk: MEDIA_NODE_TMP on a 2 MB tmpfs", prompt: "A boutique hotel in the mountains offers ski-in breakfasts", end: "stated" }]);
      if (outcome!.status.status === "failed") expect(outcome!.status.error).toMatch(/no space left|ENOSPC/i);
    } finally {
      unmount();
    }
    // Nothing was left under the mount either.
    expect(await tempLeftovers(suite.mediaTmp, 0)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
