import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_startWorker } from "wrangler";
import { ROOT } from "../scripts/stack.ts";

/**
 * The document the Worker serves, against the OpenAPI 3.1 standard (worker/api/openapi.test.ts
 * checks it against the app's routes and answers). The validator compiles JSON Schemas with
 * `new Function`, which workerd forbids: so the Worker runs in workerd here (wrangler's local
 * runtime, no bindings used) and the validation in Node.
 */

type Json = Record<string, unknown>;
type Operation = { parameters?: { name: string; in: string; required?: boolean; schema?: Json }[]; security: unknown[]; "x-websocket"?: Json; responses: Json };

let worker: Awaited<ReturnType<typeof unstable_startWorker>>;
let document: Json;

beforeAll(async () => {
  process.env.WRANGLER_SEND_METRICS = "false";
  worker = await unstable_startWorker({ config: `${ROOT}/wrangler.toml`, dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, logLevel: "error" } as never });
  await worker.ready;
  const response = await worker.fetch("http://127.0.0.1/openapi.json");
  expect(response.status).toBe(200);
  document = (await response.json()) as Json;
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
});

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") found.push(v);
      else refsIn(v, found);
    }
  }
  return found;
}

const operations = () => Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

describe("the OpenAPI document the Worker serves", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("fails validation when broken (the validator really checks)", async () => {
    const broken = structuredClone(document) as { paths: Record<string, Record<string, { parameters: Json[] }>> };
    // A path parameter must be required, and "body" is not a parameter location in 3.x.
    broken.paths["/api/status/{id}"]!.get!.parameters[0] = { name: "id", in: "body", required: false, schema: { type: "string" } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("resolves every $ref and uses every component", () => {
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    const refs = refsIn(document);
    for (const ref of refs) expect(Object.keys(schemas)).toContain(ref.replace("#/components/schemas/", ""));
    const used = new Set(refs.map((r) => r.replace("#/components/schemas/", "")));
    expect(Object.keys(schemas).filter((name) => !used.has(name))).toEqual([]);
    expect(Object.keys(schemas).length).toBeGreaterThanOrEqual(40);
  });

  it("declares every path parameter, marks operations' auth, and documents the live socket", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(17);
    for (const { path, method, op } of ops) {
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect(declared, path).toEqual([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort());
      expect(op.security.length > 0, `${method} ${path}`).toBe(path.startsWith("/api/") || path.startsWith("/admin/"));
    }
    const live = (document.paths as Record<string, Record<string, Operation>>)["/api/video/{id}/live"]!.get!;
    expect(live.parameters).toContainEqual(expect.objectContaining({ name: "Upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } }));
    expect(live.parameters).toContainEqual(expect.objectContaining({ name: "since", in: "query", required: false, schema: { type: "integer", minimum: 0 } }));
    expect(live["x-websocket"]).toEqual({ client: expect.any(String), server: { $ref: "#/components/schemas/LiveMessage" } });
    expect(Object.keys(live.responses)).toContain("101");
  });

  it("describes request bodies as clients send them and responses as the API answers", () => {
    const schemas = (document.components as { schemas: Record<string, { type?: unknown; required?: string[]; properties: Record<string, Json> }> }).schemas;
    // Defaults make fields optional in a request ...
    expect(schemas.GenerateRequest!.required).toEqual(["prompt"]);
    expect(schemas.GenerateRequest!.properties.duration_s).toMatchObject({ default: 30 });
    // ... and always present in an answer.
    expect(schemas.StatusResponse!.required).toEqual(expect.arrayContaining(["video_id", "status", "progress", "current_phase", "estimated_time_remaining", "error"]));
    // A named schema that may be null is the schema or null; the schema itself never is.
    expect(schemas.VideoResponse!.properties.spec).toEqual({ anyOf: [{ $ref: "#/components/schemas/VideoSpec" }, { type: "null" }] });
    expect(Object.entries(schemas).filter(([, s]) => Array.isArray(s.type) && s.type.includes("null")).map(([name]) => name)).toEqual([]);
    expect(schemas.ErrorResponse!.required).toEqual(["error"]);
    expect(Object.keys(schemas.ErrorResponse!.properties)).toEqual(expect.arrayContaining(["error", "field", "issues"]));
    expect(document.servers).toEqual([{ url: "http://127.0.0.1:8787" }]);
    expect(Object.keys(document.webhooks as Json)).toEqual(["videoEnded"]);
  });
});
