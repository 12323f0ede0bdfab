import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { CostEstimate } from "../../contracts/api.ts";
import type { VideoSpec } from "../../contracts/spec.ts";
import { createKey } from "../auth/keys.ts";
import { planChunks } from "../chunks/plan.ts";
import { apiRequest } from "../../test/support/worker/api-client.ts";

let key: string;
let otherKey: string;

function call(path: string, { key: given, ...init }: RequestInit & { key?: string | null } = {}) {
  return apiRequest(path, given === undefined ? key : given, init);
}

beforeAll(async () => {
  key = (await createKey(env.DB, "tenant-a", "test")).key;
  otherKey = (await createKey(env.DB, "tenant-b", "test")).key;
});

describe("POST /api/generate validation", () => {
  const bad: [string, unknown, string][] = [
    ["empty prompt", { prompt: "" }, "prompt"],
    ["blank prompt", { prompt: "   " }, "prompt"],
    ["missing prompt", {}, "prompt"],
    ["10 000-character prompt", { prompt: "x".repeat(10_000) }, "prompt"],
    ["creativity 1.5", { prompt: "ad", creativity_level: 1.5 }, "creativity_level"],
    ["duration 17", { prompt: "ad", duration_s: 17 }, "duration_s"],
    ["unknown archetype", { prompt: "ad", archetype: "space_opera" }, "archetype"],
    ["bad aspect ratio", { prompt: "ad", aspect_ratio: "4:3" }, "aspect_ratio"],
    ["ftp: brand asset", { prompt: "ad", brand_assets: { product_images: ["ftp://example.com/a.png"] } }, "brand_assets.product_images.0"],
    ["file: brand asset", { prompt: "ad", brand_assets: { logo: "file:///etc/passwd" } }, "brand_assets.logo"],
    ["unknown field", { prompt: "ad", colour: "red" }, "body"],
  ];
  for (const [name, body, field] of bad) {
    it(`refuses ${name} with 422 naming ${field}`, async () => {
      const response = await call("/api/generate", { method: "POST", body: JSON.stringify(body) });
      expect(response.status).toBe(422);
      const json = (await response.json()) as { error: string; field: string };
      expect(json.field).toBe(field);
      expect(json.error).toContain(field);
    });
  }

  it("refuses a body that is not JSON with 422", async () => {
    const response = await call("/api/generate", { method: "POST", body: "{not json" });
    expect(response.status).toBe(422);
  });

  it("refuses a max_cost_usd below the estimate and states the estimate", async () => {
    const response = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "coffee shop ad", max_cost_usd: 0.000001 }) });
    expect(response.status).toBe(422);
    const json = (await response.json()) as { field: string; error: string };
    expect(json.field).toBe("max_cost_usd");
    expect(json.error).toMatch(/estimated cost is \$\d+\.\d\d/);
  });

  it("plans without creating a video on dry_run, priced to the hundredth of a cent", async () => {
    const response = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a new running shoe", dry_run: true }) });
    expect(response.status).toBe(200);
    const json = (await response.json()) as { spec: VideoSpec; cost_estimate: CostEstimate };
    expect(json.spec.total_frames).toBe(720);
    expect(json.spec.beats.length).toBeGreaterThan(3);
    // The draft models are billed as CPU time at $0.0001 a second (pricing/prices.ts): an image
    // 0.3 s, a video 0.4 s per second of output + 0.2 s, music and each spoken line 0.05 s per
    // second (a line at most its beat's length) + 0.1 s; the local planner costs nothing. Worked out here by hand from the plan, each phase rounded to
    // $0.0001 as the estimate is.
    const cpu = (seconds: number) => seconds * 0.0001;
    const cents = (usd: number) => Math.round(usd * 10_000) / 10_000;
    const chunks = planChunks(json.spec);
    const byPhase = {
      planning: 0,
      generating_references: cents(3 * cpu(0.3)),
      storyboarding: cents(json.spec.beats.length * cpu(0.3)),
      generating_chunks: cents(chunks.reduce((sum, c) => sum + cpu((c.frames / 24) * 0.4 + 0.2), 0)),
      adding_music: cents(cpu(30 * 0.05 + 0.1) + json.spec.copy.voiceover.lines.reduce((sum, l) => sum + cpu((json.spec.beats[l.beat_index]!.frames / 24) * 0.05 + 0.1), 0)),
      stitching: 0,
    };
    expect(json.cost_estimate.by_phase).toEqual(byPhase);
    expect(json.cost_estimate.total_usd).toBe(cents(Object.values(byPhase).reduce((a, b) => a + b, 0)));
    expect(json.cost_estimate.total_usd).toBeGreaterThan(0);
    const list = (await (await call("/api/videos")).json()) as { videos: unknown[] };
    expect(list.videos).toHaveLength(0);
  });
});

