import { createRoute, z } from "@hono/zod-openapi";
import { type ErrorResponse, RevokedApiKey } from "../../../contracts/api.ts";
import { revokeKey } from "../../auth/keys.ts";
import { ADMIN_TOKEN, errorResponse, jsonResponse, type RouteContext } from "../router.ts";
import { adminOnly } from "./admin-token.ts";

export const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "revokeApiKey",
  tags: ["admin"],
  summary: "Revoke an API key",
  description: "The key stops authenticating at once. Needs the admin token.",
  security: ADMIN_TOKEN,
  middleware: [adminOnly] as const,
  request: { params: z.object({ id: z.string().openapi({ param: { description: "The key's id (`key_…`), not the key." } }) }) },
  responses: { 200: jsonResponse(RevokedApiKey, "Revoked."), 401: errorResponse("Not the admin token."), 404: errorResponse("No active key with that id.") },
});

export async function revokeKeyHandler(c: RouteContext<typeof revokeKeyRoute>): Promise<Response> {
  const { id } = c.req.valid("param");
  return (await revokeKey(c.env, id)) ? c.json({ id, revoked: true } satisfies RevokedApiKey) : c.json({ error: "no active key with that id" } satisfies ErrorResponse, 404);
}
