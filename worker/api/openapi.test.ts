import { createRoute } from "@hono/zod-openapi";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { StatusResponse } from "../../contracts/api.ts";
import { createKey } from "../auth/keys.ts";
import { apiRequest } from "../../test/support/worker/api-client.ts";
import { app } from "../index.ts";
import { documentedPath, openApiDocument } from "./openapi.ts";
import { jsonResponse, type Router, router, serve } from "./router.ts";

/** The document against the app itself: every route it serves, documented, with answers that match what it promises. */

const ADMIN = "test-admin-token-0123456789";
let key: string;

function call(path: string, { key: given, ...init }: RequestInit & { key?: string | null } = {}) {
  return apiRequest(path, given === undefined ? key : given, init);
}

beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-doc", "test")).key;
});

type Operation = { parameters?: { name: string; in: string; schema?: unknown }[]; requestBody?: { content: Record<string, { schema?: unknown }> }; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };

function operations(document: Record<string, unknown>): Map<string, Operation> {
  const paths = document.paths as Record<string, Record<string, Operation>>;
  return new Map(Object.entries(paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const)));
}

/** Routes the app serves that its document does not describe. */
function undocumented(on: Router): string[] {
  const documented = operations(openApiDocument(on));
  const served = new Set(on.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${documentedPath(r.path)}`));
  return [...served].filter((route) => !documented.has(route)).sort();
}

/** Where the document says a body, parameter or answer exists but not what it holds. */
function schemaless(document: Record<string, unknown>): string[] {
  const missing: string[] = [];
  for (const [route, op] of operations(document)) {
    for (const p of op.parameters ?? []) if (!p.schema) missing.push(`${route} parameter ${p.name}`);
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) if (!media.schema) missing.push(`${route} body ${type}`);
    if (op.requestBody && Object.keys(op.requestBody.content).length === 0) missing.push(`${route} body`);
    for (const [status, response] of Object.entries(op.responses)) {
      // A switch of protocols and an unsatisfiable range have no body; every other answer says what it sends.
      if (!response.content && !["101", "416"].includes(status)) missing.push(`${route} ${status}`);
      for (const [type, media] of Object.entries(response.content ?? {})) if (!media.schema) missing.push(`${route} ${status} ${type}`);
    }
  }
  return missing;
}

/** The route the app registered for `method path` (OpenAPI path), with its responses' zod schemas. */
function routeOf(method: string, path: string) {
  const route = app.openAPIRegistry.definitions.find((d) => d.type === "route" && d.route.method === method && documentedPath(d.route.path) === path);
  if (!route || route.type !== "route") throw new Error(`no route ${method} ${path}`);
  return route.route;
}

/**
 * Checks an answer against the route: the status is documented for that operation and the
 * body parses with the documented schema without losing a field (no undocumented keys).
 */
async function expectDocumented(method: string, path: string, response: Response): Promise<unknown> {
  const documented = (routeOf(method, path).responses as Record<number, { content?: Record<string, { schema: unknown }> }>)[response.status];
  expect(documented, `${method} ${path} documents status ${response.status}`).toBeDefined();
  const schema = documented!.content?.["application/json"]?.schema as z.ZodType | undefined;
  expect(schema?.safeParse, `${method} ${path} ${response.status} has a JSON schema`).toBeTypeOf("function");
  const json: unknown = await response.json();
  const match = schema!.safeParse(json);
  expect(match.success, `${method} ${path} ${response.status}: ${JSON.stringify(json).slice(0, 300)}`).toBe(true);
  // Parsing strips unknown keys, so equality means the answer has no undocumented field.
  expect(match.data).toEqual(json);
  return json;
}

describe("the OpenAPI document and the app", () => {
  it("documents every route the app serves, and nothing else, each with what it takes and answers", () => {
    const document = openApiDocument(app);
    const served = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${documentedPath(r.path)}`));
    expect(undocumented(app)).toEqual([]);
    expect([...operations(document).keys()].filter((op) => !served.has(op))).toEqual([]);
    expect(served.size).toBeGreaterThanOrEqual(17);
    expect(schemaless(document)).toEqual([]);
  });

  it("catches a route served without a description, and one whose answer has no schema", () => {
    const probe = router();
    const documentedRoute = createRoute({ method: "get", path: "/status", responses: { 200: jsonResponse(StatusResponse, "The status.") } });
    serve(probe, documentedRoute, (c) => c.json({}));
    expect(undocumented(probe)).toEqual([]);
    probe.get("/forgotten", (c) => c.json({}));
    expect(undocumented(probe)).toEqual(["GET /forgotten"]);
    const vague = router();
    serve(vague, createRoute({ method: "post", path: "/vague", responses: { 200: { description: "Something." }, 201: { description: "JSON of some kind.", content: { "application/json": {} } } } }), (c) => c.json({}));
    expect(schemaless(openApiDocument(vague))).toEqual(["POST /vague 200", "POST /vague 201 application/json"]);
  });

  it("serves the document at /openapi.json with the deployment's URL, and the reference page at /docs", async () => {
    const response = await call("/openapi.json", { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const served = (await response.json()) as { openapi: string; servers: { url: string }[] };
    expect(served.openapi).toBe("3.1.0");
    expect(served).toEqual(openApiDocument(app, { serverUrl: env.PUBLIC_BASE_URL.replace(/\/$/, "") }));

    const docs = await call("/docs", { key: null });
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await docs.text();
    expect(html).toContain('data-spec="/openapi.json"');
    expect(html).toContain('src="/docs.js"');
  });

  it("answers the video routes with the documented shapes", async () => {
    const dry = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a reusable coffee cup", dry_run: true }) });
    expect(dry.status).toBe(200);
    expect(await expectDocumented("post", "/api/generate", dry)).toHaveProperty("dry_run", true);

    const created = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a reusable coffee cup", duration_s: 15 }) });
    const { video_id } = (await expectDocumented("post", "/api/generate", created)) as { video_id: string };

    await expectDocumented("get", "/api/status/{id}", await call(`/api/status/${video_id}`));
    await expectDocumented("get", "/api/video/{id}", await call(`/api/video/${video_id}`));
    const list = (await expectDocumented("get", "/api/videos", await call("/api/videos?limit=5"))) as { videos: { video_id: string }[] };
    expect(list.videos.map((v) => v.video_id)).toContain(video_id);

    const notComplete = await call(`/api/video/${video_id}/beats/0/regenerate`, { method: "POST" });
    expect(notComplete.status).toBe(409);
    await expectDocumented("post", "/api/video/{id}/beats/{n}/regenerate", notComplete);
    const notRendered = await call(`/api/video/${video_id}/render`, { method: "POST", body: JSON.stringify({ quality: "standard", dry_run: true }) });
    expect(notRendered.status).toBe(409);
    await expectDocumented("post", "/api/video/{id}/render", notRendered);
    const badRender = await call(`/api/video/${video_id}/render`, { method: "POST", body: JSON.stringify({ quality: "draft" }) });
    expect(await expectDocumented("post", "/api/video/{id}/render", badRender)).toMatchObject({ field: "quality" });

    const cancelled = await call(`/api/video/${video_id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    await expectDocumented("post", "/api/video/{id}/cancel", cancelled);
    const again = await call(`/api/video/${video_id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(await expectDocumented("post", "/api/video/{id}/cancel", again)).toMatchObject({ cancelled: false, status: "cancelled" });
  });

  it("answers errors in the documented error shape; the router's own validation names the field like every 422", async () => {
    const invalid = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "ad", duration_s: 17 }) });
    expect(invalid.status).toBe(422);
    expect(await expectDocumented("post", "/api/generate", invalid)).toMatchObject({ error: expect.stringMatching(/^duration_s: /), field: "duration_s", issues: [{ field: "duration_s" }] });
    const notJson = await call("/api/generate", { method: "POST", headers: { "content-type": "text/plain" }, body: "{nope" });
    expect(await expectDocumented("post", "/api/generate", notJson)).toEqual({ error: "body: not valid JSON", field: "body" });
    // JSON sent without saying so is JSON all the same (as `curl -d` sends it).
    const unlabelled = await call("/api/generate", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: JSON.stringify({ prompt: "ad", dry_run: true }) });
    expect(unlabelled.status).toBe(200);
    const tooLarge = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "x".repeat(70_000) }) });
    expect(tooLarge.status).toBe(413);
    await expectDocumented("post", "/api/generate", tooLarge);
    await expectDocumented("get", "/api/videos", await call("/api/videos", { key: null }));
    const badLimit = await call("/api/videos?limit=1000");
    expect(await expectDocumented("get", "/api/videos", badLimit)).toMatchObject({ field: "limit" });
    await expectDocumented("get", "/api/status/{id}", await call("/api/status/00000000-0000-4000-8000-000000000000"));
    await expectDocumented("get", "/api/status/{id}", await call("/api/status/not-a-video"));
    const notUpgrade = await call("/api/video/00000000-0000-4000-8000-000000000000/live");
    expect(notUpgrade.status).toBe(426);
    await expectDocumented("get", "/api/video/{id}/live", notUpgrade);
    const badSince = await call("/api/video/00000000-0000-4000-8000-000000000000/live?since=soon", { headers: { upgrade: "websocket" } });
    expect(await expectDocumented("get", "/api/video/{id}/live", badSince)).toMatchObject({ field: "since" });
    const notAnImage = await call("/api/assets", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(notAnImage.status).toBe(415);
    await expectDocumented("post", "/api/assets", notAnImage);
    const unsigned = await call("/webhooks/replicate?video=v&job=j&attempt=1", { method: "POST", key: null, body: "{}" });
    expect(unsigned.status).toBe(401);
    await expectDocumented("post", "/webhooks/replicate", unsigned);
    const unsignedMedia = await call("/media/videos/x/final.mp4", { key: null });
    expect(unsignedMedia.status).toBe(401);
    await expectDocumented("get", "/media/{key}", unsignedMedia);
  });

  it("answers the admin and health routes with the documented shapes", async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    const created = await call("/admin/keys", { method: "POST", key: null, headers: admin, body: JSON.stringify({ tenant_id: "doc-tenant" }) });
    expect(created.status).toBe(201);
    const { id } = (await expectDocumented("post", "/admin/keys", created)) as { id: string };
    const badTenant = await call("/admin/keys", { method: "POST", key: null, headers: admin, body: JSON.stringify({ tenant_id: "Not A Tenant" }) });
    expect(await expectDocumented("post", "/admin/keys", badTenant)).toMatchObject({ field: "tenant_id" });
    await expectDocumented("get", "/admin/keys", await call("/admin/keys?tenant_id=doc-tenant", { key: null, headers: admin }));
    await expectDocumented("delete", "/admin/keys/{id}", await call(`/admin/keys/${id}`, { method: "DELETE", key: null, headers: admin }));
    const gone = await call(`/admin/keys/${id}`, { method: "DELETE", key: null, headers: admin });
    expect(gone.status).toBe(404);
    await expectDocumented("delete", "/admin/keys/{id}", gone);
    await expectDocumented("get", "/admin/keys", await call("/admin/keys", { key: null }));
    await expectDocumented("get", "/health", await call("/health", { key: null }));
  });
});
