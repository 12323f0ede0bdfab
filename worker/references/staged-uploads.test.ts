import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../index.ts";
import { workerLog } from "../log.ts";
import { StorageUnavailable } from "../media/bucket.ts";
import { LOCAL_SCHEDULED_PATH } from "../api/worker-first.ts";
import { runScheduledLocally } from "../scheduled.ts";
import { STAGED_COPY_LIFETIME_MS, sweepStagedUploads, uploadStagingKey } from "./staged-uploads.ts";

/**
 * The sweep of staged uploads, in workerd against Miniflare's R2: the Worker's `scheduled` handler
 * given the controller of wrangler.toml's cron, and the sweep's own paging and failures. Ages are
 * set by the order the copies reached R2 (their `uploaded`) and the run's scheduled time, never
 * by waiting. Keys carry a per-test tenant, so copies other tests stage are no concern here.
 */

const CRON = "*/10 * * * *";

/** The Worker's scheduled handler, run for the cron due at `scheduledTime`, with `bucket` as its R2. */
const runCron = (scheduledTime: number, bucket: R2Bucket = env.MEDIA) => worker.scheduled(createScheduledController({ cron: CRON, scheduledTime }), { ...env, MEDIA: bucket });

async function stage(key: string): Promise<Date> {
  return (await env.MEDIA.put(key, new Uint8Array([1, 2, 3])))!.uploaded;
}

/** Stages `key` until R2 stamps it strictly later than `after`: R2 keeps milliseconds. */
async function stageAfter(key: string, after: Date): Promise<Date> {
  for (;;) {
    const uploaded = await stage(key);
    if (uploaded.getTime() > after.getTime()) return uploaded;
  }
}

const present = async (key: string) => (await env.MEDIA.head(key)) !== null;

/** R2 failing deletes, as its binding fails them (a rejected promise). */
const deletesFail = new Proxy(env.MEDIA, {
  get: (bucket, name) => (name === "delete" ? () => Promise.reject(new Error("delete: We encountered an internal error. Please try again. (10001)")) : Reflect.get(bucket, name).bind(bucket)),
});

function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: workerLog({ level: "info", format: "fields" }, {}, (_level, line) => lines.push(line as Record<string, unknown>)) };
}

describe("the cron sweep of staged uploads", () => {
  it("deletes every tenant's copy past its lifetime, keeps one still inside it, and touches no other key", async () => {
    const tenant = `sweep-${crypto.randomUUID()}`;
    const other = `sweep-${crypto.randomUUID()}`;
    const stale = [uploadStagingKey(tenant, "a"), uploadStagingKey(other, "b")];
    // Beside the staging prefix and under other prefixes: not the sweep's, however old.
    const untouched = [`assets/${tenant}/a.png`, `assets/${tenant}/a.json`, `uploads-archive/${tenant}/a.bin`, `videos/${tenant}/final.mp4`];
    for (const key of [...untouched, ...stale]) await stage(key);
    const lastStale = (await env.MEDIA.head(stale[1]!))!.uploaded;
    const fresh = uploadStagingKey(tenant, "fresh");
    const freshUploaded = await stageAfter(fresh, lastStale);

    // Due exactly when the fresh copy reaches its lifetime: it may still be read; the older ones may not.
    await runCron(freshUploaded.getTime() + STAGED_COPY_LIFETIME_MS);
    for (const key of stale) expect(await present(key), key).toBe(false);
    expect(await present(fresh)).toBe(true);
    for (const key of untouched) expect(await present(key), key).toBe(true);

    // Once it too is past its lifetime, the next run takes it.
    await runCron(freshUploaded.getTime() + STAGED_COPY_LIFETIME_MS + 1);
    expect(await present(fresh)).toBe(false);
    for (const key of untouched) expect(await present(key), key).toBe(true);
  });

  it("walks a listing of more than one page", async () => {
    const tenant = `sweep-${crypto.randomUUID()}`;
    const keys = Array.from({ length: 5 }, (_, i) => uploadStagingKey(tenant, `page-${i}`));
    for (const key of keys) await stage(key);
    const { lines, log } = capturedLog();
    const sweep = await sweepStagedUploads(env.MEDIA, Date.now() + STAGED_COPY_LIFETIME_MS + 60_000, log, 2);
    // Two keys a page: at least three pages for these five, whatever else is staged.
    expect(sweep.pages).toBeGreaterThanOrEqual(3);
    expect(sweep.deleted).toBeGreaterThanOrEqual(keys.length);
    for (const key of keys) expect(await present(key), key).toBe(false);
    const swept = lines.filter((line) => line.event === "asset.staging_swept").map((line) => line.key);
    expect(swept).toEqual(expect.arrayContaining(keys));
    expect(lines.at(-1)).toMatchObject({ event: "asset.staging_sweep", pages: sweep.pages, deleted: sweep.deleted });
  });

  it("fails the run when R2 fails it, loses nothing, and the next run sweeps what was left", async () => {
    const tenant = `sweep-${crypto.randomUUID()}`;
    const key = uploadStagingKey(tenant, "left");
    const uploaded = await stage(key);
    const due = uploaded.getTime() + STAGED_COPY_LIFETIME_MS + 1;
    await expect(runCron(due, deletesFail)).rejects.toBeInstanceOf(StorageUnavailable);
    expect(await present(key)).toBe(true);
    await runCron(due);
    expect(await present(key)).toBe(false);
  });

  it("runs for the local stack's trigger with Miniflare's parameters (cron, time), a failed run answered 500", async () => {
    const key = uploadStagingKey(`sweep-${crypto.randomUUID()}`, "local");
    const uploaded = await stage(key);
    const trigger = (time: number | string, bucket: R2Bucket = env.MEDIA) =>
      runScheduledLocally(new Request(`http://127.0.0.1${LOCAL_SCHEDULED_PATH}?cron=${encodeURIComponent(CRON)}&time=${time}`), { ...env, MEDIA: bucket });
    const early = await trigger(uploaded.getTime() + STAGED_COPY_LIFETIME_MS);
    expect([early.status, await early.text()]).toEqual([200, "ok"]);
    expect(await present(key)).toBe(true);
    const failed = await trigger(uploaded.getTime() + STAGED_COPY_LIFETIME_MS + 1, deletesFail);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/R2 delete failed/);
    expect(await present(key)).toBe(true);
    const due = await trigger(uploaded.getTime() + STAGED_COPY_LIFETIME_MS + 1);
    expect([due.status, await due.text()]).toEqual([200, "ok"]);
    expect(await present(key)).toBe(false);
    expect((await trigger("soon")).status).toBe(400);
  });
});
