import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { liveReload, type LiveReload, type Server, serversFor } from "./live-reload.ts";

describe("which servers a change restarts", () => {
  it("follows the folder the file is in: shared code restarts both, tests and docs nothing", () => {
    expect(serversFor("worker/run/video-run.ts")).toEqual(["worker"]);
    expect(serversFor("public/page.js")).toEqual(["worker"]);
    expect(serversFor("wrangler.toml")).toEqual(["worker"]);
    expect(serversFor("media-node/video/normalize.ts")).toEqual(["media-node"]);
    expect(serversFor("contracts/media.ts")).toEqual(["worker", "media-node"]);
    expect(serversFor("lib/color.ts")).toEqual(["worker", "media-node"]);
    for (const path of ["worker/run/ledger.test.ts", "docs/BENCHMARKS.md", "README.md", "test/e2e.test.ts", "bench/load.ts", "scripts/stack.ts"]) expect(serversFor(path), path).toEqual([]);
  });
});

describe("live reload", () => {
  let root: string;
  let reload: LiveReload | null = null;
  afterEach(() => {
    reload?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("restarts the servers a saved file calls for, one restart at a time, and changes made meanwhile once more after it", async () => {
    root = mkdtempSync(join(tmpdir(), "live-reload-"));
    for (const folder of ["worker", "public", "media-node", "contracts", "lib"]) mkdirSync(join(root, folder));
    const calls: [Server, string][] = [];
    let running = 0;
    let most = 0;
    // The first restart is held until the test lets it go; later ones end at once.
    let hold: Promise<void> | null = null;
    let release: () => void = () => undefined;
    let heard: () => void = () => undefined;
    const until = (done: () => boolean) =>
      new Promise<void>((resolve) => {
        heard = () => done() && resolve();
        heard();
      });
    hold = new Promise<void>((resolve) => (release = resolve));
    reload = liveReload(root, async (server, because) => {
      running++;
      most = Math.max(most, running);
      calls.push([server, because]);
      heard();
      await hold;
      running--;
    });
    const contracts = join("contracts", "media.ts");
    const worker = join("worker", "index.ts");
    writeFileSync(join(root, contracts), "export const a = 1;\n");
    await until(() => calls.length > 0);
    // Shared code: the Worker first.
    expect(calls[0]).toEqual(["worker", contracts]);
    // A change while it restarts is gathered, not started beside it.
    writeFileSync(join(root, worker), "export {};\n");
    release();
    hold = null;
    await until(() => calls.some(([s, b]) => s === "media-node" && b === contracts) && calls.some(([s, b]) => s === "worker" && b === worker));
    expect(most).toBe(1);
    // The Worker's second restart came after the first one ended, for the file changed meanwhile.
    expect(calls.findIndex(([s, b]) => s === "worker" && b === worker)).toBeGreaterThan(0);
  });
});
