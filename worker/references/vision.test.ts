import { describe, expect, it } from "vitest";
import { ReferenceImageAnalysis } from "../../contracts/api.ts";
import { hexToLab } from "../../lib/color.ts";
import type { AnalyzeImageResponse } from "../../contracts/media.ts";
import { type AnalysisSubject, localAnalysis } from "./analyser.ts";
import badColour from "./fixtures/vision-bad-colour.json";
import errors from "./fixtures/vision-errors.json";
import fenced from "./fixtures/vision-fenced.json";
import malformed from "./fixtures/vision-malformed.json";
import valid from "./fixtures/vision-valid.json";
import { OpenAIVisionAnalyser, createAnalyser, readVisionReply, retryDelayMs, visionJsonSchema } from "./vision.ts";
import { openaiServer } from "../../test/support/worker/openai-double.ts";

// Fixtures are chat.completion objects and error bodies in OpenAI's wire format; the
// analyser talks to them through the real SDK with an injected fetch.


function analyser(fetch: typeof globalThis.fetch, waits: number[] = []) {
  return new OpenAIVisionAnalyser({
    apiKey: "sk-test",
    baseURL: "https://openai.test/v1",
    fetch,
    timeoutMs: 10_000,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
}

const palette = (hexes: string[]): AnalyzeImageResponse["palette"] => hexes.map((hex, i) => ({ hex, share: [0.4, 0.3, 0.2, 0.1][i] ?? 0.05, lab: hexToLab(hex) }));

const IMAGE_URL = "https://adreel.example/media/videos/v1/references/1.png?access=get&expires=1&sig=ab";

const subject: AnalysisSubject = {
  type: "product",
  spec: { facts: { product: "a teal water bottle", character: "a beach volleyball player", setting: "a beach boardwalk", keywords: [] }, style: "sunny lifestyle look" },
  stats: { width: 1024, height: 576, palette: palette(["#1F6F78", "#F2C14E", "#F7F3E9"]), brightness: 0.62, contrast: 0.4, saturation: 0.5, lighting: "bright, high-key lighting", style: "photographic, natural colour" },
  imageUrl: async () => IMAGE_URL,
};

const expected = {
  character_description: "Woman in her early thirties, shoulder-length curly black hair, warm brown skin, wearing a mustard-yellow linen shirt and silver hoop earrings, slim athletic build, relaxed smile.",
  product_features: "Matte teal stainless-steel water bottle, cylindrical with a bamboo screw cap, white wave logo printed near the base, about 25 cm tall.",
  colors: ["#1F6F78", "#F2C14E", "#3B2F2F", "#F7F3E9", "#8FB9A8"],
  style: "photorealistic lifestyle photography, shallow depth of field",
  environment: "Outdoor beach boardwalk at golden hour, low warm sunlight from the left, soft haze over the sea.",
};

describe("openai vision analyser", () => {
  it("reads a valid structured reply into the five-part analysis (SPEC §5.4), the image sent as an image_url part", async () => {
    const server = openaiServer([valid]);
    const result = await analyser(server.fetch).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(result.note).toBeUndefined();
    expect(result.analysis).toEqual(expected);
    expect(ReferenceImageAnalysis.parse(result.analysis)).toEqual(result.analysis);
    expect(result.usage).toEqual({ input_tokens: 1180, output_tokens: 164 });

    const [request] = server.requests;
    expect(server.requests).toHaveLength(1);
    expect(request!.url).toBe("https://openai.test/v1/chat/completions");
    expect(request!.body.model).toBe("gpt-4.1-mini");
    expect(request!.body.response_format).toEqual({ type: "json_schema", json_schema: { name: "reference_image_analysis", strict: true, schema: visionJsonSchema() } });
    const user = request!.body.messages.find((m: { role: string }) => m.role === "user");
    expect(user.content).toContainEqual({ type: "image_url", image_url: { url: IMAGE_URL } });
    expect(JSON.parse(user.content[0].text)).toMatchObject({ reference_type: "product", measured_palette: ["#1F6F78", "#F2C14E", "#F7F3E9"] });
  });

  it("sends a strict schema: every object closed and every property required", () => {
    const schema = visionJsonSchema() as { type: string; additionalProperties: boolean; required: string[]; properties: Record<string, unknown> };
    expect(schema.type).toBe("object");
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(["character_description", "colors", "environment", "product_features", "style"]);
    expect(Object.keys(schema.properties).sort()).toEqual([...schema.required].sort());
  });

  it("reads JSON inside a markdown fence", async () => {
    const server = openaiServer([fenced]);
    const result = await analyser(server.fetch).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(result.analysis).toEqual(expected);
  });

  it("repairs malformed JSON once, feeding the parse error back", async () => {
    const server = openaiServer([malformed, valid]);
    const result = await analyser(server.fetch).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(result.analysis).toEqual(expected);
    const retry = server.requests[1]!.body.messages;
    expect(retry.at(-2)).toEqual({ role: "assistant", content: malformed.choices[0]!.message.content });
    expect(retry.at(-1).content).toMatch(/not valid JSON/);
    expect(result.usage).toEqual({ input_tokens: 1180 * 2, output_tokens: 61 + 164 });
  });

  it("falls back to the local analysis, with the reason, when the repair is malformed too", async () => {
    const server = openaiServer([malformed, malformed]);
    const result = await analyser(server.fetch).analyse(subject);
    expect(server.requests).toHaveLength(2);
    expect(result.analyser).toBe("local");
    expect(result.analysis).toEqual(localAnalysis(subject));
    expect(result.note).toMatch(/^used the local analysis: the reply was still unusable after a repair: the reply is not valid JSON/);
  });

  it("asks for a repair naming a colour that is not a hex code", async () => {
    const server = openaiServer([badColour, valid]);
    const result = await analyser(server.fetch).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(server.requests[1]!.body.messages.at(-1).content).toMatch(/colors\.0: "teal" is not a #RRGGBB hex code/);
  });

  it("retries a 500 with exponential backoff, then uses the answer", async () => {
    const waits: number[] = [];
    const server = openaiServer([{ status: 500, body: errors["server-error"] }, { status: 503, body: errors["server-error"] }, valid]);
    const result = await analyser(server.fetch, waits).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(result.analysis).toEqual(expected);
    expect(server.requests).toHaveLength(3);
    expect(waits).toEqual([1000, 2000]);
  });

  it("gives up after three 5xx answers and records the status", async () => {
    const waits: number[] = [];
    const server = openaiServer([500, 502, 500].map((status) => ({ status, body: errors["server-error"] })));
    const result = await analyser(server.fetch, waits).analyse(subject);
    expect(server.requests).toHaveLength(3);
    expect(waits).toEqual([1000, 2000]);
    expect(result.analyser).toBe("local");
    expect(result.note).toMatch(/^used the local analysis: OpenAI API error 500/);
  });

  it("waits as long as a 429's Retry-After says", async () => {
    const waits: number[] = [];
    const server = openaiServer([{ status: 429, body: errors["rate-limited"], headers: { "retry-after": "2" } }, valid]);
    const result = await analyser(server.fetch, waits).analyse(subject);
    expect(result.analyser).toBe("openai");
    expect(waits).toEqual([2000]);
  });

  it("does not wait past its budget for a long Retry-After", async () => {
    const waits: number[] = [];
    const server = openaiServer([{ status: 429, body: errors["rate-limited"], headers: { "retry-after": "120" } }]);
    const result = await analyser(server.fetch, waits).analyse(subject);
    expect(waits).toEqual([]);
    expect(result.analyser).toBe("local");
    expect(result.note).toMatch(/OpenAI API error 429: asked to retry after 120 s, beyond the \d+ s left/);
  });

  it("fails fast on a 400: one request, no wait, the local analysis with the API's message", async () => {
    const waits: number[] = [];
    const server = openaiServer([{ status: 400, body: errors["bad-request"] }]);
    const result = await analyser(server.fetch, waits).analyse(subject);
    expect(server.requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(result.analyser).toBe("local");
    expect(result.analysis).toEqual(localAnalysis(subject));
    expect(result.note).toMatch(/OpenAI API error 400: .*Invalid image URL/);
  });

  it("records a refusal", async () => {
    const refusal = structuredClone(valid);
    refusal.choices[0]!.message.content = null as unknown as string;
    (refusal.choices[0]!.message as { refusal: string | null }).refusal = "I can't help with that.";
    const result = await analyser(openaiServer([refusal]).fetch).analyse(subject);
    expect(result.analyser).toBe("local");
    expect(result.note).toBe("used the local analysis: the model refused: I cant help with that.");
  });
});

describe("reading a vision reply", () => {
  it("accepts plain JSON, normalises colours to uppercase #RRGGBB and drops repeats", () => {
    const reading = readVisionReply(JSON.stringify({ ...expected, colors: ["#abc", "1f6f78", "#1F6F78"] }));
    expect(reading).toEqual({ ok: true, analysis: { ...expected, colors: ["#AABBCC", "#1F6F78"] } });
  });

  it("names missing fields by path", () => {
    const reading = readVisionReply(JSON.stringify({ character_description: "x", colors: [] }));
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.errors.join("; ")).toMatch(/product_features: .*; style: .*; environment: /);
  });

  it("refuses an empty reply", () => {
    expect(readVisionReply("  ")).toEqual({ ok: false, errors: ["the reply was empty"] });
  });
});

describe("retry delays", () => {
  it("prefers retry-after-ms, then Retry-After seconds or date, then exponential backoff", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryDelayMs(new Headers({ "retry-after-ms": "250", "retry-after": "9" }), 1, 1000, now)).toBe(250);
    expect(retryDelayMs(new Headers({ "retry-after": "3" }), 1, 1000, now)).toBe(3000);
    expect(retryDelayMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), 1, 1000, now)).toBe(5000);
    expect([1, 2, 3].map((attempt) => retryDelayMs(new Headers(), attempt, 1000, now))).toEqual([1000, 2000, 4000]);
  });
});

describe("choosing the analyser", () => {
  const openai = { apiKey: "sk-test", baseUrl: "https://openai.test/v1", plannerModel: "gpt-4.1-mini", visionModel: "gpt-4.1", timeoutMs: 5000 };

  it("is local unless config.analyser says openai", async () => {
    expect(createAnalyser({ analyser: "local", openai }).name).toBe("local");
    const server = openaiServer([valid]);
    const chosen = createAnalyser({ analyser: "openai", openai }, server.fetch);
    expect(chosen.name).toBe("openai");
    await chosen.analyse(subject);
    expect(server.requests[0]!.body.model).toBe("gpt-4.1");
  });

  it("the local analyser measures colours and takes the subject from the spec's facts", async () => {
    const local = createAnalyser({ analyser: "local", openai });
    const result = await local.analyse({ ...subject, imageUrl: () => Promise.reject(new Error("the local analyser must not ask for the image")) });
    expect(result).toEqual({ analysis: localAnalysis(subject), analyser: "local" });
    expect(result.analysis.colors).toEqual(["#1F6F78", "#F2C14E", "#F7F3E9"]);
    expect(result.analysis.product_features).toBe("a teal water bottle, colours #1F6F78, #F2C14E, #F7F3E9");
  });
});
