import { createRoute } from "@hono/zod-openapi";
import { CreatedApiKey, CreateKeyRequest } from "../../../contracts/api.ts";
import { createKey } from "../../auth/keys.ts";
import { ADMIN_TOKEN, errorResponse, jsonBodyWithin, jsonResponse, type RouteContext } from "../router.ts";
import { adminOnly } from "./admin-token.ts";

export const createKeyRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createApiKey",
  tags: ["admin"],
  summary: "Create an API key",
  description: "Creates a key for a tenant (and the tenant, on first use). The key is returned only here. Needs the admin token (`ADMIN_TOKEN`).",
  security: ADMIN_TOKEN,
  middleware: [adminOnly, jsonBodyWithin(4096)] as const,
  request: { body: { description: "Whose key.", required: true, content: { "application/json": { schema: CreateKeyRequest } } } },
  responses: {
    201: jsonResponse(CreatedApiKey, "Created."),
    401: errorResponse("Not the admin token."),
    413: errorResponse("The body is larger than 4 KiB."),
    422: errorResponse("A field is invalid; `field` names it."),
  },
});

export async function createKeyHandler(c: RouteContext<typeof createKeyRoute>): Promise<Response> {
  const { tenant_id, name } = c.req.valid("json");
  return c.json((await createKey(c.env.DB, tenant_id, name)) satisfies CreatedApiKey, 201);
}
