import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount as Account } from "../../test/support/fake-wrangler-account.ts";

/**
 * scripts/deploy.sh against a recording stand-in for `wrangler` (test/support/fake-wrangler.ts)
 * placed first on PATH: what a dry run prints, what a real run asks Cloudflare to do, and what
 * it refuses.
 */

const ROOT = resolve(import.meta.dirname, "..", "..");
const SECRETS = ["MEDIA_NODE_SECRET", "MEDIA_SIGNING_SECRET", "WEBHOOK_SECRET", "REPLICATE_API_TOKEN", "ADMIN_TOKEN", "CALLBACK_SECRET", "R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"];
const PUBLIC = "https://adreel-production.example-team.workers.dev";


let dir: string;
let statePath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "adreel-deploy-"));
  statePath = join(dir, "account.json");
  const fake = join(dir, "wrangler");
  writeFileSync(fake, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "test", "support", "fake-wrangler.ts")}" "$@"\n`);
  chmodSync(fake, 0o755);
  setAccount({});
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function setAccount(over: Partial<Account>): void {
  writeFileSync(statePath, JSON.stringify({ d1: [], buckets: [], queues: [], secrets: [], workerDeployed: false, calls: [], ...over }));
}
const account = (): Account => JSON.parse(readFileSync(statePath, "utf8")) as Account;

