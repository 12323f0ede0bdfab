import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "../../contracts/signing.ts";
import { AdreelClient } from "../../cli/client.ts";
import type { LiveMessage } from "../../contracts/live.ts";
import { DRAFT_DEFAULTS, type DraftKnobsPatch, pickKnobs } from "../../draft/options.ts";
import { ROOT, createDevKey, freePort, type Stack, startStack } from "../../scripts/stack.ts";
import { type ProviderRecorder, type RecordedCreate, startProviderRecorder } from "../support/provider-recorder.ts";
import { followToEnd, ledgerProblems, type Outcome, runningAtProvider, tempLeftovers } from "./audit.ts";
import { type FaultRow, writeFaultReport } from "./report.ts";

/**
 * The fault suite: the real local stack, one fault at a time, each on a 15 s ad. Short Worker
 * deadlines make polling, deadline cancels and lease recovery happen within seconds. After
 * every video the four checks of audit.ts must hold; each run's row goes to docs/FAULTS.md.
 */

const VARS = { POLL_AFTER_MS: "2000", PREDICTION_DEADLINE_MS: "8000", JOB_LEASE_MS: "8000", STALL_TIMEOUT_MS: "90000" };
/** How long any one faulty video may take to end. */
const VIDEO_DEADLINE_MS = 180_000;
const TEST_TIMEOUT_MS = VIDEO_DEADLINE_MS + 60_000;

let stack: Stack;
/** Between the Worker and the draft server: every create, with what the provider answered and when. */
let recorder: ProviderRecorder;
let client: AdreelClient;
let dir: string;
let mediaTmp: string;
let mounted = false;
const rows: FaultRow[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-faults-"));
  mediaTmp = join(dir, "media-tmp");
  mkdirSync(mediaTmp);
  const draftPort = await freePort();
  recorder = await startProviderRecorder(`http://127.0.0.1:${draftPort}`);
  stack = await startStack({ stateDir: join(dir, "state"), draftPort, mediaEnv: { MEDIA_NODE_TMP: mediaTmp }, vars: { ...VARS, PROVIDER_BASE_URL: recorder.url } });
  client = new AdreelClient(stack.workerUrl, await createDevKey(stack));
}, 180_000);

afterAll(async () => {
  if (mounted) unmount();
  await stack?.stop();
  await recorder?.close();
  rmSync(dir, { recursive: true, force: true });
  const settings = `Worker vars: ${Object.entries(VARS).map(([k, v]) => `${k}=${v}`).join(", ")}; each video must end within ${VIDEO_DEADLINE_MS / 1000} s.`;
  if (rows.length > 0) console.log(writeFaultReport(join(ROOT, "docs", "FAULTS.md"), rows, settings));
});

async function configureDraft(knobs: DraftKnobsPatch): Promise<void> {
  const response = await fetch(`${stack.draftUrl}/v1/_draft/config`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.secrets.DRAFT_PROVIDER_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(knobs),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`draft config answered ${response.status}: ${await response.text()}`);
}

function unmount(): void {
  execFileSync("umount", ["-l", mediaTmp]);
  mounted = false;
}

