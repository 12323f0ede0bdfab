import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { type DeployPlan, describePlan, PRODUCTION_ENV, productionPlan, type StagingExpiry } from "./plan.ts";

/**
 * `npm run deploy` (scripts/deploy.sh): the whole production deploy.
 *
 *   1. read the plan from wrangler.toml's [env.production] and refuse bad inputs (loopback or
 *      http URLs, a missing PUBLIC_BASE_URL), naming each;
 *   2. check every required secret is set (`wrangler secret list`), naming the missing ones;
 *   3. create what is missing — D1 database, R2 bucket, queues and dead-letter queue, the media
 *      bucket's lifecycle rule expiring staged uploads (the cron sweep's backstop) — and nothing
 *      that exists (each is looked up first), so running it again changes nothing;
 *   4. apply the D1 migrations remotely (wrangler applies only those not yet applied);
 *   5. `wrangler deploy --env production`, which also builds and rolls out the media-node
 *      container image from the Dockerfile.
 *
 * `--dry-run` prints the plan and the problems without calling Cloudflare at all.
 * `wrangler` is taken from PATH (scripts/deploy.sh appends the project's own to it).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ZERO_ID = "00000000-0000-0000-0000-000000000000";

class DeployRefused extends Error {}

interface Wrangler {
  (args: string[], options?: { inherit?: boolean }): { status: number; stdout: string; stderr: string };
}

const wrangler: Wrangler = (args, options = {}) => {
  const result = spawnSync("wrangler", args, { cwd: ROOT, encoding: "utf8", stdio: options.inherit ? "inherit" : ["ignore", "pipe", "pipe"], env: process.env });
  if (result.error) throw new DeployRefused(`could not run wrangler: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
};

function must(args: string[], what: string, inherit = false): string {
  const result = wrangler(args, { inherit });
  if (result.status !== 0) throw new DeployRefused(`${what} failed (wrangler ${args.join(" ")}):\n${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

const envArgs = (configPath: string) => ["--env", PRODUCTION_ENV, "--config", configPath];

function missingSecrets(plan: DeployPlan): string[] {
  const listed = wrangler(["secret", "list", "--format", "json", ...envArgs(plan.configPath)]);
  // A Worker that was never deployed has no secrets yet: every required one is missing.
  let names = new Set<string>();
  if (listed.status === 0) {
    try {
      names = new Set((JSON.parse(listed.stdout) as { name: string }[]).map((secret) => secret.name));
    } catch {
      throw new DeployRefused(`wrangler secret list answered something that is not JSON: ${listed.stdout.slice(0, 200)}`);
    }
  }
  return plan.secrets.filter((secret) => !names.has(secret));
}

/** The database's id, creating the database first when there is none by that name. */
function ensureD1(name: string): string {
  const find = () => (JSON.parse(must(["d1", "list", "--json"], "listing D1 databases")) as { name: string; uuid: string }[]).find((db) => db.name === name);
  let db = find();
  if (!db) {
    console.log(`creating D1 database ${name}`);
    must(["d1", "create", name], `creating D1 database ${name}`);
    db = find();
    if (!db) throw new DeployRefused(`D1 database ${name} was created but is not listed`);
  } else console.log(`D1 database ${name} exists (${db.uuid})`);
  return db.uuid;
}

function ensureByInfo(kind: "r2 bucket" | "queues", name: string, label: string): void {
  const words = kind.split(" ");
  if (wrangler([...words, "info", name]).status === 0) {
    console.log(`${label} ${name} exists`);
    return;
  }
  console.log(`creating ${label} ${name}`);
  must([...words, "create", name], `creating ${label} ${name}`);
}

/**
 * The bucket's lifecycle rule for staged uploads, added when no rule of its name is listed. A rule
 * of that name is left as it is: someone may have tuned it on purpose. `lifecycle list` prints
 * each rule as labelled lines (`name: <rule>`); wrangler has no JSON form of it.
 */
