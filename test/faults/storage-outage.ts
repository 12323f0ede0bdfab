import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Storage outages driven from outside the Worker: the local stack's storage host
 * (scripts/storage-host.ts, Miniflare's workerd serving the Worker's bindings) keeps D1 and R2 in
 * SQLite files under the persist dir (`v3/d1/miniflare-D1DatabaseObject/<id>.sqlite`,
 * `v3/r2/miniflare-R2BucketObject/<id>.sqlite`, WAL mode). Another process holding a lock on
 * such a file makes workerd's own queries fail with SQLITE_BUSY, the way a store that is
 * briefly unavailable fails: an exclusive lock refuses reads and writes (D1 down), an
 * immediate one refuses writes and still lets reads through (R2 writes failing).
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
 * Holds a lock on the store's file for `ms`: `exclusive` (nothing reads or writes) or
 * `immediate` (writes refused). Resolves once the lock is released.
 */
export async function holdStoreLock(stateDir: string, kind: StoreKind, lock: "exclusive" | "immediate", ms: number): Promise<void> {
  const db = new DatabaseSync(storeFile(stateDir, kind));
  try {
    // workerd may be mid-write when the fault strikes: wait for its transaction, then take the lock.
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(lock === "exclusive" ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE");
    await new Promise((resolve) => setTimeout(resolve, ms));
    db.exec("ROLLBACK");
  } finally {
    db.close();
  }
}
