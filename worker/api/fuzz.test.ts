import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createKey } from "../auth/keys.ts";

/**
 * Property-based input fuzzing: whatever a client sends — malformed JSON, wrong types,
 * hostile strings, odd headers — the API answers 4xx (or 200 for a valid dry run), never
 * 5xx, and never creates a video it did not accept.
 */

let key: string;

// Hundreds of requests per property: give each property time, not the 5 s unit-test default.
vi.setConfig({ testTimeout: 90_000 });

beforeAll(async () => {
  key = (await createKey(env.DB, "fuzz-tenant", "fuzz")).key;
});

async function videoCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE tenant_id = 'fuzz-tenant'").first<{ n: number }>();
  return row?.n ?? 0;
}

const anyJson = fc.jsonValue({ maxDepth: 4 });

const almostValid = fc.record(
  {
    prompt: fc.oneof(fc.string({ maxLength: 50 }), fc.string({ minLength: 1990, maxLength: 2100 }), fc.constant(""), fc.integer(), fc.constant(null)),
    duration_s: fc.oneof(fc.constantFrom(15, 30, 60), fc.integer(), fc.double(), fc.string({ maxLength: 4 })),
    aspect_ratio: fc.oneof(fc.constantFrom("16:9", "9:16", "1:1"), fc.string({ maxLength: 6 })),
    creativity_level: fc.oneof(fc.double({ min: -2, max: 3, noNaN: false }), fc.string({ maxLength: 3 })),
    archetype: fc.oneof(fc.constantFrom("testimonial", "nope", ""), fc.constant(null), fc.integer()),
    brand_assets: fc.oneof(
      fc.constant(null),
      fc.record({
        product_images: fc.array(fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 }), fc.constant("file:///etc/passwd")), { maxLength: 7 }),
        logo: fc.oneof(fc.webUrl(), fc.constant("asset:nothing-here-at-all"), fc.constant(null)),
      }, { requiredKeys: [] }),
      anyJson,
    ),
    max_cost_usd: fc.oneof(fc.double({ min: -1, max: 2000 }), fc.constant(null), fc.string({ maxLength: 3 })),
    dry_run: fc.constant(true),
    copy: fc.oneof(fc.constant(null), fc.record({ headline: fc.oneof(fc.string({ maxLength: 80 }), fc.integer()), cta: fc.string({ maxLength: 50 }) }, { requiredKeys: [] }), anyJson),
    voiceover: fc.oneof(fc.constant(null), fc.record({ enabled: fc.oneof(fc.boolean(), fc.string({ maxLength: 4 })), voice: fc.oneof(fc.constantFrom("en-us", "Wise_Woman"), fc.string({ maxLength: 60 })) }, { requiredKeys: [] })),
    captions: fc.oneof(fc.constantFrom("burned", "sidecar", "none"), fc.string({ maxLength: 8 })),
    extra: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ["dry_run"] },
);

/** Each request under a fresh key of the tenant, so the per-key rate limits never mask what is being fuzzed. */
async function post(body: string, headers: Record<string, string> = {}) {
  key = (await createKey(env.DB, "fuzz-tenant", "fuzz")).key;
  const response = await exports.default.fetch(
    new Request("http://adreel.test/api/generate", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body,
    }),
  );
  // Rate limiting would make a fuzzed 4xx meaningless.
  expect(response.status).not.toBe(429);
  return response;
}

describe("fuzzing POST /api/generate", () => {
  it("answers arbitrary JSON with 4xx (or a valid dry run), never 5xx", async () => {
    const before = await videoCount();
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson, almostValid), async (value) => {
        // Every accepted body here is a dry run, so no video may ever appear.
        const body = typeof value === "object" && value && !Array.isArray(value) ? { ...value, dry_run: true } : value;
        const response = await post(JSON.stringify(body));
        await response.body?.cancel();
        expect(response.status === 200 || (response.status >= 400 && response.status < 500)).toBe(true);
      }),
      { numRuns: 600 },
    );
    expect(await videoCount()).toBe(before);
  });

  it("answers byte soup and broken JSON with 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((b) => String.fromCharCode(...b))), async (raw) => {
        const response = await post(raw);
        await response.body?.cancel();
        expect(response.status).toBeGreaterThanOrEqual(200);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
  });

  it("answers hostile headers and keys with 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), fc.string({ maxLength: 200 }), async (authorization, idempotency) => {
        const response = await exports.default.fetch(
          new Request("http://adreel.test/api/generate", {
            method: "POST",
            headers: { authorization: authorization.replace(/[^\x20-\x7e]/g, ""), "idempotency-key": idempotency.replace(/[^\x20-\x7e]/g, ""), "content-type": "application/json" },
            body: JSON.stringify({ prompt: "x", dry_run: true }),
          }),
        );
        await response.body?.cancel();
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses bodies larger than the limit with 413", async () => {
    const response = await post(JSON.stringify({ prompt: "x".repeat(70 * 1024) }));
    expect(response.status).toBe(413);
  });
});

describe("fuzzing the webhook and media routes", () => {
  it("answers any webhook delivery that is not properly signed with 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ id: fc.string({ maxLength: 40 }), timestamp: fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String)), signature: fc.string({ maxLength: 120 }) }, { requiredKeys: [] }),
        fc.oneof(anyJson.map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 })),
        fc.string({ maxLength: 60 }),
        async (headers, body, query) => {
          const h: Record<string, string> = { "content-type": "application/json" };
          const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, "");
          if (headers.id !== undefined) h["webhook-id"] = clean(headers.id);
          if (headers.timestamp !== undefined) h["webhook-timestamp"] = clean(headers.timestamp);
          if (headers.signature !== undefined) h["webhook-signature"] = clean(headers.signature);
          const response = await exports.default.fetch(new Request(`http://adreel.test/webhooks/replicate?${encodeURIComponent(query)}`, { method: "POST", headers: h, body }));
          await response.body?.cancel();
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("answers arbitrary media paths and queries with 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.webPath(), fc.webQueryParameters(), fc.constantFrom("GET", "PUT"), async (path, query, method) => {
        const response = await exports.default.fetch(new Request(`http://adreel.test/media${path.startsWith("/") ? path : `/${path}`}?${query}`, { method, body: method === "PUT" ? "x" : undefined }));
        await response.body?.cancel();
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});
