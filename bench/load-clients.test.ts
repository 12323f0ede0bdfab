import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PollerProcess } from "./load-clients.ts";

/** The pollers' process against a server answering as the Worker's status route does (worker/api/server-timing.ts). */
describe("PollerProcess", () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "server-timing": "app;dur=3.0, run;dur=2.5" });
    res.end("{}");
  });
  let url: string;
  let pollers: PollerProcess;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/status/v`;
    pollers = new PollerProcess();
  });
  afterAll(async () => {
    await pollers.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("keeps every part of each answer's Server-Timing, not only the first", async () => {
    const result = await pollers.sequence(url, {}, 3);
    expect(result.errors).toEqual([]);
    expect(result.latencies).toHaveLength(3);
    for (const timing of result.server) expect(timing).toMatchObject({ app: 3, run: 2.5 });
  });
});