function ensureStagingExpiry(expiry: StagingExpiry): void {
  const listed = stripVTControlCharacters(must(["r2", "bucket", "lifecycle", "list", expiry.bucket], `listing the lifecycle rules of R2 bucket ${expiry.bucket}`));
  if (listed.split("\n").some((line) => /^name:\s+(\S+)\s*$/.exec(line)?.[1] === expiry.rule)) {
    console.log(`R2 lifecycle rule ${expiry.rule} on ${expiry.bucket} exists`);
    return;
  }
  console.log(`adding R2 lifecycle rule ${expiry.rule} on ${expiry.bucket}: ${expiry.prefix} expires ${expiry.days} day after upload`);
  must(["r2", "bucket", "lifecycle", "add", expiry.bucket, expiry.rule, expiry.prefix, "--expire-days", String(expiry.days)], `adding lifecycle rule ${expiry.rule} to R2 bucket ${expiry.bucket}`);
}

/**
 * wrangler.toml keeps an all-zero D1 id for production (the real one is the account's);
 * the deploy runs on a copy beside it with the real id filled in, removed afterwards.
 */
function configWithDatabaseIds(plan: DeployPlan, ids: Map<string, string>): string {
  let text = readFileSync(plan.configPath, "utf8");
  for (const [name, id] of ids) {
    const block = new RegExp(`(\\[\\[env\\.${PRODUCTION_ENV}\\.d1_databases\\]\\][^\\[]*?database_name\\s*=\\s*"${name}"[^\\[]*?database_id\\s*=\\s*")${ZERO_ID}(")`);
    if (!block.test(text)) continue;
    text = text.replace(block, `$1${id}$2`);
  }
  const path = join(dirname(plan.configPath), `.wrangler.${PRODUCTION_ENV}.toml`);
  writeFileSync(path, text);
  return path;
}

export function deploy(argv: string[], environment: Record<string, string | undefined> = process.env): number {
  const dryRun = argv.includes("--dry-run");
  const configFlag = argv.indexOf("--config");
  const configPath = configFlag >= 0 ? argv[configFlag + 1]! : join(ROOT, "wrangler.toml");
  const plan = productionPlan(configPath, environment);
  console.log(describePlan(plan));
  if (dryRun) {
    console.log(`\n--dry-run: nothing was created, checked or deployed${plan.problems.length ? "; fix the problems above first" : ""}.`);
    return plan.problems.length ? 1 : 0;
  }
  try {
    if (plan.problems.length) throw new DeployRefused(`deploy refused:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}`);
    const missing = missingSecrets(plan);
    if (missing.length) {
      throw new DeployRefused(`deploy refused: secrets not set for [env.${PRODUCTION_ENV}]:\n${missing.map((name) => `  - ${name}: wrangler secret put ${name} --env ${PRODUCTION_ENV}`).join("\n")}`);
    }
    console.log(`\nall ${plan.secrets.length} secrets are set`);
    const ids = new Map(plan.d1.map((db) => [db.name, ensureD1(db.name)]));
    for (const bucket of plan.buckets) ensureByInfo("r2 bucket", bucket, "R2 bucket");
    if (plan.stagingExpiry) ensureStagingExpiry(plan.stagingExpiry);
    for (const queue of plan.queues) ensureByInfo("queues", queue, "queue");
    const generated = configWithDatabaseIds(plan, ids);
    try {
      for (const db of plan.d1) must(["d1", "migrations", "apply", db.name, "--remote", ...envArgs(generated)], `applying migrations to ${db.name}`, true);
      const vars = Object.entries(plan.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
      must(["deploy", ...envArgs(generated), ...vars], "wrangler deploy", true);
    } finally {
      rmSync(generated, { force: true });
    }
    console.log(`\ndeployed ${plan.workerName}: check ${plan.vars.PUBLIC_BASE_URL}/health`);
    return 0;
  } catch (error) {
    if (!(error instanceof DeployRefused)) throw error;
    console.error(`\n${error.message}`);
    return 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = deploy(process.argv.slice(2));
