import type { MiddlewareHandler } from "hono";
import type { ErrorResponse } from "../../../contracts/api.ts";
import { constantTimeEqual } from "../../../contracts/signing.ts";
import type { AppContext, AppEnv } from "../../app.ts";

/** Key administration is guarded by the ADMIN_TOKEN secret (used by `adreel keys`). */

export function isAdmin(c: AppContext): boolean {
  const token = c.get("config").adminToken;
  const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  return token.length >= 16 && constantTimeEqual(given, token);
}

/** Route middleware: nothing else about the request is judged before the token. */
export const adminOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!isAdmin(c)) return c.json({ error: "admin token required" } satisfies ErrorResponse, 401);
  await next();
};
