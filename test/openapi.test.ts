import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, openApiPath, ROUTES } from "../worker/api/openapi.ts";

/**
 * The document against the OpenAPI 3.1 standard (the Worker test checks it against the app).
 * The validator compiles JSON Schemas with `new Function`, which workerd forbids: so Node.
 */

type Json = Record<string, unknown>;

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

describe("the OpenAPI document", () => {
  const document = buildOpenApiDocument({ serverUrl: "https://adreel.example.com" });

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
  });

  it("declares every path parameter, marks operations' auth, and documents the live socket", () => {
    const paths = document.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[]; security: unknown[]; "x-websocket"?: Json }>>;
    for (const route of ROUTES) {
      const path = openApiPath(route);
      const op = paths[path]![route.method]!;
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect(declared, path).toEqual([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort());
      expect(op.security.length > 0, `${route.method} ${path}`).toBe(route.path.startsWith("/api/") || route.path.startsWith("/admin/"));
    }
    const live = paths["/api/video/{id}/live"]!.get!;
    expect(live.parameters).toContainEqual(expect.objectContaining({ name: "Upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } }));
    expect(live["x-websocket"]).toEqual({ client: expect.any(String), server: { $ref: "#/components/schemas/LiveMessage" } });
    expect(Object.keys((live as unknown as { responses: Json }).responses)).toContain("101");
  });

  it("describes request bodies as clients send them and responses as the API answers", () => {
    const schemas = (document.components as { schemas: Record<string, { required?: string[]; properties: Record<string, Json> }> }).schemas;
    // Defaults make fields optional in a request ...
    expect(schemas.GenerateRequest!.required).toEqual(["prompt"]);
    expect(schemas.GenerateRequest!.properties.duration_s).toMatchObject({ default: 30 });
    // ... and always present in an answer.
    expect(schemas.StatusResponse!.required).toEqual(expect.arrayContaining(["video_id", "status", "progress", "current_phase", "estimated_time_remaining", "error"]));
    expect(schemas.VideoResponse!.properties.spec).toEqual({ anyOf: [{ $ref: "#/components/schemas/VideoSpec" }, { type: "null" }] });
    expect(schemas.ErrorResponse!.required).toEqual(["error"]);
    expect(Object.keys(schemas.ErrorResponse!.properties)).toEqual(expect.arrayContaining(["error", "field", "issues"]));
    expect(document.servers).toEqual([{ url: "https://adreel.example.com" }]);
  });
});
