import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { createKey } from "../auth/keys.ts";
import { apiRequest } from "../../test/support/worker/api-client.ts";
import { app } from "../index.ts";
import { buildOpenApiDocument, openApiPath, ROUTES } from "./openapi.ts";

/** The document against the app itself: the same routes, and answers that match what it promises. */

const ADMIN = "test-admin-token-0123456789";
let key: string;

function call(path: string, { key: given, ...init }: RequestInit & { key?: string | null } = {}) {
  return apiRequest(path, given === undefined ? key : given, init);
}

beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-doc", "test")).key;
});

/**
 * Checks an answer against the route table: the status is documented for that operation and
 * the body parses with the documented schema without losing a field (no undocumented keys).
 */
async function expectDocumented(method: string, honoPath: string, response: Response): Promise<unknown> {
  const route = ROUTES.find((r) => r.method === method && r.path === honoPath);
  expect(route, `${method} ${honoPath} is in the route table`).toBeDefined();
  const documented = route!.responses[response.status];
  expect(documented, `${method} ${honoPath} documents status ${response.status}`).toBeDefined();
  const json: unknown = await response.json();
  const schemas = ([] as z.ZodType[]).concat(documented!.schema ?? []);
  expect(schemas.length, `${method} ${honoPath} ${response.status} has a JSON schema`).toBeGreaterThan(0);
  const match = schemas.map((s) => s.safeParse(json)).find((r) => r.success);
  expect(match, `${method} ${honoPath} ${response.status}: ${JSON.stringify(json).slice(0, 300)}`).toBeDefined();
  // Parsing strips unknown keys, so equality means the answer has no undocumented field.
  expect(match!.data).toEqual(json);
  return json;
}

describe("the OpenAPI document and the app", () => {
  it("documents every route the app serves, and nothing else", () => {
    const served = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
    const documented = new Set(ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    expect(served.size).toBeGreaterThanOrEqual(15);

    const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(operations.sort()).toEqual(ROUTES.map((r) => `${r.method} ${openApiPath(r)}`).sort());
  });

  it("serves the document at /openapi.json with the deployment's URL, and the reference page at /docs", async () => {
    const response = await call("/openapi.json", { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const served = (await response.json()) as { openapi: string; servers: { url: string }[] };
    expect(served.openapi).toBe("3.1.0");
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument({ serverUrl: env.PUBLIC_BASE_URL.replace(/\/$/, "") }))));

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

    await expectDocumented("get", "/api/status/:id", await call(`/api/status/${video_id}`));
    await expectDocumented("get", "/api/video/:id", await call(`/api/video/${video_id}`));
    const list = (await expectDocumented("get", "/api/videos", await call("/api/videos?limit=5"))) as { videos: { video_id: string }[] };
    expect(list.videos.map((v) => v.video_id)).toContain(video_id);

    const notComplete = await call(`/api/video/${video_id}/beats/0/regenerate`, { method: "POST" });
    expect(notComplete.status).toBe(409);
    await expectDocumented("post", "/api/video/:id/beats/:n/regenerate", notComplete);

    const cancelled = await call(`/api/video/${video_id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    await expectDocumented("post", "/api/video/:id/cancel", cancelled);
    const again = await call(`/api/video/${video_id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(await expectDocumented("post", "/api/video/:id/cancel", again)).toMatchObject({ cancelled: false, status: "cancelled" });
  });

  it("answers errors in the documented error shape", async () => {
    const invalid = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "ad", duration_s: 17 }) });
    expect(invalid.status).toBe(422);
    expect(await expectDocumented("post", "/api/generate", invalid)).toMatchObject({ field: "duration_s", issues: [{ field: "duration_s" }] });
    const tooLarge = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "x".repeat(70_000) }) });
    expect(tooLarge.status).toBe(413);
    await expectDocumented("post", "/api/generate", tooLarge);
    await expectDocumented("get", "/api/videos", await call("/api/videos", { key: null }));
    await expectDocumented("get", "/api/videos", await call("/api/videos?limit=1000"));
    await expectDocumented("get", "/api/status/:id", await call("/api/status/00000000-0000-4000-8000-000000000000"));
    const notUpgrade = await call("/api/video/00000000-0000-4000-8000-000000000000/live");
    expect(notUpgrade.status).toBe(426);
    await expectDocumented("get", "/api/video/:id/live", notUpgrade);
    const notAnImage = await call("/api/assets", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(notAnImage.status).toBe(415);
    await expectDocumented("post", "/api/assets", notAnImage);
    const unsigned = await call("/webhooks/replicate?video=v&job=j&attempt=1", { method: "POST", key: null, body: "{}" });
    expect(unsigned.status).toBe(401);
    await expectDocumented("post", "/webhooks/replicate", unsigned);
    const unsignedMedia = await call("/media/videos/x/final.mp4", { key: null });
    expect(unsignedMedia.status).toBe(401);
    await expectDocumented("get", "/media/*", unsignedMedia);
  });

  it("answers the admin and health routes with the documented shapes", async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    const created = await call("/admin/keys", { method: "POST", key: null, headers: admin, body: JSON.stringify({ tenant_id: "doc-tenant" }) });
    expect(created.status).toBe(201);
    const { id } = (await expectDocumented("post", "/admin/keys", created)) as { id: string };
    await expectDocumented("get", "/admin/keys", await call("/admin/keys?tenant_id=doc-tenant", { key: null, headers: admin }));
    await expectDocumented("delete", "/admin/keys/:id", await call(`/admin/keys/${id}`, { method: "DELETE", key: null, headers: admin }));
    const gone = await call(`/admin/keys/${id}`, { method: "DELETE", key: null, headers: admin });
    expect(gone.status).toBe(404);
    await expectDocumented("delete", "/admin/keys/:id", gone);
    await expectDocumented("get", "/admin/keys", await call("/admin/keys", { key: null }));
    await expectDocumented("get", "/health", await call("/health", { key: null }));
  });
});
