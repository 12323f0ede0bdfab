import sharp from "sharp";
import type { Stack } from "../../scripts/stack.ts";
import { LOCAL_SCHEDULED_PATH } from "../../worker/api/worker-first.ts";
import { UPLOAD_STAGING_PREFIX } from "../../worker/media/keys.ts";
import { r2Keys, withStoreLock } from "./storage-outage.ts";

/**
 * A brand-asset upload (`POST /api/assets`, raw PNG bytes) while R2 refuses writes. The upload
 * path writes R2 four times (the Worker stages the bytes, media-node stores the checked PNG, the
 * Worker writes the asset's record and deletes the staged copy) and reads it once (media-node
 * reads the staged copy). A lock on R2's SQLite file refuses writes only (storage-outage.ts), so
 * two strikes: the outage already on when the upload comes (the stage is refused), and the outage
 * starting once the upload is staged, while media-node holds it (its PUT of the PNG is refused).
 */

/** No answer may take longer: a request held past this is a hang, whatever the outage. */
export const UPLOAD_BOUND_MS = 30_000;

export interface UploadAnswer {
  status: number;
  retryAfter: string | null;
  body: { error?: string; field?: string; ref?: string };
}

/** A real PNG (sharp), a product shot in two colours, large enough for media-node's minimum. */
export function productPng(): Promise<Buffer> {
  const width = 320;
  const height = 240;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(x < width / 2 ? [30, 90, 200] : [240, 200, 40], (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function uploadAsset(stack: Stack, apiKey: string, png: Buffer): Promise<UploadAnswer> {
  const response = await fetch(`${stack.workerUrl}/api/assets`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "image/png" },
    body: new Uint8Array(png),
    signal: AbortSignal.timeout(UPLOAD_BOUND_MS),
  });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as UploadAnswer["body"] };
}

/** The Worker's /health while the outage lasts: its status. */
export async function health(stack: Stack): Promise<number> {
  return (await fetch(`${stack.workerUrl}/health`, { signal: AbortSignal.timeout(UPLOAD_BOUND_MS) })).status;
}

/** Strike 1: R2 refuses writes before the upload comes. Returns the answer and /health's status meanwhile. */
export function uploadIntoOutage(stack: Stack, apiKey: string, png: Buffer): Promise<{ answer: UploadAnswer; health: number }> {
  return withStoreLock(stack.stateDir, "r2", "immediate", async () => ({ answer: await uploadAsset(stack, apiKey, png), health: await health(stack) }));
}

/**
 * Strike 2: media-node frozen (SIGSTOP on its process group) while the upload comes, so the
 * Worker stages it and waits; once the staged copy is in R2 (read from outside: a state, not a
 * time), R2 refuses writes and media-node goes on. Returns the answer and the staged copies R2
 * still holds once the outage is over (the Worker's delete of its staged copy meets the outage too).
 */
export async function uploadWhileStaged(stack: Stack, apiKey: string, png: Buffer): Promise<{ answer: UploadAnswer; health: number; stagedLeft: string[] }> {
  const before = new Set(r2Keys(stack.stateDir, UPLOAD_STAGING_PREFIX));
  const media = stack.pids().media;
  if (!media) throw new Error("media-node is not running");
  process.kill(-media, "SIGSTOP");
  let continued = false;
  const resume = () => {
    if (!continued) process.kill(-media, "SIGCONT");
    continued = true;
  };
  try {
    const answered = uploadAsset(stack, apiKey, png).then((answer) => ({ answer }), (error: unknown) => ({ error }));
    const deadline = Date.now() + UPLOAD_BOUND_MS;
    let staged: string | undefined;
    while (!staged && Date.now() < deadline) {
      staged = r2Keys(stack.stateDir, UPLOAD_STAGING_PREFIX).find((key) => !before.has(key));
      if (!staged) await new Promise((r) => setTimeout(r, 50));
    }
    if (!staged) {
      resume();
      throw new Error(`the upload was not staged within ${UPLOAD_BOUND_MS / 1000} s: ${JSON.stringify(await answered)}`);
    }
    const { outcome, healthy } = await withStoreLock(stack.stateDir, "r2", "immediate", async () => {
      resume();
      return { outcome: await answered, healthy: await health(stack) };
    });
    if ("error" in outcome) throw outcome.error;
    return { answer: outcome.answer, health: healthy, stagedLeft: r2Keys(stack.stateDir, UPLOAD_STAGING_PREFIX).filter((key) => !before.has(key)) };
  } finally {
    resume();
  }
}

/**
 * The Worker's cron run (the sweep of staged uploads) as if due at `time` (ms since the epoch),
 * through the local stack's trigger (worker/scheduled.ts); resolves with the keys under `uploads/`
 * R2 holds afterwards.
 */
export async function sweepStagedAt(stack: Stack, time: number): Promise<string[]> {
  const response = await fetch(`${stack.workerUrl}${LOCAL_SCHEDULED_PATH}?time=${time}`, { method: "POST", signal: AbortSignal.timeout(UPLOAD_BOUND_MS) });
  const said = await response.text();
  if (response.status !== 200) throw new Error(`the scheduled handler answered ${response.status}: ${said}`);
  return r2Keys(stack.stateDir, UPLOAD_STAGING_PREFIX);
}