interface Scenario {
  fault: string;
  prompt: string;
  knobs?: DraftKnobsPatch;
  /** Runs on every live event while the video is under way, with the phase at that moment (to strike at a phase). */
  during?: (event: LiveMessage, phase: string, videoId: string) => Promise<void>;
  /** The fault must not cost the video: it completes. Otherwise failing with a stated reason is also accepted. */
  mustComplete: boolean;
  /** What the fault did, for the report (e.g. which phase it struck). */
  note?: () => string;
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

/** Run one faulty video, apply the four checks, record the row; returns the outcome for fault-specific assertions. */
async function runScenario(s: Scenario): Promise<Outcome> {
  await configureDraft({ ...pickKnobs(DRAFT_DEFAULTS), ...s.knobs });
  const since = Date.now();
  let outcome: Outcome | undefined;
  const failed: string[] = [];
  try {
    const { video_id } = await client.generate({ prompt: s.prompt, duration_s: 15 });
    outcome = await followToEnd(client, video_id, VIDEO_DEADLINE_MS, s.during && ((event, phase) => s.during!(event, phase, video_id)));
  } catch (error) {
    failed.push(`a ✗ ${(error as Error).message}`);
  } finally {
    // Faults off before auditing, so the audit's own requests are not faulted.
    await configureDraft(pickKnobs(DRAFT_DEFAULTS)).catch(() => undefined);
  }
  const marks: string[] = [];
  if (outcome) {
    const { status } = outcome;
    const stated = status.status === "complete" || (status.status === "failed" && !!status.error && status.error.trim().length > 0);
    const a = stated && (!s.mustComplete || status.status === "complete");
    marks.push(a ? "a ✓" : `a ✗ (${status.status}: ${status.error ?? "no error"})`);
    if (!a) failed.push(marks.at(-1)!);
    const running = await runningAtProvider(stack, since);
    marks.push(running.length === 0 ? "b ✓" : `b ✗ (${running.length} still running: ${running.map((p) => p.id).join(", ")})`);
    if (running.length) failed.push(marks.at(-1)!);
    const ledger = ledgerProblems(outcome.video);
    marks.push(ledger.length === 0 ? `c ✓ (${outcome.video.cost_ledger?.length ?? 0} predictions, $${outcome.video.cost_usd.toFixed(4)})` : `c ✗ (${ledger.join("; ")})`);
    if (ledger.length) failed.push(marks.at(-1)!);
  }
  const left = await tempLeftovers(mediaTmp);
  marks.push(left.length === 0 ? "d ✓" : `d ✗ (${left.join(", ")})`);
  if (left.length) failed.push(marks.at(-1)!);
  const end = outcome ? `${outcome.status.status} in ${outcome.seconds} s${outcome.status.error ? `: ${outcome.status.error.slice(0, 220)}` : ""}` : "did not end";
  rows.push({ fault: s.fault, happened: [s.note?.(), end].filter(Boolean).join("; "), checks: marks.join(", ") });
  expect(failed, `${s.fault}:\n${stack.logs().worker.slice(-2000)}`).toEqual([]);
  return outcome!;
}

describe("provider faults", () => {
  it("create answered 500 half the time: creates are retried", async () => {
    await runScenario({ fault: "provider: 500 on create (createErrorRate 0.5)", prompt: "A cosy neighbourhood bakery launches a sourdough subscription", knobs: { createErrorRate: 0.5, failSeed: 11 }, mustComplete: true });
  }, TEST_TIMEOUT_MS);

  it("429 with Retry-After: creates wait as told", async () => {
    const from = recorder.creates.length;
    let waits: Wait[] = [];
    await runScenario({
      fault: "provider: 429 + Retry-After (rateLimitPerMinute 12)",
      prompt: "Trail running shoes that grip wet rock",
      knobs: { rateLimitPerMinute: 12 },
      mustComplete: false,
      note: () => {
        waits = waitsAfterThrottle(recorder.creates.slice(from));
        const margins = waits.filter((w) => w.waitedMs !== null).map((w) => (w.waitedMs! - w.toldMs) / 1000);
        return `${waits.length} creates answered 429, ${margins.length} asked again for the same attempt, each after its Retry-After (+${Math.min(...margins).toFixed(1)} s at the least)`;
      },
    });
    // The fault struck, and the creates it refused were made again: never sooner than the provider said.
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.filter((w) => w.waitedMs !== null).length).toBeGreaterThan(0);
    for (const wait of waits) if (wait.waitedMs !== null) expect(wait.waitedMs, wait.webhook ?? "").toBeGreaterThanOrEqual(wait.toldMs);
  }, TEST_TIMEOUT_MS);

  it("predictions that never finish are cancelled at their deadline and retried", async () => {
    const outcome = await runScenario({ fault: "provider: hanging predictions (hangRate 0.25) → deadline cancel + retry", prompt: "A bicycle repair shop opens a night workshop", knobs: { hangRate: 0.25, failSeed: 5 }, mustComplete: false });
    // Hung predictions were really given up on: more predictions than jobs, the extra ones cancelled.
    expect(new Set(outcome.video.cost_ledger!.map((e) => e.job_id)).size).toBeLessThan(outcome.video.cost_ledger!.length);
  }, TEST_TIMEOUT_MS);

  it("malformed prediction objects and 500s on GET are survived: the video completes", async () => {
    await runScenario({ fault: "provider: malformed prediction objects (malformedRate 0.3) + 500 on GET (getErrorRate 0.3)", prompt: "Organic dog treats for picky eaters", knobs: { malformedRate: 0.3, getErrorRate: 0.3, failSeed: 3 }, mustComplete: true });
  }, TEST_TIMEOUT_MS);
});

