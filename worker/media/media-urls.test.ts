import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, loadConfig, missingSecrets } from "../config.ts";
import { mediaUrl } from "./media-urls.ts";
import { verifyMediaUrl } from "./signed-url.ts";

/** Which URL each consumer of a media object gets, with and without R2's S3 credentials. */

const local = loadConfig(env);
const r2 = { R2_ACCOUNT_ID: "0123456789abcdef0123456789abcdef", R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret", R2_BUCKET: "adreel-media" };
const production = loadConfig({ ...env, ...r2, PRESIGNED_URL_TTL_SECONDS: "900" } as Env);
const KEY = "videos/v1/chunks/000.mp4";

describe("mediaUrl", () => {
  it("gives every consumer the Worker's signed /media URL when no R2 credentials are configured", async () => {
    for (const consumer of ["client", "service"] as const) {
      const url = new URL(await mediaUrl(local, consumer, KEY, "get"));
      expect(`${url.origin}${url.pathname}`).toBe(`${local.publicBaseUrl}/media/${KEY}`);
      expect(await verifyMediaUrl(local.mediaSigningSecret, KEY, "get", url.searchParams)).toEqual({ ok: true });
    }
  });

  it("gives services (media-node, the provider) presigned R2 URLs, scoped to the key and method and short-lived", async () => {
    {
      const consumer = "service";
      const get = new URL(await mediaUrl(production, consumer, KEY, "get"));
      expect(`${get.origin}${get.pathname}`).toBe(`https://${r2.R2_ACCOUNT_ID}.r2.cloudflarestorage.com/adreel-media/${KEY}`);
      // The configured lifetime caps the caller's (6 h for clients by default).
      expect(get.searchParams.get("X-Amz-Expires")).toBe("900");
      const put = new URL(await mediaUrl(production, consumer, KEY, "put", 300));
      expect(put.searchParams.get("X-Amz-Expires")).toBe("300");
      expect(put.searchParams.get("X-Amz-Signature")).not.toBe(get.searchParams.get("X-Amz-Signature"));
    }
  });

  it("keeps clients on /media even in production", async () => {
    const url = new URL(await mediaUrl(production, "client", KEY, "get"));
    expect(url.pathname).toBe(`/media/${KEY}`);
    expect(url.searchParams.has("X-Amz-Signature")).toBe(false);
  });
});

describe("missingSecrets", () => {
  it("names the R2 settings that are missing when only some are set", () => {
    const partial = { ...env, R2_ACCESS_KEY_ID: "key-id" } as Env;
    expect(missingSecrets(loadConfig(partial), partial)).toEqual(["R2_ACCOUNT_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET"]);
    const complete = { ...env, ...r2 } as Env;
    expect(missingSecrets(loadConfig(complete), complete)).toEqual([]);
  });

  it("leaves configuration problems to configProblems (GET /health lists them as `problems`)", () => {
    const replicate = { ...env, MODEL_PROVIDER: "replicate", PROVIDER_BASE_URL: "https://api.replicate.com", REPLICATE_API_TOKEN: "r8_x", PUBLIC_BASE_URL: "" } as Env;
    expect(missingSecrets(loadConfig(replicate), replicate).join()).not.toContain("PUBLIC_BASE_URL");
    expect(configProblems(loadConfig(replicate)).filter((p) => p.setting === "PUBLIC_BASE_URL")).toHaveLength(1);
    const plain = { ...replicate, PUBLIC_BASE_URL: "http://adreel.example.net" } as Env;
    expect(configProblems(loadConfig(plain)).map((p) => `${p.setting} (${p.problem})`).join()).toMatch(/PUBLIC_BASE_URL \(must be an https URL/);
    const hosted = { ...replicate, PUBLIC_BASE_URL: "https://adreel.example.net" } as Env;
    expect(configProblems(loadConfig(hosted)).map((p) => p.setting)).not.toContain("PUBLIC_BASE_URL");
    // A Replicate-compatible server on this machine (the emulator) reaches a loopback Worker.
    const local = { ...replicate, PROVIDER_BASE_URL: "http://127.0.0.1:8790", PUBLIC_BASE_URL: "http://127.0.0.1:8787" } as Env;
    expect(configProblems(loadConfig(local)).map((p) => p.setting)).not.toContain("PUBLIC_BASE_URL");
  });

  it("names media-node when neither MEDIA_NODE_URL nor the container binding is there", () => {
    const none = { ...env, MEDIA_NODE_URL: "", MEDIA_NODE_CONTAINER: undefined } as unknown as Env;
    expect(missingSecrets(loadConfig(none), none)).toContain("MEDIA_NODE_URL (or the MEDIA_NODE_CONTAINER binding)");
    const container = { ...env, MEDIA_NODE_URL: "" } as Env;
    expect(missingSecrets(loadConfig(container), container)).toEqual([]);
  });
});