describe("the finish options", () => {
  it("refuses a voice the video's speech model cannot speak with a 422 naming voiceover.voice, before anything exists", async () => {
    const response = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a cosy bakery's new sourdough", quality: "draft", voiceover: { voice: "Wise_Woman" } }) });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ field: "voiceover.voice", error: expect.stringContaining("en-us") });
    const dry = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a cosy bakery's new sourdough", quality: "draft", voiceover: { voice: "en-gb" }, dry_run: true }) });
    expect(dry.status).toBe(200);
    expect(((await dry.json()) as { spec: VideoSpec }).spec.copy.voiceover.voice).toBe("en-gb");
  });
});

describe("auth and ownership", () => {
  it("answers 401 without a key and with a wrong key", async () => {
    expect((await call("/api/videos", { key: null })).status).toBe(401);
    expect((await call("/api/videos", { key: "adr_wrong" })).status).toBe(401);
  });

  it("creates a video, serves its status, and hides it from another tenant", async () => {
    const created = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a cosy bakery's new sourdough" }) });
    expect(created.status).toBe(200);
    const { video_id, status } = (await created.json()) as { video_id: string; status: string };
    expect(status).toBe("queued");
    const own = await call(`/api/status/${video_id}`);
    expect(own.status).toBe(200);
    const body = (await own.json()) as { video_id: string; progress: number; current_phase: string };
    expect(body.video_id).toBe(video_id);
    expect(["queued", "planning", "generating_references"]).toContain(body.current_phase);
    for (const path of [`/api/status/${video_id}`, `/api/video/${video_id}`]) {
      const other = await call(path, { key: otherKey });
      expect(other.status).toBe(404);
    }
    expect((await call(`/api/video/${video_id}/cancel`, { method: "POST", key: otherKey })).status).toBe(404);
    const cancelled = await call(`/api/video/${video_id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    const after = (await (await call(`/api/status/${video_id}`)).json()) as { status: string };
    expect(after.status).toBe("cancelled");
  });

  it("answers 404 for an unknown or malformed id", async () => {
    expect((await call("/api/status/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await call("/api/video/not-a-uuid")).status).toBe(404);
  });
});

describe("Server-Timing", () => {
  /** The header's entries: name → duration (ms). */
  function timings(response: Response): Map<string, number> {
    const header = response.headers.get("server-timing") ?? "";
    return new Map(
      header
        .split(",")
        .filter((entry) => entry.trim())
        .map((entry) => {
          const match = /^\s*([a-z]+);dur=(\d+(?:\.\d+)?)\s*$/.exec(entry);
          if (!match) throw new Error(`malformed Server-Timing entry "${entry}" in "${header}"`);
          return [match[1]!, Number(match[2])];
        }),
    );
  }

  it("gives the Worker's time on a status answer and the run's part of it", async () => {
    const created = await call("/api/generate", { method: "POST", body: JSON.stringify({ prompt: "a cosy bakery's new sourdough" }) });
    const { video_id } = (await created.json()) as { video_id: string };
    const status = await call(`/api/status/${video_id}`);
    expect(status.status).toBe(200);
    const parts = timings(status);
    expect([...parts.keys()]).toEqual(["app", "run"]);
    expect(parts.get("run")!).toBeLessThanOrEqual(parts.get("app")!);
    await call(`/api/video/${video_id}/cancel`, { method: "POST" });
  });

  it("gives the Worker's time alone where no part is timed: /health, an unknown video, a refused key", async () => {
    for (const response of [await call("/health", { key: null }), await call("/api/status/00000000-0000-4000-8000-000000000000"), await call("/api/videos", { key: "adr_wrong" })]) {
      expect([...timings(response).keys()]).toEqual(["app"]);
    }
  });
});
