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
 * never deployed, and for deploying a D1 binding whose id is not a real database's. Anything
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
