import { createRoute, z } from "@hono/zod-openapi";
import { ApiKeyList } from "../../../contracts/api.ts";
import { listKeys } from "../../auth/keys.ts";
import { ADMIN_TOKEN, errorResponse, jsonResponse, type RouteContext } from "../router.ts";
import { adminOnly } from "./admin-token.ts";

export const listKeysRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listApiKeys",
  tags: ["admin"],
  summary: "List API keys",
  description: "All keys, or one tenant's. Needs the admin token.",
  security: ADMIN_TOKEN,
  middleware: [adminOnly] as const,
  request: { query: z.object({ tenant_id: z.string().optional().openapi({ param: { description: "Only this tenant's keys." } }) }) },
  responses: { 200: jsonResponse(ApiKeyList, "The keys."), 401: errorResponse("Not the admin token.") },
});

export async function listKeysHandler(c: RouteContext<typeof listKeysRoute>): Promise<Response> {
  return c.json({ keys: await listKeys(c.env.DB, c.req.valid("query").tenant_id) } satisfies ApiKeyList);
}
