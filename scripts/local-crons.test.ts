import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { resolve } from "node:path";
import { cronDue } from "./local-crons.ts";

const at = (iso: string) => new Date(iso);

describe("cronDue (the local stack's cron triggers)", () => {
  it("runs wrangler.toml's crons, every one of them readable", () => {
    const crons = unstable_readConfig({ config: resolve(import.meta.dirname, "..", "wrangler.toml") }).triggers.crons ?? [];
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of crons) expect(() => cronDue(cron, at("2026-12-06T11:00:00Z"))).not.toThrow();
  });

  it("matches steps, ranges and lists in UTC", () => {
    expect(cronDue("*/10 * * * *", at("2026-12-06T11:20:00Z"))).toBe(true);
    expect(cronDue("*/10 * * * *", at("2026-12-06T11:20:59Z"))).toBe(true);
    expect(cronDue("*/10 * * * *", at("2026-12-06T11:21:00Z"))).toBe(false);
    expect(cronDue("5-20/5 9,17 * * *", at("2026-12-06T17:15:00Z"))).toBe(true);
    expect(cronDue("5-20/5 9,17 * * *", at("2026-12-06T17:25:00Z"))).toBe(false);
    expect(cronDue("5-20/5 9,17 * * *", at("2026-12-06T10:15:00Z"))).toBe(false);
  });

  it("takes either day field when both are restricted, and 7 as Sunday", () => {
    // 2026-12-06 is a Sunday.
    expect(cronDue("0 0 1 * 0", at("2026-12-06T00:00:00Z"))).toBe(true);
    expect(cronDue("0 0 1 * 7", at("2026-12-01T00:00:00Z"))).toBe(true);
    expect(cronDue("0 0 1 * 7", at("2026-12-02T00:00:00Z"))).toBe(false);
    expect(cronDue("0 0 * * 1", at("2026-12-06T00:00:00Z"))).toBe(false);
  });

  it("refuses what it does not run, naming the field", () => {
    expect(() => cronDue("0 0 * JAN-JUN FRI", at("2026-12-06T00:00:00Z"))).toThrow(/month field "JAN-JUN"/);
    expect(() => cronDue("0 0 LW * *", at("2026-12-06T00:00:00Z"))).toThrow(/day of month field "LW"/);
    expect(() => cronDue("61 * * * *", at("2026-12-06T00:00:00Z"))).toThrow(/out of 0-59/);
    expect(() => cronDue("* * * *", at("2026-12-06T00:00:00Z"))).toThrow(/five fields/);
  });
});
