import { createRoute } from "@hono/zod-openapi";
import { HealthResponse } from "../../contracts/api.ts";
import { configProblems, missingSecrets } from "../config.ts";
import { docsPage, servedOpenApiDocument } from "./openapi.ts";
import { jsonResponse, type Router, serve } from "./router.ts";

/** Health and the API's own reference: served at the root of `app`, whose routes the reference describes. */

export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  tags: ["meta"],
  summary: "Health",
  description: "Whether the deployment has its secrets (`missing`) and a model configuration without problems (`problems`, each setting with its reason), which model provider standard videos use, and whether drafts can be rendered (`draft_provider`).",
  security: [],
  responses: { 200: jsonResponse(HealthResponse, "Ready."), 503: jsonResponse(HealthResponse, "Secrets are missing (listed in `missing`) or the model configuration has problems (listed in `problems`).") },
});

export const openApiRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "openApiDocument",
  tags: ["meta"],
  summary: "This document",
  description: "The OpenAPI 3.1 description of the API, generated from the routes and the schemas the handlers use.",
  security: [],
  responses: { 200: { description: "The document.", content: { "application/json": { schema: { type: "object" as const } } } } },
});

export const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "apiReference",
  tags: ["meta"],
  summary: "API reference page",
  description: "A browsable rendering of this document.",
  security: [],
  responses: { 200: { description: "An HTML page.", content: { "text/html": { schema: { type: "string" as const } } } } },
});

export function serveMeta(app: Router): void {
  serve(app, healthRoute, (c) => {
    const config = c.get("config");
    const missing = missingSecrets(config, c.env);
    const problems = configProblems(config);
    const ok = missing.length === 0 && problems.length === 0;
    return c.json({ ok, provider: config.provider, draft_provider: config.draft !== null, ...(missing.length ? { missing } : {}), problems } satisfies HealthResponse, ok ? 200 : 503);
  });
  serve(app, openApiRoute, (c) => c.json(servedOpenApiDocument(app, c.get("config").publicBaseUrl)));
  serve(app, docsRoute, (c) => c.html(docsPage()));
}