describe("webhook faults", () => {
  it("duplicated webhooks are acted on once", async () => {
    await runScenario({ fault: "webhooks duplicated", prompt: "A language app for travelling chefs", knobs: { webhookMode: "duplicate" }, mustComplete: true });
  }, TEST_TIMEOUT_MS);

  it("webhooks delayed past the deadline: polling finishes the work, late ones change nothing", async () => {
    await runScenario({ fault: "webhooks delayed 10 s (past the 8 s deadline)", prompt: "A rooftop cinema opens for the summer", knobs: { webhookMode: { delayMs: 10_000 } }, mustComplete: true });
  }, TEST_TIMEOUT_MS);

  it("reordered webhooks (completed before start) are handled", async () => {
    await runScenario({ fault: "webhooks reordered (shuffle: newest first)", prompt: "Noise-cancelling headphones for open-plan offices", knobs: { webhookMode: "shuffle" }, mustComplete: true });
  }, TEST_TIMEOUT_MS);

  it("no webhooks at all: polling completes the video", async () => {
    await runScenario({ fault: "no webhooks at all (polling only)", prompt: "A vegan ice cream truck tours the coast", knobs: { webhookMode: "none" }, mustComplete: true });
  }, TEST_TIMEOUT_MS);

  it("a forged webhook for a running prediction is refused with 401 and changes nothing", async () => {
    const forged: { status: number; body: string; prediction: string; job: string; attempt: number }[] = [];
    let forging = false;
    const outcome = await runScenario({
      fault: "forged webhook (wrong secret, and unsigned) for a running prediction",
      prompt: "A smart water bottle that reminds you to drink",
      mustComplete: true,
      note: () => (forged.length ? `forged "succeeded" for ${forged[0]!.job} → ${forged.map((f) => f.status).join(", ")}` : "no running prediction found to forge"),
      during: async (event, _phase, id) => {
        // A prediction the run has just adopted: the job waits for exactly this one.
        if (forging || event.type !== "job" || event.job.status !== "predicting" || event.prediction_id === undefined) return;
        forging = true;
        const target = { prediction_id: event.prediction_id, job_id: event.job.id, attempt: event.job.attempt };
        const body = JSON.stringify({ id: target.prediction_id, status: "succeeded", output: "http://127.0.0.1:9/forged.mp4", metrics: { predict_time: 0.1 } });
        const url = `${stack.workerUrl}/webhooks/replicate?video=${id}&job=${encodeURIComponent(target.job_id)}&attempt=${target.attempt}`;
        const wrongSecret = `whsec_${randomBytes(32).toString("base64")}`;
        const signed = await signWebhook(wrongSecret, `msg_${randomBytes(8).toString("hex")}`, Math.floor(Date.now() / 1000), body);
        for (const headers of [signed, {}]) {
          const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
          forged.push({ status: response.status, body: await response.text(), prediction: target.prediction_id, job: target.job_id, attempt: target.attempt });
        }
      },
    });
    expect(forged.length).toBe(2);
    for (const f of forged) {
      expect(f.status).toBe(401);
      expect(f.body).toMatch(/webhook rejected/);
    }
    // The forged prediction ended on its own (really priced) and its job needed no other attempt.
    const ledger = outcome.video.cost_ledger!;
    expect(ledger.find((e) => e.prediction_id === forged[0]!.prediction)?.actual_usd).not.toBeNull();
    expect(ledger.filter((e) => e.job_id === forged[0]!.job).map((e) => e.attempt)).toEqual([forged[0]!.attempt]);
  }, TEST_TIMEOUT_MS);
});

describe("process faults", () => {
  it("restarting wrangler dev while chunks generate", async () => {
    let restartedAt: string | null = null;
    await runScenario({
      fault: "wrangler dev restarted during generating_chunks",
      prompt: "Handmade leather boots for city hikers",
      mustComplete: true,
      note: () => (restartedAt ? `restarted at ${restartedAt}` : "chunk phase never observed"),
      during: async (event, phase) => {
        // Strike once a chunk prediction is under way.
        if (restartedAt || phase !== "generating_chunks" || event.type !== "job") return;
        restartedAt = `generating_chunks, just after ${event.job.id} changed`;
        await stack.restartWorker();
      },
    });
    expect(restartedAt).not.toBeNull();
  }, TEST_TIMEOUT_MS);

  it("killing media-node during a media step, back 3 s later", async () => {
    let killedAt: string | null = null;
    await runScenario({
      fault: "media-node killed during stitching, restarted 3 s later",
      prompt: "A family-run olive oil press opens its doors",
      mustComplete: false,
      note: () => (killedAt ? `killed in ${killedAt}` : "stitch phase never observed"),
      during: async (_event, phase) => {
        if (killedAt || phase !== "stitching") return;
        killedAt = phase;
        await stack.stopMediaNode();
        await sleep(3000);
        await stack.startMediaNode();
      },
    });
    expect(killedAt).not.toBeNull();
  }, TEST_TIMEOUT_MS);

  it("a full disk under media-node's temp dir", async () => {
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mediaTmp]);
      mounted = true;
    } catch (error) {
      rows.push({ fault: "full disk for MEDIA_NODE_TMP", happened: `could not mount a 2 MB tmpfs here: ${(error as Error).message}`, checks: "not run" });
      throw error;
    }
    try {
      const outcome = await runScenario({ fault: "full disk: MEDIA_NODE_TMP on a 2 MB tmpfs", prompt: "A boutique hotel in the mountains offers ski-in breakfasts", mustComplete: false });
      if (outcome.status.status === "failed") expect(outcome.status.error).toMatch(/no space left|ENOSPC/i);
    } finally {
      unmount();
    }
    // Nothing was left under the mount either.
    expect(await tempLeftovers(mediaTmp, 0)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
