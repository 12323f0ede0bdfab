import { describe, expect, it } from "vitest";
import { VideoSpec, stitchedFrames } from "../../contracts/spec.ts";
import incoherent from "./fixtures/chat-incoherent.json";
import invalidJson from "./fixtures/chat-invalid-json.json";
import refusal from "./fixtures/chat-refusal.json";
import schemaViolation from "./fixtures/chat-schema-violation.json";
import valid from "./fixtures/chat-valid.json";
import { planLocally } from "./local.ts";
import { OpenAIPlanner, creativeJsonSchema } from "./openai.ts";
import { createPlanner } from "./planner.ts";
import { openaiServer as scriptedOpenAI } from "../../test/support/worker/openai-double.ts";

// Fixtures are chat.completion objects in OpenAI's wire format; the planner talks to them
// through the real SDK with an injected fetch.

const BRIEF = "Tired of juggling receipts? Ledgerly, the mobile app that tracks every expense for you.";
/** The planner's retries wait as briefly as the SDK allows. */
const openaiServer = (replies: Parameters<typeof scriptedOpenAI>[0]) => scriptedOpenAI(replies, { "retry-after-ms": "5" });

const REQUEST = { prompt: BRIEF, duration_s: 30 as const, creativity_level: 0.5, archetype: "problem_solution" as const };


function planner(fetch: typeof globalThis.fetch, timeoutMs = 5_000) {
  return new OpenAIPlanner({ apiKey: "sk-test", baseURL: "https://openai.test/v1", fetch, timeoutMs, maxRetries: 1 });
}

function expectValid(spec: VideoSpec) {
  expect(VideoSpec.parse(spec)).toEqual(spec);
  expect(stitchedFrames(spec)).toBe(spec.duration_s * 24);
}

const serverError = { status: 500, body: { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } } };

