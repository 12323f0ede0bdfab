import { describe, expect, it } from "vitest";
import { listeningPorts, summarizeProfile } from "./worker-profile.ts";
import { createServer } from "node:http";

const frame = (functionName: string) => ({ functionName, url: "", lineNumber: 0 });

describe("summarizeProfile", () => {
  it("shares each function's samples inclusive of its callees, once per sample however deep it recurs", () => {
    const nodes = [
      { id: 1, callFrame: frame("(root)"), children: [2, 5] },
      { id: 2, callFrame: frame("status"), children: [3] },
      { id: 3, callFrame: frame("secondsLeft"), children: [4] },
      { id: 4, callFrame: frame("status") },
      { id: 5, callFrame: frame("(idle)") },
    ];
    const profile = summarizeProfile(nodes, [4, 3, 2, 5], 1, 10);
    expect(profile.idle).toBe(0.25);
    expect(profile.top).toEqual([
      { name: "status", inclusive: 0.75, self: 0.5 },
      { name: "secondsLeft", inclusive: 0.5, self: 0.25 },
    ]);
  });
});

describe("listeningPorts", () => {
  it("finds the port this process listens on", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      expect(listeningPorts(process.pid)).toContain(port);
    } finally {
      server.close();
    }
  });
});
