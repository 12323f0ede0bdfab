import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { UPLOAD_STAGING_PREFIX } from "../../worker/media/keys.ts";

/**
 * What a production deploy consists of, read from wrangler.toml's `[env.production]` (through
 * wrangler's own config reader, so environment rules such as non-inherited bindings are
 * wrangler's, not ours): the resources it binds, the D1 migrations, the secrets it requires,
 * and the vars the deploy passes in. Nothing here talks to Cloudflare.
 */

export const PRODUCTION_ENV = "production";

export interface DeployPlan {
  configPath: string;
  workerName: string;
  d1: { binding: string; name: string; migrationsDir: string; migrations: string[] }[];
  buckets: string[];
  /**
   * The backstop of the Worker's cron sweep of staged uploads (worker/references/staged-uploads.ts):
   * an R2 lifecycle rule expiring them a day after upload, should the Worker stop running its crons.
   * On the bucket bound as MEDIA; null when none is.
   */
  stagingExpiry: StagingExpiry | null;
  queues: string[];
  secrets: string[];
  /** Vars the deploy sets with `--var`, validated: name → value. */
  vars: Record<string, string>;
  /** Everything wrong with the inputs, one sentence each; a deploy with any is refused. */
  problems: string[];
}

/**
 * R2 lifecycle rules count whole days (wrangler's `--expire-days`), and R2 removes an expired object
 * "typically within 24 hours" of its expiry (Cloudflare docs "Object lifecycles", read 2026-12-06):
 * too coarse for the sweep itself (a staged copy is past use after 11 minutes), right for its
 * backstop. One day is the least it can say.
 */
export const STAGING_EXPIRY_DAYS = 1;
/** The rule's name in the bucket, how the deploy recognises it on a later run. */
export const STAGING_EXPIRY_RULE = "adreel-staged-uploads";

export interface StagingExpiry {
  bucket: string;
  rule: string;
  prefix: string;
  days: number;
}

