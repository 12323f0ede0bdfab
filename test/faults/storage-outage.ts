import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Storage outages driven from outside the Worker: the local stack's storage host
 * (scripts/storage-host.ts, Miniflare's workerd serving the Worker's bindings) keeps D1 and R2 in
 * SQLite files under the persist dir (`v3/d1/miniflare-D1DatabaseObject/<id>.sqlite`,
 * `v3/r2/miniflare-R2BucketObject/<id>.sqlite`, WAL mode). Another process holding a lock on
 * such a file makes workerd's own writes fail with SQLITE_BUSY, the way a store that is briefly
 * unavailable fails. Only writes: in WAL mode an exclusive transaction is an immediate one, and
 * readers go on (seen on the stack: media-node reads a staged upload through R2's S3 API under
 * either lock, while every put and delete fails at once).
 */

export type StoreKind = "d1" | "r2";

const OBJECT_DIR: Record<StoreKind, string> = { d1: "miniflare-D1DatabaseObject", r2: "miniflare-R2BucketObject" };

/** The one database file of the store's binding under the persist dir. */
export function storeFile(stateDir: string, kind: StoreKind): string {
  const dir = join(stateDir, "v3", kind, OBJECT_DIR[kind]);
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (files.length !== 1) throw new Error(`expected one ${kind} database under ${dir}, found ${files.join(", ") || "none"}`);
  return join(dir, files[0]!);
}

/**
 * Runs `work` while holding a lock on the store's file: `exclusive` or `immediate` (the same in
 * WAL mode: writes refused). Resolves with what `work` resolved once the lock is released.
 */
export async function withStoreLock<T>(stateDir: string, kind: StoreKind, lock: "exclusive" | "immediate", work: () => Promise<T>): Promise<T> {
  const db = new DatabaseSync(storeFile(stateDir, kind));
  try {
    // workerd may be mid-write when the fault strikes: wait for its transaction, then take the lock.
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(lock === "exclusive" ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE");
    try {
      return await work();
    } finally {
      db.exec("ROLLBACK");
    }
  } finally {
    db.close();
  }
}

/** Holds a lock on the store's file for `ms` (withStoreLock). */
export async function holdStoreLock(stateDir: string, kind: StoreKind, lock: "exclusive" | "immediate", ms: number): Promise<void> {
  await withStoreLock(stateDir, kind, lock, () => new Promise((resolve) => setTimeout(resolve, ms)));
}

/** The keys R2 holds under `prefix`, read from outside (miniflare's object table), as the bucket has them now. */
export function r2Keys(stateDir: string, prefix: string): string[] {
  const db = new DatabaseSync(storeFile(stateDir, "r2"), { readOnly: true });
  try {
    return (db.prepare("SELECT key FROM _mf_objects WHERE substr(key, 1, length(?)) = ?").all(prefix, prefix) as { key: string }[]).map((row) => row.key);
  } finally {
    db.close();
  }
}
