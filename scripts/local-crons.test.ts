import { resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { unstable_readConfig } from "wrangler";
import { cronDue, scheduleCrons } from "./local-crons.ts";

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

describe("scheduleCrons", () => {
  afterEach(() => vi.useRealTimers());

  it("fires each cron at the start of every UTC minute it is due, with that minute as its time, until stopped", () => {
    vi.useFakeTimers({ now: at("2026-12-06T11:09:30Z") });
    const fired: [string, string][] = [];
    const stop = scheduleCrons(["*/10 * * * *", "15 * * * *"], (cron, time) => fired.push([cron, new Date(time).toISOString()]));
    vi.advanceTimersByTime(30_000);
    expect(fired).toEqual([["*/10 * * * *", "2026-12-06T11:10:00.000Z"]]);
    vi.advanceTimersByTime(10 * 60_000);
    expect(fired).toEqual([
      ["*/10 * * * *", "2026-12-06T11:10:00.000Z"],
      ["15 * * * *", "2026-12-06T11:15:00.000Z"],
      ["*/10 * * * *", "2026-12-06T11:20:00.000Z"],
    ]);
    stop();
    vi.advanceTimersByTime(60 * 60_000);
    expect(fired).toHaveLength(3);
  });

  it("refuses a cron it cannot run when asked to schedule it, not a minute later", () => {
    expect(() => scheduleCrons(["0 0 * * MON"], () => undefined)).toThrow(/day of week field "MON"/);
  });
});
