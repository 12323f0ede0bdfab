import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../auth/keys.ts";
import { mediaKeys } from "../media/keys.ts";
import { driveToEnd, newRun } from "../../test/support/worker/run-driver.ts";

/**
 * Tenants are isolated on every /api route: another tenant's video answers 404 exactly like an
 * unknown one. Media URLs are capabilities (signed, expiring, no key needed), so what must
 * hold is that no route hands tenant A a URL of tenant B's video.
 */

const ADMIN = "test-admin-token-0123456789";

function call(key: string | null, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://adreel.test${path}`, { ...init, headers }));
}

let keyA: string;
let keyB: string;
let videoB: string;

beforeAll(async () => {
  keyA = (await createKey(env.DB, "tenant-iso-a", "a")).key;
  keyB = (await createKey(env.DB, "tenant-iso-b", "b")).key;
  const created = await call(keyB, "/api/generate", { method: "POST", body: JSON.stringify({ prompt: "Tenant B's secret product launch", duration_s: 15 }) });
  videoB = ((await created.json()) as { video_id: string }).video_id;
  const end = await driveToEnd(await newRun({ videoId: videoB }));
  expect(end.status).toBe("complete");
  await env.MEDIA.put(mediaKeys.final(videoB), new Uint8Array([0, 0, 0, 24, 102, 116, 121, 112]), { httpMetadata: { contentType: "video/mp4" } });
});

describe("tenant isolation", () => {
  const routes = (id: string): [string, string, RequestInit][] => [
    ["status", `/api/status/${id}`, {}],
    ["record", `/api/video/${id}`, {}],
    ["cancel", `/api/video/${id}/cancel`, { method: "POST" }],
    ["regenerate", `/api/video/${id}/beats/1/regenerate`, { method: "POST", body: JSON.stringify({ prompt: "mine now" }) }],
    ["live", `/api/video/${id}/live`, { headers: { upgrade: "websocket" } }],
  ];

  it("answers 404 to tenant A on every route of tenant B's video, exactly as for an unknown id", async () => {
    const unknown = crypto.randomUUID();
    for (const [name, path, init] of routes(videoB)) {
      const response = await call(keyA, path, init);
      expect(response.status, name).toBe(404);
      const body = (await response.json()) as { error: string };
      const unknownBody = (await (await call(keyA, routes(unknown).find((r) => r[0] === name)![1], init)).json()) as { error: string };
      expect(body.error.replace(videoB, "<id>"), name).toBe(unknownBody.error.replace(unknown, "<id>"));
      expect(JSON.stringify(body)).not.toContain("/media/");
    }
    // The same routes work for the owner (regenerate and cancel are not exercised here: they would change the video).
    expect((await call(keyB, `/api/status/${videoB}`)).status).toBe(200);
    expect((await call(keyB, `/api/video/${videoB}`)).status).toBe(200);
    const live = await call(keyB, `/api/video/${videoB}/live`, { headers: { upgrade: "websocket" } });
    expect(live.status).toBe(101);
    live.webSocket!.accept();
    live.webSocket!.close(1000, "done");
    // B's video is untouched by A's attempts.
    expect(((await (await call(keyB, `/api/status/${videoB}`)).json()) as { status: string }).status).toBe("complete");
  });

  it("never lists tenant B's videos to tenant A, whatever the filter", async () => {
    for (const query of ["", "?status=complete", "?limit=100", `?cursor=${Date.now() + 1000}`]) {
      const list = (await (await call(keyA, `/api/videos${query}`)).json()) as { videos: { video_id: string }[] };
      expect(list.videos.map((v) => v.video_id)).not.toContain(videoB);
    }
    const own = (await (await call(keyB, "/api/videos")).json()) as { videos: { video_id: string }[] };
    expect(own.videos.map((v) => v.video_id)).toContain(videoB);
  });

  it("serves B's signed media URL without a key (a capability), and nothing unsigned or altered", async () => {
    const record = (await (await call(keyB, `/api/video/${videoB}`)).json()) as { final_video_url: string };
    const url = new URL(record.final_video_url);
    const download = await call(null, `${url.pathname}${url.search}`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("video/mp4");
    expect((await download.arrayBuffer()).byteLength).toBe(8);
    expect((await call(keyA, url.pathname)).status).toBeGreaterThanOrEqual(400);
    const forged = new URLSearchParams(url.search);
    forged.set("expires", String(Number(forged.get("expires")) + 3600));
    expect((await call(null, `${url.pathname}?${forged}`)).status).toBeGreaterThanOrEqual(400);
  });
});

describe("keys", () => {
  it("answers 401 without a key, with a wrong key and with a revoked key, on every /api route", async () => {
    const created = await call(null, "/admin/keys", { method: "POST", headers: { authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ tenant_id: "tenant-iso-b", name: "to revoke" }) });
    expect(created.status).toBe(201);
    const revocable = (await created.json()) as { id: string; key: string };
    // Used once, so this isolate remembers the key (auth/keys.ts): its revocation must still hold at once.
    expect((await call(revocable.key, `/api/status/${videoB}`)).status).toBe(200);
    const revoked = await call(null, `/admin/keys/${revocable.id}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN}` } });
    expect(revoked.status).toBe(200);
    const paths: [string, RequestInit][] = [
      ["/api/videos", {}],
      [`/api/status/${videoB}`, {}],
      [`/api/video/${videoB}`, {}],
      [`/api/video/${videoB}/cancel`, { method: "POST" }],
      [`/api/video/${videoB}/beats/0/regenerate`, { method: "POST" }],
      [`/api/video/${videoB}/live`, { headers: { upgrade: "websocket" } }],
      ["/api/generate", { method: "POST", body: JSON.stringify({ prompt: "x", dry_run: true }) }],
      ["/api/assets", { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array([1, 2, 3]) }],
    ];
    for (const [path, init] of paths) {
      for (const [who, key] of [["no key", null], ["a wrong key", "adr_0123456789abcdef0123456789abcdef0123456789abcdef"], ["a revoked key", revocable.key]] as const) {
        const response = await call(key, path, init);
        expect(response.status, `${init.method ?? "GET"} ${path} with ${who}`).toBe(401);
      }
    }
    // A key given as access_token (browsers' WebSockets) is checked the same way.
    expect((await call(null, `/api/video/${videoB}/live?access_token=${revocable.key}`, { headers: { upgrade: "websocket" } })).status).toBe(401);
    expect(((await (await call(keyB, `/api/status/${videoB}`)).json()) as { status: string }).status).toBe("complete");
  });
});
