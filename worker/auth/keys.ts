import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { sha256Hex } from "../../contracts/signing.ts";
import { apiKeys, tenants } from "../db/schema.ts";

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

export async function revokeKey(db: D1Database, id: string): Promise<boolean> {
  const result = await drizzle(db).update(apiKeys).set({ revokedAt: Date.now() }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning({ id: apiKeys.id });
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

export async function authenticate(db: D1Database, key: string | null | undefined): Promise<Principal | null> {
  if (!key || !key.startsWith(KEY_PREFIX) || key.length > 100) return null;
  const rows = await drizzle(db)
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, await sha256Hex(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  const row = rows[0];
  return row ? { tenantId: row.tenantId, keyId: row.id } : null;
}
