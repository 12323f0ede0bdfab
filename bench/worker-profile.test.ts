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
    expect(profile.longTasks).toEqual([]);
  });

  it("times busy runs between idle samples by the profile's deltas and names the work of each long one", () => {
    const nodes = [
      { id: 1, callFrame: frame("(root)"), children: [2, 5, 6] },
      { id: 2, callFrame: frame("queue"), children: [3] },
      { id: 3, callFrame: frame("(anonymous)"), children: [4] },
      { id: 4, callFrame: frame("stringify") },
      { id: 5, callFrame: frame("(idle)") },
      { id: 6, callFrame: frame("status") },
    ];
    // µs before each sample: a 60 ms run of queue work, idle, a 20 ms run of status, idle, then 90 ms of status.
    const samples = [5, 4, 4, 3, 5, 6, 6, 5, 6, 6];
    const deltas = [1000, 1000, 30_000, 30_000, 1000, 1000, 20_000, 1000, 1000, 90_000];
    // Sampled every 50 ms: none of these deltas is a gap.
    const profile = summarizeProfile(nodes, samples, 1, 10, deltas, 50_000);
    expect(profile.longTasks).toEqual([
      { ms: 90, functions: ["status"] },
      { ms: 60, functions: ["queue", "stringify"] },
    ]);
    expect(profile.longTaskCount).toBe(2);
    expect(profile.longTaskMs).toBe(150);
    expect(profile.busySeconds).toBeCloseTo(0.17, 5);
  });

  it("breaks a run where no sample was taken for longer than a few sampling intervals (the isolate ran nothing)", () => {
    const nodes = [
      { id: 1, callFrame: frame("(root)"), children: [2, 3] },
      { id: 2, callFrame: frame("status") },
      { id: 3, callFrame: frame("jobDone") },
    ];
    // Sampled every 1 ms: 60 ms of jobDone, then 300 ms without a sample, then 10 ms of status.
    const samples = [3, ...Array(60).fill(3), ...Array(11).fill(2)];
    const deltas = [1000, ...Array(60).fill(1000), 300_000, ...Array(10).fill(1000)];
    const profile = summarizeProfile(nodes, samples, 1, 10, deltas, 1000);
    expect(profile.longTasks).toEqual([{ ms: 60, functions: ["jobDone"] }]);
    expect(profile.busySeconds).toBeCloseTo(0.07, 5);
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
