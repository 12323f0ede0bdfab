import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { freePort } from "./free-port.ts";

describe("the ports the stack names before its servers bind them", () => {
  it("are drawn below the kernel's ephemeral range, which every port-0 bind (each workerd's sockets) draws from, and once each", async () => {
    const rangeStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(rangeStart);
    }
  });
});