function deploy(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync("bash", [join(ROOT, "scripts", "deploy.sh"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH}`, HOME: process.env.HOME ?? dir, FAKE_WRANGLER_STATE: statePath, ...env },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe("npm run deploy -- --dry-run", () => {
  it("lists every resource, migration and secret, and calls no wrangler command", () => {
    const { code, out } = deploy(["--dry-run"], { PUBLIC_BASE_URL: PUBLIC });
    expect(code).toBe(0);
    for (const line of [/D1 database\s+adreel \(binding DB\)/, /R2 bucket\s+adreel-media/, /R2 lifecycle\s+adreel-media: uploads\/ expires 1 day after upload \(rule adreel-staged-uploads/, /Queue\s+adreel-jobs\n/, /Queue\s+adreel-media\n/, /Queue\s+adreel-audio\n/, /Queue\s+adreel-jobs-dlq \(dead letters\)/]) expect(out).toMatch(line);
    expect(out).toContain("adreel: migrations/0000_init.sql");
    expect(out).toContain("adreel: migrations/0001_job_durations.sql");
    for (const secret of SECRETS) expect(out).toMatch(new RegExp(`^  ${secret}$`, "m"));
    expect(out).toContain(`PUBLIC_BASE_URL=${PUBLIC}`);
    expect(out).toContain("MediaNodeContainer");
    expect(account().calls).toEqual([]);
  });

  it("reports a missing PUBLIC_BASE_URL and exits non-zero", () => {
    const { code, out } = deploy(["--dry-run"]);
    expect(code).toBe(1);
    expect(out).toMatch(/Refused:\n\s+- PUBLIC_BASE_URL is not set/);
    expect(account().calls).toEqual([]);
  });
});

describe("npm run deploy", () => {
  it("refuses loopback and plain-http URLs, naming each, before touching Cloudflare", () => {
    const { code, out } = deploy([], { PUBLIC_BASE_URL: "http://127.0.0.1:8787", MEDIA_NODE_URL: "https://localhost:8788" });
    expect(code).toBe(1);
    expect(out).toMatch(/PUBLIC_BASE_URL must be https, not http: http:\/\/127\.0\.0\.1:8787/);
    expect(out).toMatch(/MEDIA_NODE_URL points at a loopback or private address \(localhost\)/);
    expect(account().calls).toEqual([]);
  });

  it("refuses a production config that ships a loopback URL in its vars", () => {
    const config = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(/(\[env\.production\.vars\][^[]*?)MEDIA_NODE_URL = ""/, '$1MEDIA_NODE_URL = "http://127.0.0.1:8788"');
    expect(config).toContain('MEDIA_NODE_URL = "http://127.0.0.1:8788"');
    const path = join(ROOT, `.wrangler.deploy-test-${process.pid}.toml`);
    writeFileSync(path, config);
    try {
      const { code, out } = deploy(["--config", path], { PUBLIC_BASE_URL: PUBLIC });
      expect(code).toBe(1);
      expect(out).toMatch(/\[env\.production\.vars\] MEDIA_NODE_URL must be https/);
    } finally {
      rmSync(path, { force: true });
    }
    expect(account().calls).toEqual([]);
  });

  it("refuses when secrets are missing, naming each, and creates nothing", () => {
    setAccount({ secrets: ["MEDIA_NODE_SECRET", "ADMIN_TOKEN"], workerDeployed: true });
    const { code, out } = deploy([], { PUBLIC_BASE_URL: PUBLIC });
    expect(code).toBe(1);
    for (const secret of SECRETS.filter((s) => s !== "MEDIA_NODE_SECRET" && s !== "ADMIN_TOKEN")) expect(out).toContain(`- ${secret}: wrangler secret put ${secret} --env production`);
    expect(out).not.toContain("- ADMIN_TOKEN");
    expect(account().calls.map((call) => call.args.slice(0, 2).join(" "))).toEqual(["secret list"]);
  });

  it("treats a Worker that was never deployed as having no secrets", () => {
    const { code, out } = deploy([], { PUBLIC_BASE_URL: PUBLIC });
    expect(code).toBe(1);
    for (const secret of SECRETS) expect(out).toContain(`- ${secret}:`);
  });

  it("creates what is missing, applies migrations, deploys with the real D1 id; a second run creates nothing", () => {
    setAccount({ secrets: SECRETS, queues: ["adreel-jobs"] });
    const first = deploy([], { PUBLIC_BASE_URL: PUBLIC });
    expect(first.out).toContain("deployed adreel-production");
    expect(first.code).toBe(0);
    const after = account();
    expect(after.d1.map((db) => db.name)).toEqual(["adreel"]);
    expect(after.buckets).toEqual(["adreel-media"]);
    expect(after.queues.sort()).toEqual(["adreel-audio", "adreel-jobs", "adreel-jobs-dlq", "adreel-media"]);
    const creates = after.calls.filter((call) => call.args.includes("create")).map((call) => call.args.join(" "));
    expect(creates).toEqual(["d1 create adreel", "r2 bucket create adreel-media", "queues create adreel-media", "queues create adreel-audio", "queues create adreel-jobs-dlq"]);
    // The cron sweep's backstop: staged uploads expire a day after upload, whatever the Worker does.
    expect(after.lifecycle).toEqual({ "adreel-media": [{ name: "adreel-staged-uploads", prefix: "uploads/", expireDays: 1 }] });
    const uuid = after.d1[0]!.uuid;
    const migrate = after.calls.find((call) => call.args[0] === "d1" && call.args[1] === "migrations")!;
    expect(migrate.args).toEqual(expect.arrayContaining(["apply", "adreel", "--remote", "--env", "production"]));
    expect(migrate.databaseIds).toEqual([uuid]);
    const deployed = after.calls.find((call) => call.args[0] === "deploy")!;
    expect(deployed.args).toEqual(expect.arrayContaining(["--env", "production", "--var", `PUBLIC_BASE_URL:${PUBLIC}`]));
    expect(deployed.databaseIds).toEqual([uuid]);
    // The copy of the config with the real id is gone, and wrangler.toml itself is untouched.
    expect(existsSync(join(ROOT, ".wrangler.production.toml"))).toBe(false);
    expect(readFileSync(join(ROOT, "wrangler.toml"), "utf8")).not.toContain(uuid);

    setAccount({ ...after, calls: [] });
    const second = deploy([], { PUBLIC_BASE_URL: PUBLIC });
    expect(second.code).toBe(0);
    expect(account().calls.filter((call) => call.args.includes("create") || call.args.includes("add"))).toEqual([]);
    expect(account().lifecycle).toEqual(after.lifecycle);
    expect(account().d1).toEqual(after.d1);
    expect(account().calls.at(-1)!.databaseIds).toEqual([uuid]);
  });

  it("leaves a staged-uploads lifecycle rule that exists as it is, beside the bucket's other rules", () => {
    const tuned = { "adreel-media": [{ name: "archive-old-finals", prefix: "videos/", expireDays: 365 }, { name: "adreel-staged-uploads", prefix: "uploads/", expireDays: 2 }] };
    setAccount({ secrets: SECRETS, buckets: ["adreel-media"], lifecycle: tuned });
    const { code, out } = deploy([], { PUBLIC_BASE_URL: PUBLIC });
    expect(code).toBe(0);
    expect(out).toContain("R2 lifecycle rule adreel-staged-uploads on adreel-media exists");
    expect(account().lifecycle).toEqual(tuned);
  });

  it("passes an external https MEDIA_NODE_URL to the deploy", () => {
    setAccount({ secrets: SECRETS });
    const { code } = deploy([], { PUBLIC_BASE_URL: PUBLIC, MEDIA_NODE_URL: "https://media.example.net/" });
    expect(code).toBe(0);
    expect(account().calls.at(-1)!.args).toEqual(expect.arrayContaining(["--var", "MEDIA_NODE_URL:https://media.example.net"]));
  });
});
