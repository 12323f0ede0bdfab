import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The local stack's settings: its secrets (`.dev.vars`), the provider settings `npm run dev` passes on, and what it reads of wrangler.toml. */

export interface Secrets {
  MEDIA_NODE_SECRET: string;
  MEDIA_SIGNING_SECRET: string;
  WEBHOOK_SECRET: string;
  DRAFT_PROVIDER_TOKEN: string;
  ADMIN_TOKEN: string;
  /** Signs `callback_url` notifications (Standard Webhooks, `whsec_`). */
  CALLBACK_SECRET: string;
}

export function secret(bytes = 24): string {
  return randomBytes(bytes).toString("hex");
}

/** `.dev.vars` (git-ignored) as name → value. */
export function devVars(root: string): Record<string, string> {
  const path = join(root, ".dev.vars");
  const existing: Record<string, string> = {};
  if (existsSync(path)) {
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const match = /^([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line.trim());
      if (match) existing[match[1]!] = match[2]!;
    }
  }
  return existing;
}

/** Local secrets live in `.dev.vars` (git-ignored), created on first use. */
export function localSecrets(root: string): Secrets {
  const path = join(root, ".dev.vars");
  const existing = devVars(root);
  const secrets: Secrets = {
    MEDIA_NODE_SECRET: existing.MEDIA_NODE_SECRET || secret(),
    MEDIA_SIGNING_SECRET: existing.MEDIA_SIGNING_SECRET || secret(),
    WEBHOOK_SECRET: existing.WEBHOOK_SECRET || `whsec_${randomBytes(32).toString("base64")}`,
    DRAFT_PROVIDER_TOKEN: existing.DRAFT_PROVIDER_TOKEN || `r8_draft_${secret(12)}`,
    ADMIN_TOKEN: existing.ADMIN_TOKEN || secret(),
    CALLBACK_SECRET: existing.CALLBACK_SECRET || `whsec_${randomBytes(32).toString("base64")}`,
  };
  const merged = { ...existing, ...secrets };
  writeFileSync(path, `${Object.entries(merged).map(([k, v]) => `${k}="${v}"`).join("\n")}\n`, { mode: 0o600 });
  return secrets;
}

/**
 * Provider and language-model settings `npm run dev` takes from the environment, else from
 * `.dev.vars`, so the local stack can run against Replicate and OpenAI (through a tunnel for
 * webhooks) or any compatible server. Unset, the stack is draft + local, offline.
 */
export const PROVIDER_SETTINGS = [
  "MODEL_PROVIDER",
  "PROVIDER_BASE_URL",
  "REPLICATE_API_TOKEN",
  "WEBHOOK_SECRET",
  "PUBLIC_BASE_URL",
  "MODEL_PRESET",
  "IMAGE_MODEL",
  "IMAGE_MODEL_FALLBACKS",
  "VIDEO_MODEL",
  "VIDEO_RESOLUTION",
  "MUSIC_MODEL",
  "SPEECH_MODEL",
  "PLANNER",
  "ANALYSER",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_PLANNER_MODEL",
  "OPENAI_VISION_MODEL",
] as const;

/** Each provider setting that is set, from `source` first (the environment), then `.dev.vars`. */
export function providerSettings(source: Record<string, string | undefined>, dotDevVars: Record<string, string>): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const name of PROVIDER_SETTINGS) {
    const value = source[name] || dotDevVars[name];
    if (value) settings[name] = value;
  }
  return settings;
}

/**
 * The bucket wrangler.toml's top-level `[[r2_buckets]]` table binds to `binding`: the one place its
 * name is written. Read by hand rather than with wrangler's reader (`unstable_readConfig`, as
 * scripts/deploy/plan.ts does), whose import takes about 0.7 s of CPU in every process that starts
 * a stack, the demo's included. It reads only such tables' `key = "value"` lines (environments'
 * tables are not top-level) and throws unless exactly one names the binding with a bucket, so a
 * form it does not read fails loudly; local-settings.test.ts holds it to wrangler's reading of the
 * real file.
 */
export function wranglerBucket(root: string, binding: string): string {
  const tables: Record<string, string>[] = [];
  let table: Record<string, string> | null = null;
  for (const raw of readFileSync(join(root, "wrangler.toml"), "utf8").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      table = line === "[[r2_buckets]]" ? {} : null;
      if (table) tables.push(table);
      continue;
    }
    const pair = table && /^([A-Za-z0-9_]+)\s*=\s*"([^"]*)"\s*(?:#.*)?$/.exec(line);
    if (pair) table![pair[1]!] = pair[2]!;
  }
  const bound = tables.filter((t) => t.binding === binding);
  if (bound.length !== 1 || !bound[0]!.bucket_name) throw new Error(`wrangler.toml: expected one top-level [[r2_buckets]] table with binding = "${binding}" and a bucket_name, found ${bound.length}`);
  return bound[0]!.bucket_name;
}
