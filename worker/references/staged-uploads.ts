import { type Log } from "../log.ts";
import { fromBucket } from "../media/bucket.ts";
import { UPLOAD_STAGING_PREFIX } from "../media/keys.ts";

/**
 * Uploads staged in R2 (`POST /api/assets`, api/videos/assets.ts): the client's bytes, not yet
 * validated, wait under `uploads/` only until media-node has read them. The upload's request
 * deletes its copy when it ends; where it cannot (R2 failing that delete, the Worker dying
 * between the stage and the delete), the cron sweep below removes it once it is past use.
 */

/** Lifetime of the signed URL media-node reads a staged copy through; it is signed right after the stage. */
export const STAGING_URL_TTL_SECONDS = 10 * 60;

/**
 * Age (from R2's `uploaded`) past which no one can still read a staged copy: its URL has expired.
 * The minute on top covers the time between R2 taking the copy and the Worker signing its URL, and
 * R2's clock against the Worker's; a copy younger than this may still be in use and is kept.
 */
export const STAGED_COPY_LIFETIME_MS = (STAGING_URL_TTL_SECONDS + 60) * 1000;

/** R2 lists and deletes at most 1000 keys a call. */
const R2_PAGE_LIMIT = 1000;

export function uploadStagingKey(tenantId: string, assetId: string): string {
  return `${UPLOAD_STAGING_PREFIX}${tenantId}/${assetId}.bin`;
}

export interface StagingSweep {
  /** Staged copies seen, every tenant's. */
  listed: number;
  deleted: number;
  /** Still inside their lifetime: an upload may be reading them. */
  kept: number;
  pages: number;
}

/**
 * Delete every staged copy older than its lifetime at `now` (ms since the epoch: the cron's
 * scheduled time, so a late-running sweep judges ages as of when it was due, never later), page by
 * page through the whole prefix. An R2 failure ends the sweep with StorageUnavailable; what it had
 * deleted stays deleted, and the next run takes up the rest.
 */
export async function sweepStagedUploads(bucket: R2Bucket, now: number, log: Log, pageSize = R2_PAGE_LIMIT): Promise<StagingSweep> {
  const sweep: StagingSweep = { listed: 0, deleted: 0, kept: 0, pages: 0 };
  let cursor: string | undefined;
  do {
    const page = await fromBucket("list", () => bucket.list({ prefix: UPLOAD_STAGING_PREFIX, limit: Math.min(pageSize, R2_PAGE_LIMIT), ...(cursor ? { cursor } : {}) }));
    sweep.pages++;
    sweep.listed += page.objects.length;
    const stale = page.objects.filter((object) => now - object.uploaded.getTime() > STAGED_COPY_LIFETIME_MS).map((object) => object.key);
    if (stale.length > 0) {
      await fromBucket("delete", () => bucket.delete(stale));
      sweep.deleted += stale.length;
      // Each one is a copy its upload's request could not delete: worth a line apiece.
      for (const key of stale) log.info("asset.staging_swept", { key });
    }
    sweep.kept += page.objects.length - stale.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  log.info("asset.staging_sweep", { ...sweep });
  return sweep;
}
