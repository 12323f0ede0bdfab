import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Prediction } from "../contracts/prediction.ts";
import { DRAFT_DEFAULTS, pickKnobs } from "./options.ts";
import { type DraftTestServer, startDraftServer } from "../test/support/draft-server.ts";

// The fault knobs the end-to-end fault suite (test/faults) leans on, over real HTTP.

const TINY = { prompt: "abstract", width: 16, height: 16 };

let server: DraftTestServer;

beforeAll(async () => {
  server = await startDraftServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await server.api("/v1/_draft/config", { body: pickKnobs(DRAFT_DEFAULTS) });
});

async function create(): Promise<Prediction> {
  const answer = await server.api<Prediction>("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
  expect(answer.status).toBe(201);
  return answer.body;
}

describe("draft fault knobs", () => {
  test("getErrorRate 1 answers 500 on GET while the prediction itself is unharmed", async () => {
    const created = await create();
    await server.api("/v1/_draft/config", { body: { getErrorRate: 1 } });
    const got = await server.api<{ detail: string }>(`/v1/predictions/${created.id}`);
    expect(got.status).toBe(500);
    expect(got.body.detail).toBe("draft: injected get error");
    await server.api("/v1/_draft/config", { body: { getErrorRate: 0 } });
    expect((await server.api(`/v1/predictions/${created.id}`)).status).toBe(200);
  });

  test("malformedRate 1 garbles create and get answers in turn; the list still shows the real prediction", async () => {
    await server.api("/v1/_draft/config", { body: { malformedRate: 1 } });
    const answers = [];
    const created = await server.api<Record<string, unknown>>("/v1/predictions", { body: { version: "adreel/draft-image", input: TINY } });
    expect(created.status).toBe(201);
    answers.push(created.body);
    const listed = (await server.api<{ results: Prediction[] }>("/v1/predictions")).body.results[0]!;
    for (let i = 0; i < 2; i++) answers.push((await server.api<Record<string, unknown>>(`/v1/predictions/${listed.id}`)).body);
    // Each answer breaks the protocol differently, and none parses as a prediction.
    expect(answers[0]).not.toHaveProperty("status");
    expect(answers[1]!.status).toBe("reticulating");
    expect(answers[2]).not.toHaveProperty("id");
    for (const answer of answers) expect(Prediction.safeParse(answer).success).toBe(false);
    expect(Prediction.safeParse(listed).success).toBe(true);
  });

  test("hangRate 1 keeps a prediction processing without holding a render slot, until it is cancelled", async () => {
    await server.api("/v1/_draft/config", { body: { hangRate: 1, concurrency: 1 } });
    const stuck = await Promise.all([create(), create()]);
    await server.api("/v1/_draft/config", { body: { hangRate: 0 } });
    const normal = await create();
    const deadline = Date.now() + 10_000;
    while ((await server.api<Prediction>(`/v1/predictions/${normal.id}`)).body.status !== "succeeded") {
      if (Date.now() > deadline) throw new Error("a normal prediction never finished behind hanging ones");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const s of stuck) expect((await server.api<Prediction>(`/v1/predictions/${s.id}`)).body.status).toBe("processing");
    const cancelled = await server.api<Prediction>(`/v1/predictions/${stuck[0]!.id}/cancel`, { body: {} });
    expect(cancelled.body.status).toBe("canceled");
    expect((await server.api<Prediction>(`/v1/predictions/${stuck[1]!.id}`)).body.status).toBe("processing");
    await server.api(`/v1/predictions/${stuck[1]!.id}/cancel`, { body: {} });
  });
});
