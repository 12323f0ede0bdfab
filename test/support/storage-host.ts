import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { R2Credentials } from "../../worker/media/presigned-url.ts";
import { freePort } from "../../scripts/free-port.ts";
import { MEDIA_BUCKET, ROOT } from "../../scripts/stack.ts";

/** The local stack's storage host (scripts/storage-host.ts) as a test runs it, on a state directory the test owns. */
export interface TestStorageHost {
  child: ChildProcess;
  /** Its R2 S3 API with the key pair it was started with, for presignR2Url. */
  credentials: R2Credentials;
  /** SIGTERM to its process group (its workerd too), resolved once it has exited. */
  stop(): Promise<void>;
}

export async function startStorageHost(stateDir: string, keys: Pick<R2Credentials, "accessKeyId" | "secretAccessKey">): Promise<TestStorageHost> {
  const port = await freePort();
  const child = spawn(join(ROOT, "node_modules", ".bin", "node"), [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "scripts", "storage-host.ts"), "--port", String(port), "--persist-to", stateDir, "--bucket", MEDIA_BUCKET], {
    // The key pair in the environment, as the stack passes it.
    env: { ...process.env, R2_ACCESS_KEY_ID: keys.accessKeyId, R2_SECRET_ACCESS_KEY: keys.secretAccessKey },
    // Its own process group, as the stack runs it: a signal to the group reaches its workerd too.
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("adreel storage ready") && resolve());
    child.once("exit", (code) => reject(new Error(`the storage host exited with ${code}`)));
  });
  return {
    child,
    credentials: { accountId: "local", ...keys, bucket: MEDIA_BUCKET, endpoint: `http://127.0.0.1:${port}/cdn-cgi/local/r2/s3` },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    },
  };
}