/** Loopback, unspecified and private-range hosts: never a production address. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "::1" || host === "::" || host === "0.0.0.0") return true;
  const octets = host.split(".").map(Number);
  if (octets.length === 4 && octets.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
    const [a, b] = octets as [number, number, number, number];
    return a === 127 || a === 10 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  return host.startsWith("fc") || host.startsWith("fd") || host.startsWith("fe80:");
}

/** Why `value` cannot be the production `name`, or null when it can. */
export function publicUrlProblem(name: string, value: string | undefined, required: boolean): string | null {
  if (!value) return required ? `${name} is not set: export ${name}=https://<the Worker's public host> before deploying` : null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} is not a URL: ${value}`;
  }
  if (url.protocol !== "https:") return `${name} must be https, not ${url.protocol.replace(":", "")}: ${value}`;
  if (isLocalHost(url.hostname)) return `${name} points at a loopback or private address (${url.hostname}), which nothing outside this machine can reach: ${value}`;
  return null;
}

export function productionPlan(configPath: string, environment: Record<string, string | undefined>): DeployPlan {
  const config = unstable_readConfig({ config: configPath, env: PRODUCTION_ENV });
  const root = dirname(resolve(configPath));
  const d1 = (config.d1_databases as { binding: string; database_name?: string; migrations_dir?: string }[]).map((db) => {
    const migrationsDir = resolve(root, db.migrations_dir ?? "migrations");
    const migrations = readdirSync(migrationsDir)
      .filter((file) => file.endsWith(".sql"))
      .sort();
    return { binding: db.binding, name: db.database_name ?? db.binding, migrationsDir, migrations };
  });
  const queues = new Set<string>();
  for (const producer of config.queues.producers ?? []) queues.add(producer.queue);
  for (const consumer of config.queues.consumers ?? []) {
    queues.add(consumer.queue);
    if (consumer.dead_letter_queue) queues.add(consumer.dead_letter_queue);
  }
  const problems: string[] = [];
  const vars: Record<string, string> = {};
  const publicBase = publicUrlProblem("PUBLIC_BASE_URL", environment.PUBLIC_BASE_URL, true);
  if (publicBase) problems.push(publicBase);
  else vars.PUBLIC_BASE_URL = environment.PUBLIC_BASE_URL!.replace(/\/$/, "");
  const mediaNode = publicUrlProblem("MEDIA_NODE_URL", environment.MEDIA_NODE_URL, false);
  if (mediaNode) problems.push(mediaNode);
  else if (environment.MEDIA_NODE_URL) vars.MEDIA_NODE_URL = environment.MEDIA_NODE_URL.replace(/\/$/, "");
  // Values baked into [env.production.vars] are checked too: a loopback URL must never ship.
  for (const [name, value] of Object.entries(config.vars)) {
    if (typeof value === "string" && /_URL$/.test(name) && value && !(name in vars)) {
      const problem = publicUrlProblem(`[env.production.vars] ${name}`, value, false);
      if (problem) problems.push(problem);
    }
  }
  if (config.vars.MODEL_PROVIDER !== "replicate") problems.push(`[env.production.vars] MODEL_PROVIDER is ${JSON.stringify(config.vars.MODEL_PROVIDER)}: production renders with "replicate"`);
  if (!config.containers?.length && !vars.MEDIA_NODE_URL) problems.push("no media-node: [env.production] declares no container and MEDIA_NODE_URL is not set");
  const buckets = config.r2_buckets as { binding: string; bucket_name?: string }[];
  const media = buckets.find((bucket) => bucket.binding === "MEDIA")?.bucket_name;
  return {
    configPath: resolve(configPath),
    workerName: config.name ?? "adreel",
    d1,
    buckets: [...new Set(buckets.map((bucket) => bucket.bucket_name).filter((name): name is string => !!name))],
    stagingExpiry: media ? { bucket: media, rule: STAGING_EXPIRY_RULE, prefix: UPLOAD_STAGING_PREFIX, days: STAGING_EXPIRY_DAYS } : null,
    queues: [...queues],
    secrets: config.secrets?.required ?? [],
    vars,
    problems,
  };
}

/** The plan as `--dry-run` prints it: every resource, migration, secret and var. */
export function describePlan(plan: DeployPlan): string {
  const lines = [`Production deploy of ${plan.workerName} (${plan.configPath}, [env.${PRODUCTION_ENV}])`, "", "Resources (each created only when missing):"];
  for (const db of plan.d1) lines.push(`  D1 database   ${db.name} (binding ${db.binding})`);
  for (const bucket of plan.buckets) lines.push(`  R2 bucket     ${bucket}`);
  const expiry = plan.stagingExpiry;
  if (expiry) lines.push(`  R2 lifecycle  ${expiry.bucket}: ${expiry.prefix} expires ${expiry.days} day after upload (rule ${expiry.rule}; staged uploads, the cron sweep's backstop)`);
  for (const queue of plan.queues) lines.push(`  Queue         ${queue}${queue.endsWith("-dlq") ? " (dead letters)" : ""}`);
  lines.push("", "D1 migrations (applied remotely when not yet applied):");
  for (const db of plan.d1) for (const migration of db.migrations) lines.push(`  ${db.name}: ${join(db.migrationsDir, migration).slice(dirname(plan.configPath).length + 1)}`);
  lines.push("", "Secrets (must already be set: wrangler secret put NAME --env production):");
  for (const secret of plan.secrets) lines.push(`  ${secret}`);
  lines.push("", "Vars passed to the deploy:");
  for (const [name, value] of Object.entries(plan.vars)) lines.push(`  ${name}=${value}`);
  if (!plan.vars.MEDIA_NODE_URL) lines.push("  (MEDIA_NODE_URL unset: media-node runs as the MediaNodeContainer container)");
  if (plan.problems.length) lines.push("", "Refused:", ...plan.problems.map((problem) => `  - ${problem}`));
  return lines.join("\n");
}