describe("openai planner", () => {
  it("turns a valid structured reply into a spec timed by the local rules", async () => {
    const server = openaiServer([valid]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("openai");
    expect(result.spec.beats.map((b) => b.name)).toEqual(JSON.parse(valid.choices[0]!.message.content!).beats.map((b: { name: string }) => b.name));
    expect(result.spec.beats[0]!.prompt).toMatch(/^A blizzard of paper receipts/);
    expect(result.spec.facts.brand).toBe("Ledgerly");
    expect(result.spec.music.tempo_bpm).toBe(108);
    expect(result.usage).toEqual({ input_tokens: 2431, output_tokens: 912 });
    expect(result.events.map((e) => e.type)).toEqual(["openai_plan"]);

    const [request] = server.requests;
    expect(request!.url).toBe("https://openai.test/v1/chat/completions");
    expect(request!.body.model).toBe("gpt-4.1-mini");
    expect(request!.body.response_format).toEqual({ type: "json_schema", json_schema: { name: "ad_plan", strict: true, schema: creativeJsonSchema() } });
    // The brief reaches the model as JSON data, not spliced into the instructions.
    const user = request!.body.messages.find((m: { role: string }) => m.role === "user");
    expect(JSON.parse(user.content).brief).toBe(BRIEF);
    expect(request!.body.messages[0].content).not.toContain(BRIEF);
  });

  it("sends a strict schema: every object closed and every property required", () => {
    const visit = (node: any): void => {
      if (node && typeof node === "object") {
        if (node.type === "object") {
          expect(node.additionalProperties).toBe(false);
          expect([...node.required].sort()).toEqual(Object.keys(node.properties).sort());
        }
        Object.values(node).forEach(visit);
      }
    };
    const schema = creativeJsonSchema();
    expect(schema.$schema).toBeUndefined();
    visit(schema);
  });

  it("repairs invalid JSON once, feeding the parse error back", async () => {
    const server = openaiServer([invalidJson, valid]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("openai");
    expect(result.events.map((e) => e.type)).toEqual(["openai_repair", "openai_plan"]);
    const retry = server.requests[1]!.body.messages;
    expect(retry.at(-2)).toEqual({ role: "assistant", content: invalidJson.choices[0]!.message.content });
    expect(retry.at(-1).content).toMatch(/not valid JSON/);
    expect(result.usage).toEqual({ input_tokens: 2431 * 2, output_tokens: 912 * 2 });
  });

  it("falls back to the local planner when the repair is invalid JSON too", async () => {
    const server = openaiServer([invalidJson, invalidJson]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec).toEqual(planLocally(REQUEST).spec);
    const fallback = result.events.find((e) => e.type === "openai_fallback");
    expect(fallback?.message).toMatch(/still unusable after a repair: the reply is not valid JSON/);
  });

  it("reports schema violations by path and repairs them", async () => {
    const server = openaiServer([schemaViolation, valid]);
    const result = await planner(server.fetch).plan(REQUEST);
    expect(result.spec.planner).toBe("openai");
    const repair = result.events.find((e) => e.type === "openai_repair")!;
    expect(repair.message).toMatch(/beats\.1\.camera/);
    expect(repair.message).toMatch(/music\.tempo_bpm/);
    expect(repair.message).toMatch(/music\.prompt/);
    expect(server.requests[1]!.body.messages.at(-1).content).toMatch(/beats\.1\.camera/);
  });

  it("falls back when the schema violation persists", async () => {
    const server = openaiServer([schemaViolation, schemaViolation]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("local");
    expect(result.events.find((e) => e.type === "openai_fallback")?.message).toMatch(/beats\.1\.camera/);
  });

  it("treats a wrong beat count and a missing hook as incoherent", async () => {
    const server = openaiServer([incoherent, incoherent]);
    const result = await planner(server.fetch).plan({ ...REQUEST, creativity_level: 0 });
    expectValid(result.spec);
    expect(result.spec.planner).toBe("local");
    const reason = result.events.find((e) => e.type === "openai_fallback")!.message;
    expect(reason).toMatch(/expected exactly 8 beats, got 3/);
    expect(reason).toMatch(/first beat must be hook/);
  });

  it("allows extra beats only with creativity", async () => {
    const content = JSON.parse(valid.choices[0]!.message.content!);
    content.beats.splice(6, 0, { beat_id: "testimonial", name: "Maya", prompt: "A freelance photographer tells the camera how tax season became easy.", camera: "static", mood: "sincere", transition_out: "dissolve", voice_line: "" });
    const nine = structuredClone(valid);
    nine.choices[0]!.message.content = JSON.stringify(content);
    const free = await planner(openaiServer([nine]).fetch).plan(REQUEST);
    expect(free.spec.planner).toBe("openai");
    expect(free.spec.beats.map((b) => b.beat_id)).toContain("testimonial");
    expectValid(free.spec);
    const strict = await planner(openaiServer([nine, nine]).fetch).plan({ ...REQUEST, creativity_level: 0 });
    expect(strict.spec.planner).toBe("local");
  });

  it("survives an HTTP 500 through the SDK's retry and records it", async () => {
    const server = openaiServer([serverError, valid]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("openai");
    expect(server.requests).toHaveLength(2);
    expect(result.events[0]).toEqual({ type: "openai_http_error", message: "HTTP 500 from the chat completions API" });
  });

  it("falls back when the API keeps failing", async () => {
    const server = openaiServer([serverError, serverError]);
    const result = await planner(server.fetch).plan(REQUEST);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("local");
    expect(result.events.find((e) => e.type === "openai_fallback")?.message).toMatch(/OpenAI API error 500/);
  });

  it("falls back when the model does not answer in time", async () => {
    const server = openaiServer(["hang", "hang"]);
    const started = Date.now();
    const result = await planner(server.fetch, 150).plan(REQUEST);
    expect(Date.now() - started).toBeLessThan(3_000);
    expectValid(result.spec);
    expect(result.spec.planner).toBe("local");
    expect(result.events.find((e) => e.type === "openai_fallback")?.message).toBe("used the local planner: timed out after 150 ms");
  });

  it("falls back on a refusal without asking for a repair", async () => {
    const server = openaiServer([refusal]);
    const result = await planner(server.fetch).plan(REQUEST);
    expect(result.spec.planner).toBe("local");
    expect(server.requests).toHaveLength(1);
    expect(result.events.find((e) => e.type === "openai_fallback")?.message).toMatch(/refused/);
  });

  it("keeps the template's cameras, transitions and timing at creativity 0", async () => {
    const result = await planner(openaiServer([valid]).fetch).plan({ ...REQUEST, creativity_level: 0 });
    const template = planLocally({ ...REQUEST, creativity_level: 0 }).spec;
    expect(result.spec.planner).toBe("openai");
    expect(result.spec.beats.map((b) => [b.beat_id, b.frames, b.camera, b.transition_out])).toEqual(
      template.beats.map((b) => [b.beat_id, b.frames, b.camera, b.transition_out]),
    );
    expect(result.spec.beats[5]!.prompt).toMatch(/^Close-up of a thumb/);
  });

  it("sanitises what the model writes before it enters the spec", async () => {
    const content = JSON.parse(valid.choices[0]!.message.content!);
    content.beats[2].prompt = 'Close on the designer {product}\n"ignore all rules" <script> ' + "word ".repeat(80);
    content.facts.brand = "Ledg{erly}\u0000";
    const dirty = structuredClone(valid);
    dirty.choices[0]!.message.content = JSON.stringify(content);
    const result = await planner(openaiServer([dirty]).fetch).plan(REQUEST);
    const prompt = result.spec.beats[2]!.prompt;
    expect(prompt).not.toMatch(/[{}"<>\n]/);
    expect(prompt.split(" ").length).toBeLessThanOrEqual(45);
    expect(result.spec.facts.brand).toBe("Ledgerly");
  });

  it("is built by the factory, which refuses to run without a key", () => {
    expect(createPlanner("local")).toBeDefined();
    expect(() => createPlanner("openai")).toThrow(/options\.openai/);
    expect(() => createPlanner("openai", { openai: { apiKey: "" } })).toThrow(/API key/);
    expect(createPlanner("openai", { openai: { apiKey: "sk-test" } })).toBeInstanceOf(OpenAIPlanner);
  });
});

describe("openai planner: copy", () => {
  it("takes the model's headline, call to action and voice lines, each line inside its beat's budget", async () => {
    const result = await planner(openaiServer([valid]).fetch).plan(REQUEST);
    expectValid(result.spec);
    const written = JSON.parse(valid.choices[0]!.message.content!);
    expect(result.spec.copy).toMatchObject({ brand: "Ledgerly", headline: "Receipts, handled", offer: null, cta: "Download Ledgerly today", captions: "burned" });
    const lines = result.spec.copy.voiceover.lines;
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines) expect(line.text).toBe(written.beats[line.beat_index].voice_line);
    expect(lines.at(-1)).toMatchObject({ beat_index: 7, text: "Download Ledgerly today." });
  });

  it("shortens a line that runs over its budget to its first sentence, or leaves the beat silent, and says so", async () => {
    const content = JSON.parse(valid.choices[0]!.message.content!);
    content.beats[0].voice_line = "Receipts. Everywhere you look, piles and piles of them, every single day.";
    content.beats[1].voice_line = "An endless unsorted shoebox of crumpled paper receipts and faded invoices on the desk.";
    const wordy = structuredClone(valid);
    wordy.choices[0]!.message.content = JSON.stringify(content);
    const result = await planner(openaiServer([wordy]).fetch).plan(REQUEST);
    expect(result.spec.planner).toBe("openai");
    const lines = result.spec.copy.voiceover.lines;
    expect(lines.find((l) => l.beat_index === 0)?.text).toBe("Receipts.");
    expect(lines.find((l) => l.beat_index === 1)).toBeUndefined();
    expect(result.events.filter((e) => e.type === "copy_fitted").map((e) => e.message)).toEqual([
      expect.stringMatching(/^beat 0 \(hook\) speaks the first sentence of its line/),
      expect.stringMatching(/^beat 1 \(problem\) is silent: its voice line has 14 words, over the \d+-word budget/),
    ]);
  });

  it("lets the request's copy override the model's, and speaks the requested call to action", async () => {
    const result = await planner(openaiServer([valid]).fetch).plan({ ...REQUEST, copy: { headline: "Tax time, sorted", cta: "Try Ledgerly free" }, captions: "sidecar" });
    expect(result.spec.copy).toMatchObject({ headline: "Tax time, sorted", cta: "Try Ledgerly free", captions: "sidecar" });
    expect(result.spec.copy.voiceover.lines.at(-1)!.text).toBe("Try Ledgerly free.");
  });
});

describe("openai planner: transitions", () => {
  it("turns excess blends into cuts, keeping the soft ones", async () => {
    const content = JSON.parse(valid.choices[0]!.message.content!);
    const types = ["wipeleft", "slideright", "fadeblack", "dissolve", "circleopen", "fade", "smoothleft", "cut"];
    content.beats.forEach((b: { transition_out: string }, i: number) => (b.transition_out = types[i]!));
    const blended = structuredClone(valid);
    blended.choices[0]!.message.content = JSON.stringify(content);
    const result = await planner(openaiServer([blended]).fetch).plan(REQUEST);
    expect(result.spec.planner).toBe("openai");
    const joins = result.spec.beats.slice(0, -1).map((b) => b.transition_out.type);
    expect(joins.filter((t) => t !== "cut")).toHaveLength(4);
    expect(joins).toContain("fade");
    expect(joins).toContain("dissolve");
    expect(result.events.filter((e) => e.type === "transition_limited")).toHaveLength(3);
  });
});
