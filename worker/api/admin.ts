import { type ApiKeyList, type CreatedApiKey, CreateKeyRequest, type ErrorResponse, type RevokedApiKey } from "../../contracts/api.ts";
import { constantTimeEqual } from "../../contracts/signing.ts";
import { type AppContext, invalid, jsonBody } from "../app.ts";
import { createKey, listKeys, revokeKey } from "../auth/keys.ts";

/** Key administration, guarded by the ADMIN_TOKEN secret (used by `adreel keys`). */

export function isAdmin(c: AppContext): boolean {
  const token = c.get("config").adminToken;
  const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  return token.length >= 16 && constantTimeEqual(given, token);
}

const adminRequired = { error: "admin token required" } satisfies ErrorResponse;

export async function createKeyRoute(c: AppContext): Promise<Response> {
  if (!isAdmin(c)) return c.json(adminRequired, 401);
  const body = await jsonBody(c, 4096);
  if (!body.ok) return body.response;
  const parsed = CreateKeyRequest.safeParse(body.value);
  if (!parsed.success) return invalid(c, parsed.error);
  return c.json((await createKey(c.env.DB, parsed.data.tenant_id, parsed.data.name)) satisfies CreatedApiKey, 201);
}

export async function listKeysRoute(c: AppContext): Promise<Response> {
  if (!isAdmin(c)) return c.json(adminRequired, 401);
  return c.json({ keys: await listKeys(c.env.DB, c.req.query("tenant_id")) } satisfies ApiKeyList);
}

export async function revokeKeyRoute(c: AppContext): Promise<Response> {
  if (!isAdmin(c)) return c.json(adminRequired, 401);
  const revoked = await revokeKey(c.env.DB, c.req.param("id")!);
  return revoked ? c.json({ id: c.req.param("id")!, revoked: true } satisfies RevokedApiKey) : c.json({ error: "no active key with that id" } satisfies ErrorResponse, 404);
}
