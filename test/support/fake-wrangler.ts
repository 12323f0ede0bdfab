import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import type { FakeAccount as Account } from "./fake-wrangler-account.ts";

/**
 * A stand-in for the `wrangler` CLI in the deploy script's test: it keeps a Cloudflare account
 * (D1 databases, R2 buckets, queues, the Worker's secrets, deploys) in a JSON file named by
 * FAKE_WRANGLER_STATE and records every call. It knows only the commands the deploy script
 * uses and answers them as wrangler 4.156.2 does: JSON where wrangler prints JSON (`d1 list
 * --json`, `secret list --format json`), a non-zero exit for a missing bucket or queue on
 * `info`, for creating something that exists, for listing the secrets of a Worker that was
 * never deployed, and for deploying a D1 binding whose id is not a real database's; a bucket's
 * lifecycle rules listed as labelled lines (`name:`, `enabled:`, `prefix:`, `action:`), and added
 * with a name, a prefix and `--expire-days` (a bucket that does not exist is an error for both). Anything
 * else is an unknown command (exit 1), so the script cannot rely on something this fake lacks.
 * Run by Node's own TypeScript stripping; see scripts/deploy/deploy.test.ts.
 */


const statePath = process.env.FAKE_WRANGLER_STATE;
if (!statePath) {
  console.error("FAKE_WRANGLER_STATE is not set");
  process.exit(2);
}
const account = JSON.parse(readFileSync(statePath, "utf8")) as Account;
const args = process.argv.slice(2);
const call: Account["calls"][number] = { args };
account.calls.push(call);

function flag(name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/** The production D1 ids of the config a command was given. */
function productionDatabaseIds(): string[] {
  const config = flag("--config");
  if (!config) return [];
  const text = readFileSync(config, "utf8");
  return [...text.matchAll(/\[\[env\.production\.d1_databases\]\][^[]*?database_id\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
}

function finish(code: number, out = "", err = ""): never {
  writeFileSync(statePath!, JSON.stringify(account, null, 2));
  if (out) process.stdout.write(`${out}\n`);
  if (err) process.stderr.write(`${err}\n`);
  process.exit(code);
}

const [a, b, c] = args;
const command = [a, b].join(" ");
if (command === "d1 list" && args.includes("--json")) {
  finish(0, JSON.stringify(account.d1.map((db) => ({ uuid: db.uuid, name: db.name, created_at: "2026-12-04T00:00:00.000Z", version: "production", num_tables: 0, file_size: 0 }))));
}
if (command === "d1 create" && c) {
  if (account.d1.some((db) => db.name === c)) finish(1, "", `✘ [ERROR] A request to the Cloudflare API failed. A database with that name already exists [code: 7502]`);
  account.d1.push({ name: c, uuid: randomUUID() });
  finish(0, `✅ Successfully created DB '${c}'`);
}
if ((command === "r2 bucket" && (c === "info" || c === "create")) || (a === "queues" && (b === "info" || b === "create"))) {
  const isBucket = a === "r2";
  const name = isBucket ? args[3] : c;
  const verb = isBucket ? c : b;
  const list = isBucket ? account.buckets : account.queues;
  if (!name) finish(1, "", "✘ [ERROR] Not enough non-option arguments");
  const exists = list.includes(name);
  if (verb === "info") finish(exists ? 0 : 1, exists ? `name: ${name}` : "", exists ? "" : `✘ [ERROR] ${isBucket ? "The specified bucket does not exist. [code: 10006]" : `Queue "${name}" does not exist. [code: 11000]`}`);
  if (exists) finish(1, "", `✘ [ERROR] ${isBucket ? "The bucket you tried to create already exists, and you own it. [code: 10004]" : "Queue name is already taken [code: 11009]"}`);
  list.push(name);
  finish(0, `✅ Created ${isBucket ? "bucket" : "queue"} '${name}'`);
}
if (command === "r2 bucket" && c === "lifecycle" && (args[3] === "list" || args[3] === "add")) {
  const bucket = args[4];
  if (!bucket) finish(1, "", "✘ [ERROR] Not enough non-option arguments");
  if (!account.buckets.includes(bucket)) finish(1, "", "✘ [ERROR] A request to the Cloudflare API failed. The specified bucket does not exist. [code: 10006]");
  const rules = ((account.lifecycle ??= {})[bucket] ??= []);
  if (args[3] === "list") {
    if (rules.length === 0) finish(0, `Listing lifecycle rules for bucket '${bucket}'...\nThere are no lifecycle rules for bucket '${bucket}'.`);
    const described = rules.map((rule) => `name:     ${rule.name}\nenabled:  Yes\nprefix:   ${rule.prefix || "(all prefixes)"}\naction:   Expire objects after ${rule.expireDays} days`);
    finish(0, `Listing lifecycle rules for bucket '${bucket}'...\n${described.join("\n\n")}`);
  }
  const name = args[5];
  const expireDays = Number(flag("--expire-days"));
  if (!name || name.startsWith("--")) finish(1, "", "✘ [ERROR] Missing required rule name.");
  if (!Number.isFinite(expireDays)) finish(1, "", "✘ [ERROR] No lifecycle action specified.");
  const prefix = args[6] && !args[6].startsWith("--") ? args[6] : "";
  rules.push({ name, prefix, expireDays });
  finish(0, `Adding lifecycle rule '${name}' to bucket '${bucket}'...\n✨ Added lifecycle rule '${name}' to bucket '${bucket}'.`);
}
if (command === "secret list") {
  if (!account.workerDeployed && account.secrets.length === 0) finish(1, "", "✘ [ERROR] This Worker does not exist on your account. [code: 10007]");
  finish(0, JSON.stringify(account.secrets.map((name) => ({ name, type: "secret_text" }))));
}
if (command === "d1 migrations" && c === "apply") {
  call.databaseIds = productionDatabaseIds();
  if (!account.d1.some((db) => db.name === args[3])) finish(1, "", `✘ [ERROR] Couldn't find a D1 DB with the name or binding '${args[3]}' in your wrangler.toml file.`);
  finish(0, "🚣 Executed migrations");
}
if (a === "deploy") {
  call.databaseIds = productionDatabaseIds();
  const known = new Set(account.d1.map((db) => db.uuid));
  const unknown = call.databaseIds.filter((id) => !known.has(id));
  if (unknown.length) finish(1, "", `✘ [ERROR] A request to the Cloudflare API failed. D1 binding refers to database ${unknown[0]}, which does not exist [code: 10021]`);
  account.workerDeployed = true;
  finish(0, "Uploaded adreel-production");
}
finish(1, "", `✘ [ERROR] Unknown arguments: ${args.join(" ")}`);
