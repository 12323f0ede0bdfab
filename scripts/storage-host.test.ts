import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { presignR2Url } from "../worker/media/presigned-url.ts";
import { startStorageHost, type TestStorageHost } from "../test/support/storage-host.ts";

/** The storage host as the stack starts it (scripts/storage-host.ts), over real HTTP. */

const started: TestStorageHost[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const host of started.splice(0)) await host.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the storage host", () => {
  it("serves at once on a state directory whose previous storage host crashed", async () => {
    dir = mkdtempSync(join(tmpdir(), "adreel-storage-host-"));
    const keys = { accessKeyId: "storage-test", secretAccessKey: "storage-test-secret" };
    const crashed = await startStorageHost(dir, keys);
    started.push(crashed);
    // A crash (kill -9, the OOM killer): nothing withdraws its dev-registry entries, and Miniflare
    // keeps electing it, a dead address, until its entry is 10 s old.
    const exited = new Promise((resolve) => crashed.child.once("exit", resolve));
    process.kill(-crashed.child.pid!, "SIGKILL");
    await exited;
    const next = await startStorageHost(dir, keys);
    started.push(next);
    const stored = await fetch(await presignR2Url(next.credentials, "videos/after-crash.txt", "put", 60), { method: "PUT", body: "bytes" });
    expect(stored.status, await stored.clone().text()).toBe(200);
    const read = await fetch(await presignR2Url(next.credentials, "videos/after-crash.txt", "get", 60));
    expect(await read.text()).toBe("bytes");
  }, 60_000);
});
