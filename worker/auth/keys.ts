import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { sha256Hex } from "../../contracts/signing.ts";
import { apiKeys, tenants } from "../db/schema.ts";
import { IsolateMemo } from "./isolate-memo.ts";
import { dropLease } from "./leases.ts";
import { limiterFor } from "./limiter.ts";

/** API keys: shown once at creation, stored only as SHA-256 hashes, each belonging to a tenant. */

const KEY_PREFIX = "adr_";

function randomToken(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface CreatedKey {
  id: string;
  tenant_id: string;
  name: string;
  key: string;
}

export async function createKey(db: D1Database, tenantId: string, name: string): Promise<CreatedKey> {
  const orm = drizzle(db);
  const now = Date.now();
  await orm.insert(tenants).values({ id: tenantId, name: tenantId, createdAt: now }).onConflictDoNothing();
  const key = `${KEY_PREFIX}${randomToken(24)}`;
  const id = `key_${randomToken(8)}`;
  await orm.insert(apiKeys).values({ id, tenantId, keyHash: await sha256Hex(key), name, createdAt: now });
  return { id, tenant_id: tenantId, name, key };
}

/**
 * The key stops authenticating: its limiter object, which every /api request asks or took
 * a lease from (limits.ts, leases.ts), refuses it from now on, and only then is D1's row
 * marked, so an isolate that remembers the key (`authenticate`) is refused as surely as one
 * that reads D1 again: this isolate at once (its lease is dropped), any other once its lease
 * ends (`LEASE_MS`). False when there is no active key with that id.
 */
export async function revokeKey(env: Env, id: string): Promise<boolean> {
  const orm = drizzle(env.DB);
  const active = await orm.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).limit(1);
  if (!active[0]) return false;
  await limiterFor(env, id).revoke();
  dropLease(id, "api");
  const result = await orm.update(apiKeys).set({ revokedAt: Date.now() }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning({ id: apiKeys.id });
  return result.length > 0;
}

export async function listKeys(db: D1Database, tenantId?: string) {
  const orm = drizzle(db);
  const rows = await (tenantId ? orm.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)) : orm.select().from(apiKeys));
  return rows.map((r) => ({ id: r.id, tenant_id: r.tenantId, name: r.name, created_at: new Date(r.createdAt).toISOString(), revoked_at: r.revokedAt ? new Date(r.revokedAt).toISOString() : null }));
}

export interface Principal {
  tenantId: string;
  keyId: string;
}

/**
 * Keys this isolate has found active, by the key as sent: a key's id and tenant never change
 * (its revocation is the limiter's to tell). Looked up before hashing, so a poller's requests
 * do not each pay a SHA-256. Held in the isolate's memory only, never stored.
 */
const knownKeys = new IsolateMemo<string, Principal>(10_000);

/**
 * The principal of an active key, or null. A key once found is remembered (`knownKeys`), so a
 * poller's requests do not each hash it and read D1; whether it has been revoked since is answered by the
 * key's limiter object, on the same request or within the lease it is served from (limits.ts
 * `rateLimit`, leases.ts), never by this memory.
 */
export async function authenticate(db: D1Database, key: string | null | undefined): Promise<Principal | null> {
  if (!key || !key.startsWith(KEY_PREFIX) || key.length > 100) return null;
  const known = knownKeys.get(key);
  if (known) return known;
  const hash = await sha256Hex(key);
  const rows = await drizzle(db)
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  const principal = { tenantId: row.tenantId, keyId: row.id };
  knownKeys.set(key, principal);
  return principal;
}
