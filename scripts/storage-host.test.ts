import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { presignR2Url, type R2Credentials } from "../worker/media/presigned-url.ts";
import { freePort, MEDIA_BUCKET, ROOT } from "./stack.ts";

/** The storage host as the stack starts it (scripts/storage-host.ts), over real HTTP. */

const started: ChildProcess[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once("exit", resolve).kill("SIGTERM"));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startStorageHost(stateDir: string, credentials: Pick<R2Credentials, "accessKeyId" | "secretAccessKey">): Promise<{ child: ChildProcess; endpoint: string }> {
  const port = await freePort();
  const child = spawn(join(ROOT, "node_modules", ".bin", "node"), [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "scripts", "storage-host.ts"), "--port", String(port), "--persist-to", stateDir, "--bucket", MEDIA_BUCKET], {
    env: { ...process.env, R2_ACCESS_KEY_ID: credentials.accessKeyId, R2_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    // Its own process group, as the stack runs it, so that a crash takes its workerd too.
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`the storage host exited with ${code}`)));
  });
  return { child, endpoint: `http://127.0.0.1:${port}/cdn-cgi/local/r2/s3` };
}

describe("the storage host", () => {
  it("serves at once on a state directory whose previous storage host crashed", async () => {
    dir = mkdtempSync(join(tmpdir(), "adreel-storage-host-"));
    const keys = { accessKeyId: "storage-test", secretAccessKey: "storage-test-secret" };
    const crashed = await startStorageHost(dir, keys);
    // A crash (kill -9, the OOM killer): nothing withdraws its dev-registry entries, and Miniflare
    // keeps electing it, a dead address, until its entry is 10 s old.
    process.kill(-crashed.child.pid!, "SIGKILL");
    await new Promise((resolve) => crashed.child.once("exit", resolve));
    const { endpoint } = await startStorageHost(dir, keys);
    const local: R2Credentials = { accountId: "local", ...keys, bucket: MEDIA_BUCKET, endpoint };
    const stored = await fetch(await presignR2Url(local, "videos/after-crash.txt", "put", 60), { method: "PUT", body: "bytes" });
    expect(stored.status, await stored.clone().text()).toBe(200);
    const read = await fetch(await presignR2Url(local, "videos/after-crash.txt", "get", 60));
    expect(await read.text()).toBe("bytes");
  }, 60_000);
});
