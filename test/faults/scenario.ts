import type { AdreelClient } from "../../cli/client.ts";
import type { GenerateRequestInput } from "../../contracts/api.ts";
import type { LiveMessage } from "../../contracts/live.ts";
import { DRAFT_DEFAULTS, type DraftKnobsPatch, pickKnobs } from "../../draft/options.ts";
import type { Stack } from "../../scripts/stack.ts";
import { followToEnd, type Outcome, runningAtProvider, settledLedger, tempLeftovers } from "./audit.ts";
import type { FaultRow } from "./report.ts";

/**
 * How a fault case runs: one or more videos at once on the suite's stack, under one setting of
 * the draft server's knobs, each with its own strike; then the four checks of audit.ts for
 * every video, and a row per video for docs/FAULTS.md. Videos share a group only when their
 * faults cannot touch each other (a strike on one video, or the same provider behaviour for all).
 */

export interface FaultSuite {
  stack: Stack;
  client: AdreelClient;
  /** media-node's temp dir, dedicated to the suite. */
  mediaTmp: string;
  rows: FaultRow[];
}

export interface Scenario {
  fault: string;
  prompt: string;
  /** The request's brand assets, when the fault is about them. */
  brandAssets?: GenerateRequestInput["brand_assets"];
  /** Runs once the video is accepted, before it is followed (to strike before its first event). */
  submitted?: (videoId: string) => Promise<void>;
  /** Runs on every live event while the video is under way, with the phase at that moment (to strike at a phase). */
  during?: (event: LiveMessage, phase: string, videoId: string) => Promise<void>;
  /**
   * What end the fault allows: `complete` (it must not cost the video), `stated` (complete, or
   * failed with a stated reason) or `cancelled` (the test cancelled it).
   */
  end: "complete" | "stated" | "cancelled";
  /** What the fault did, for the report (e.g. which phase it struck). */
  note?: () => string;
}

export const VIDEO_DEADLINE_MS = 180_000;

/** Sets the draft server's knobs (any subset) at runtime. */
export async function configureDraft(stack: Stack, knobs: DraftKnobsPatch): Promise<void> {
  const response = await fetch(`${stack.draftUrl}/v1/_draft/config`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.secrets.DRAFT_PROVIDER_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(knobs),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`draft config answered ${response.status}: ${await response.text()}`);
}

function endHolds(s: Scenario, outcome: Outcome): boolean {
  const { status, error } = outcome.status;
  if (s.end === "cancelled") return status === "cancelled";
  if (status === "complete") return true;
  return s.end === "stated" && status === "failed" && !!error && error.trim().length > 0;
}

/**
 * Run the scenarios' videos at once under `knobs`, check each, record their rows; returns each
 * outcome (undefined where the video did not end) and the failed checks, for the caller to assert.
 */
export async function runGroup(suite: FaultSuite, knobs: DraftKnobsPatch, scenarios: Scenario[]): Promise<{ outcomes: (Outcome | undefined)[]; failed: string[] }> {
  const { stack, client } = suite;
  await configureDraft(stack, { ...pickKnobs(DRAFT_DEFAULTS), ...knobs });
  const since = Date.now();
  const failed: string[] = [];
  let outcomes: (Outcome | undefined)[];
  try {
    outcomes = await Promise.all(
      scenarios.map(async (s) => {
        try {
          const { video_id } = await client.generate({ prompt: s.prompt, duration_s: 15, ...(s.brandAssets ? { brand_assets: s.brandAssets } : {}) });
          await s.submitted?.(video_id);
          return await followToEnd(client, video_id, VIDEO_DEADLINE_MS, s.during && ((event, phase) => s.during!(event, phase, video_id)));
        } catch (error) {
          failed.push(`${s.fault}: a ✗ ${(error as Error).message}`);
          return undefined;
        }
      }),
    );
  } finally {
    // Faults off before auditing, so the audit's own requests are not faulted.
    await configureDraft(stack, pickKnobs(DRAFT_DEFAULTS)).catch(() => undefined);
  }
  // Shared by the group: nothing any of its videos caused still runs, and no temp file is left.
  const running = await runningAtProvider(stack, since);
  const b = running.length === 0 ? "b ✓" : `b ✗ (${running.length} still running: ${running.map((p) => p.id).join(", ")})`;
  if (running.length) failed.push(b);
  const left = await tempLeftovers(suite.mediaTmp);
  const d = left.length === 0 ? "d ✓" : `d ✗ (${left.join(", ")})`;
  if (left.length) failed.push(d);
  const ledgers = await Promise.all(outcomes.map((o) => (o ? settledLedger(client, o.video) : undefined)));
  scenarios.forEach((s, i) => {
    const outcome = outcomes[i];
    const ledger = ledgers[i];
    const marks: string[] = [];
    if (outcome) {
      const a = endHolds(s, outcome) ? "a ✓" : `a ✗ (${outcome.status.status}: ${outcome.status.error ?? "no error"})`;
      marks.push(a);
      if (!a.endsWith("✓")) failed.push(`${s.fault}: ${a}`);
      marks.push(b);
      const { problems, video, waitedMs } = ledger!;
      const settled = waitedMs >= 500 ? `, settled ${(waitedMs / 1000).toFixed(1)} s after the end` : "";
      marks.push(problems.length === 0 ? `c ✓ (${video.cost_ledger?.length ?? 0} predictions, $${video.cost_usd.toFixed(4)}${settled})` : `c ✗ (${problems.join("; ")}, ${(waitedMs / 1000).toFixed(1)} s after the end)`);
      if (problems.length) failed.push(`${s.fault}: ${marks.at(-1)}`);
    } else marks.push("a ✗ (did not end)", b);
    marks.push(d);
    const end = outcome ? `${outcome.status.status} in ${outcome.seconds} s${outcome.status.error ? `: ${outcome.status.error.slice(0, 220)}` : ""}` : "did not end";
    const together = scenarios.length > 1 ? `with ${scenarios.length - 1} other video${scenarios.length > 2 ? "s" : ""} at once` : undefined;
    suite.rows.push({ fault: s.fault, happened: [s.note?.(), end, together].filter(Boolean).join("; "), checks: marks.join(", ") });
  });
  return { outcomes, failed };
}
