import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "./free-port.ts";
import { servesStorage, storageRegistered, withdrawDeadEntries, withSharedStorage } from "./shared-storage.ts";

/** The registry as Miniflare writes it (a JSON file per Worker and per storage candidate), read back by the election rule. */

let dir: string;
const registry = () => join(dir, "dev-registry");
const write = (name: string, entry: object) => writeFileSync(join(registry(), name), JSON.stringify(entry));
const tick = () => new Promise((r) => setTimeout(r, 20));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "adreel-shared-storage-"));
  mkdirSync(join(dir, "v3"), { recursive: true });
  mkdirSync(registry());
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("servesStorage", () => {
  it("names the candidate registered first for this state directory, whatever its name", async () => {
    const scope = realpathSync(join(dir, "v3"));
    // Registered first, though its name sorts last.
    write("__miniflare_storage_candidate__-ffff", { debugPortAddress: "127.0.0.1:1001", storageScope: scope });
    await tick();
    write("__miniflare_storage_candidate__-0000", { debugPortAddress: "127.0.0.1:1002", storageScope: scope });
    write("adreel-storage", { debugPortAddress: "127.0.0.1:1001" });
    write("adreel", { debugPortAddress: "127.0.0.1:1002" });
    expect(servesStorage(dir, "adreel-storage")).toBe(true);
    expect(servesStorage(dir, "adreel")).toBe(false);
  });

  it("ignores candidates of another state directory", async () => {
    write("__miniflare_storage_candidate__-aaaa", { debugPortAddress: "127.0.0.1:1003", storageScope: "/elsewhere/v3" });
    await tick();
    write("__miniflare_storage_candidate__-bbbb", { debugPortAddress: "127.0.0.1:1002", storageScope: realpathSync(join(dir, "v3")) });
    write("adreel", { debugPortAddress: "127.0.0.1:1002" });
    expect(servesStorage(dir, "adreel")).toBe(true);
  });
});

describe("withSharedStorage", () => {
  it("turns shared storage on over options converted from Miniflare 4's shape, which drops it", () => {
    const options = withSharedStorage({ workers: [] } as never, dir);
    expect(options).toMatchObject({ unsafeEnableSharedStorage: true, enableDevRegistry: true, resourcePersistencePath: join(dir, "v3"), isolatedResourcePersistencePath: join(dir, "v3"), unsafeDevRegistryPath: registry() });
  });
});

describe("withdrawDeadEntries", () => {
  it("withdraws the entries whose debug port refuses connections and keeps the live ones", async () => {
    const live = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => live.once("listening", r));
    try {
      const liveAddress = `127.0.0.1:${(live.address() as AddressInfo).port}`;
      const deadAddress = `127.0.0.1:${await freePort()}`;
      const scope = realpathSync(join(dir, "v3"));
      write("__miniflare_storage_candidate__-dead", { debugPortAddress: deadAddress, storageScope: scope });
      write("adreel-storage", { debugPortAddress: deadAddress });
      write("__miniflare_storage_candidate__-live", { debugPortAddress: liveAddress, storageScope: scope });
      write("adreel", { debugPortAddress: liveAddress });
      expect((await withdrawDeadEntries(dir)).sort()).toEqual(["__miniflare_storage_candidate__-dead", "adreel-storage"]);
      expect(readdirSync(registry()).sort()).toEqual(["__miniflare_storage_candidate__-live", "adreel"]);
    } finally {
      live.close();
    }
  });
});

describe("storageRegistered", () => {
  it("waits for a candidate of this state directory whose workerd listens; a dead one or another directory's does not count", async () => {
    const scope = realpathSync(join(dir, "v3"));
    write("__miniflare_storage_candidate__-dead", { debugPortAddress: `127.0.0.1:${await freePort()}`, storageScope: scope });
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const live = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      write("__miniflare_storage_candidate__-elsewhere", { debugPortAddress: live, storageScope: "/elsewhere/v3" });
      await expect(storageRegistered(dir, 300)).rejects.toThrow(/no storage host registered/);
      const waiting = storageRegistered(dir, 10_000);
      write("__miniflare_storage_candidate__-live", { debugPortAddress: live, storageScope: scope });
      await expect(waiting).resolves.toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
