import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processTree } from "../bench/process-tree.ts";
import { type Stack, startStack } from "./stack.ts";

/** The local stack's own behaviour when one of its servers goes away (the product's runs are test/e2e.test.ts's). */

let dir: string;
let stack: Stack;
const exits: { server: string; how: string; lastOutput: string }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-stack-"));
  stack = await startStack({ stateDir: dir, provider: { OPENAI_API_KEY: "sk-stack-test-openai-key" }, onServerExit: (server, how, lastOutput) => exits.push({ server, how, lastOutput }) });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the stack's secrets", () => {
  it("stay off its processes' command lines, which every user can read (/proc/<pid>/cmdline)", () => {
    const secrets = [...Object.values(stack.secrets), "sk-stack-test-openai-key"];
    const pids = Object.values(stack.pids()).filter((pid): pid is number => pid !== null);
    const commandLines = pids.flatMap((pid) => processTree(pid)).map((p) => readFileSync(`/proc/${p.pid}/cmdline`, "utf8").replaceAll("\0", " "));
    expect(commandLines.length).toBeGreaterThanOrEqual(4);
    for (const line of commandLines) {
      // R2's S3 key pair is made for each stack and not in Stack: its name is enough.
      expect(line).not.toMatch(/R2_SECRET_ACCESS_KEY|OPENAI_API_KEY/);
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });
});

describe("a server that exits while the stack runs", () => {
  it("is reported when it crashes, and not when the stack restarts it", async () => {
    await stack.restartWorker();
    await stack.stopMediaNode();
    await stack.startMediaNode();
    expect(exits).toEqual([]);
    process.kill(-stack.pids().storage!, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while (exits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(exits).toEqual([{ server: "the storage host", how: "SIGKILL", lastOutput: expect.stringContaining("adreel storage ready") }]);
  });
});

describe("the Worker's inspector", () => {
  it("is on a port workerd picks: a port taken before workerd binds it hangs Miniflare's start without a word", () => {
    const commandLines = processTree(stack.pids().worker!).map((p) => readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0"));
    const inspector = commandLines.flat().filter((arg) => arg.startsWith("--inspector-addr="));
    expect(inspector).toEqual(["--inspector-addr=127.0.0.1:0"]);
  });
});
