import { readdir } from "node:fs/promises";
import type { StatusResponse, VideoResponse } from "../../contracts/api.ts";
import type { Prediction } from "../../contracts/prediction.ts";
import type { AdreelClient } from "../../cli/client.ts";
import type { LiveMessage } from "../../contracts/live.ts";
import type { Stack } from "../../scripts/stack.ts";

/**
 * The four things every fault must leave true once its video has ended: it ended (complete,
 * or failed with a stated reason) within its deadline; nothing is still running (and billing)
 * at the provider; every prediction is counted once; media-node's temp dir is empty.
 */

export interface Outcome {
  status: StatusResponse;
  video: VideoResponse;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follow the video over its WebSocket until it ends, at most `timeoutMs` (the live feed, not
 * polling: no API rate limit, and no phase is missed). `onEvent` sees every event with the
 * phase at that moment, to strike at a phase; strikes run alongside and are awaited at the end.
 */
export async function followToEnd(client: AdreelClient, id: string, timeoutMs: number, onEvent?: (event: LiveMessage, phase: string) => Promise<void>): Promise<Outcome> {
  const started = Date.now();
  let phase = "queued";
  const strikes: Promise<unknown>[] = [];
  const watched = await client
    .watch(
      id,
      (event) => {
        if (event.type === "snapshot") phase = event.snapshot?.phase ?? phase;
        else if ("phase" in event) phase = event.phase;
        if (onEvent) strikes.push(onEvent(event, phase).then(() => null, (error: unknown) => error));
      },
      timeoutMs,
    )
    .then((status) => ({ status }), (error: unknown) => ({ error }));
  // A strike still under way (a lock held, a process down) ends before anything else runs, even when watching failed.
  const errors = (await Promise.all(strikes)).filter((e) => e !== null);
  if ("error" in watched) throw watched.error;
  const { status } = watched;
  if (errors.length) throw new Error(`injecting the fault failed: ${(errors[0] as Error).message}`);
  return { status, video: await client.video(id), seconds: Math.round((Date.now() - started) / 100) / 10 };
}

/** Draft predictions created at or after `since` (ms), newest first, following the list's pages. */
export async function providerPredictions(stack: Stack, since: number): Promise<Prediction[]> {
  const found: Prediction[] = [];
  let url: string | null = `${stack.draftUrl}/v1/predictions`;
  for (let page = 0; url && page < 50; page++) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${stack.secrets.DRAFT_PROVIDER_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`listing predictions answered ${response.status}`);
    const body = (await response.json()) as { next: string | null; results: Prediction[] };
    const fresh = body.results.filter((p) => Date.parse(p.created_at ?? "") >= since);
    found.push(...fresh);
    url = fresh.length === body.results.length ? body.next : null;
  }
  return found;
}

/** Predictions still starting/processing, after giving in-flight cancels up to `graceMs` to land. */
export async function runningAtProvider(stack: Stack, since: number, graceMs = 10_000): Promise<Prediction[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const running = (await providerPredictions(stack, since)).filter((p) => p.status === "starting" || p.status === "processing");
    if (running.length === 0 || Date.now() > deadline) return running;
    await sleep(500);
  }
}

/** Ledger problems: a prediction counted twice, `cost_usd` not the sum of the lines, or a line still unpriced after the end. */
export function ledgerProblems(video: VideoResponse): string[] {
  const ledger = video.cost_ledger ?? [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of ledger) {
    if (seen.has(entry.prediction_id)) problems.push(`prediction ${entry.prediction_id} is in the ledger twice`);
    seen.add(entry.prediction_id);
  }
  const sum = ledger.reduce((total, entry) => total + entry.usd, 0);
  if (Math.abs(sum - video.cost_usd) > 1e-6) problems.push(`cost_usd ${video.cost_usd} ≠ ledger sum ${sum}`);
  // An ended video has nothing left to settle: every line priced, nothing pending.
  const unpriced = ledger.filter((entry) => entry.actual_usd === null);
  if (unpriced.length) problems.push(`${unpriced.length} ledger lines have no price (${unpriced.map((e) => e.prediction_id).join(", ")})`);
  if (video.cost_pending_usd !== 0) problems.push(`cost_pending_usd is ${video.cost_pending_usd} after the end`);
  return problems;
}

/**
 * The ledger's problems once the ended video has had `graceMs` to settle. A create or a
 * webhook in flight when the video ended books its prediction after the end, and its cancel's
 * answer prices it a moment later (a failed cancel is asked again by the run's alarm, every
 * 10 s): a line is allowed to be pending then, not to stay so. Returns the problems left and
 * how long after the end the last line was priced.
 */
export async function settledLedger(client: AdreelClient, video: VideoResponse, graceMs = 15_000): Promise<{ problems: string[]; video: VideoResponse; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const problems = ledgerProblems(video);
    if (problems.length === 0 || Date.now() - started > graceMs) return { problems, video, waitedMs: Date.now() - started };
    await sleep(500);
    video = await client.video(video.video_id);
  }
}

/** Entries left in the temp dir, after giving a step still unwinding up to `graceMs`. */
export async function tempLeftovers(dir: string, graceMs = 5000): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = await readdir(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(250);
  }
}
