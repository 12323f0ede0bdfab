import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { configProblems, loadConfig, providerFor, videoConfig } from "./config.ts";

const MUSICGEN = "meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb";
const replicate = (vars: Record<string, string> = {}) =>
  loadConfig({ ...env, MODEL_PROVIDER: "replicate", PROVIDER_BASE_URL: "https://api.replicate.com", REPLICATE_API_TOKEN: "r8_x", PUBLIC_BASE_URL: "https://adreel.example.net", ...vars } as Env);

describe("configuration of the model providers", () => {
  it("pins musicgen by default and reports nothing wrong with the presets", () => {
    for (const preset of ["premium", "budget"]) {
      const config = replicate({ MODEL_PRESET: preset });
      expect(config.models.music).toBe(MUSICGEN);
      expect(configProblems(config)).toEqual([]);
    }
    expect(configProblems(loadConfig(env))).toEqual([]);
  });

  it("names a community model without its version, a malformed version and a model without an adapter", () => {
    const problems = configProblems(replicate({ MUSIC_MODEL: "meta/musicgen", VIDEO_MODEL: "wan-video/wan-2.2-i2v-fast:abc", IMAGE_MODEL: "someone/new-image-model" }));
    expect(problems).toEqual([
      { setting: "IMAGE_MODEL", problem: expect.stringMatching(/^no adapter for someone\/new-image-model; known models: /) },
      { setting: "VIDEO_MODEL", problem: "wan-video/wan-2.2-i2v-fast:abc: a version is 64 hexadecimal characters" },
      { setting: "MUSIC_MODEL", problem: `meta/musicgen is a community model: Replicate runs it only by version, so name it as ${MUSICGEN}` },
    ]);
  });

  it("wants an https PUBLIC_BASE_URL with Replicate, unless both ends are on this machine", () => {
    expect(configProblems(replicate({ PUBLIC_BASE_URL: "http://adreel.example.net" })).map((p) => p.setting)).toEqual(["PUBLIC_BASE_URL"]);
    expect(configProblems(replicate({ PUBLIC_BASE_URL: "http://127.0.0.1:8787" })).map((p) => p.setting)).toEqual(["PUBLIC_BASE_URL"]);
    expect(configProblems(replicate({ PUBLIC_BASE_URL: "http://127.0.0.1:8787", PROVIDER_BASE_URL: "http://127.0.0.1:8790" }))).toEqual([]);
  });

  it("renders a draft on the draft provider and a standard video on the configured one", () => {
    const config = replicate({ DRAFT_PROVIDER_URL: "http://127.0.0.1:8789", DRAFT_PROVIDER_TOKEN: "r8_draft", DRAFT_WEBHOOK_SECRET: "whsec_ZHJhZnQ=" });
    expect(providerFor(config, "draft")).toMatchObject({ name: "draft", baseUrl: "http://127.0.0.1:8789", token: "r8_draft", webhookSecret: "whsec_ZHJhZnQ=", models: { video: "adreel/draft-video" } });
    expect(providerFor(config, "standard")).toMatchObject({ name: "replicate", baseUrl: "https://api.replicate.com", token: "r8_x", models: { video: "wan-video/wan-2.2-i2v-fast" } });
    const draft = videoConfig(config, "draft");
    expect(draft).toMatchObject({ provider: "draft", providerBaseUrl: "http://127.0.0.1:8789", providerToken: "r8_draft", maxChunkFrames: 720, models: { image: "adreel/draft-image" } });
    // The plan is still timed for the hosted model: the draft renders the spec the real run will.
    expect(draft.planningVideoModel).toBe("wan-video/wan-2.2-i2v-fast");
    expect(videoConfig(config, "standard")).toBe(config);
    // With the draft provider configured, both qualities render on it.
    const local = loadConfig(env);
    expect(providerFor(local, "standard").name).toBe("draft");
  });
});
