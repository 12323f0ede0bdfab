import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { MEDIA_NODE_CONTAINER } from "../../worker/media/container-shape.ts";
import { isLocalHost } from "./plan.ts";

/**
 * wrangler.toml as wrangler itself reads it, local (top level) and production. Environments
 * inherit no bindings, so production must repeat every one the Worker uses; production must
 * carry no local value; the container declaration must match what the Worker assumes of it.
 */

const CONFIG = resolve(import.meta.dirname, "..", "..", "wrangler.toml");
const local = unstable_readConfig({ config: CONFIG });
const production = unstable_readConfig({ config: CONFIG, env: "production" });
type Config = typeof local;

/** Every binding a Worker gets from the config, by kind, as names (and the resource names). */
function bindings(config: Config) {
  return {
    durableObjects: config.durable_objects.bindings.map((b: { name: string; class_name: string }) => `${b.name}:${b.class_name}`).sort(),
    d1: (config.d1_databases as { binding: string; database_name?: string }[]).map((b) => `${b.binding}:${b.database_name}`).sort(),
    r2: (config.r2_buckets as { binding: string; bucket_name?: string }[]).map((b) => `${b.binding}:${b.bucket_name}`).sort(),
    producers: (config.queues.producers ?? []).map((q: { binding: string; queue: string }) => `${q.binding}:${q.queue}`).sort(),
    consumers: ((config.queues.consumers ?? []) as object[]).map((q) => JSON.stringify(q)).sort(),
    assets: config.assets ? JSON.stringify(config.assets) : null,
    containers: ((config.containers ?? []) as { class_name?: string; image?: string }[]).map((c) => `${c.class_name}:${c.image}`).sort(),
    migrations: (config.migrations as object[]).map((m) => JSON.stringify(m)),
    crons: [...(config.triggers.crons ?? [])].sort(),
    vars: Object.keys(config.vars).sort(),
  };
}

describe("wrangler.toml", () => {
  it("repeats every local binding, queue, container, migration, cron and var name in [env.production]", () => {
    const mine = bindings(production);
    const theirs = bindings(local);
    // The sweep of staged uploads (worker/references/staged-uploads.ts) runs on a cron.
    expect(theirs.crons).not.toEqual([]);
    expect(mine).toEqual({ ...theirs, vars: mine.vars });
    for (const name of theirs.vars) expect(mine.vars).toContain(name);
  });

  it("ships no loopback URL and no draft provider to production", () => {
    for (const [name, value] of Object.entries(production.vars)) {
      if (typeof value !== "string" || !value.includes("://")) continue;
      const url = new URL(value);
      expect(url.protocol, name).toBe("https:");
      expect(isLocalHost(url.hostname), name).toBe(false);
    }
    expect(production.vars.MODEL_PROVIDER).toBe("replicate");
    expect(production.secrets?.required).toEqual(expect.arrayContaining(["REPLICATE_API_TOKEN", "WEBHOOK_SECRET", "MEDIA_NODE_SECRET", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_ACCOUNT_ID"]));
    expect(production.secrets?.required).not.toContain("DRAFT_PROVIDER_TOKEN");
  });

  it("declares the container the Worker's pool assumes: instance count, vCPUs, a migration for its class", () => {
    for (const config of [local, production]) {
      const [container] = config.containers ?? [];
      expect(container?.class_name).toBe("MediaNodeContainer");
      expect(container?.max_instances).toBe(MEDIA_NODE_CONTAINER.instances);
      expect(container?.instance_type).toBe(MEDIA_NODE_CONTAINER.instanceType);
      expect((config.migrations as { new_sqlite_classes?: string[] }[]).flatMap((m) => m.new_sqlite_classes ?? [])).toContain("MediaNodeContainer");
    }
    // standard-3 is 2 vCPU (Cloudflare "Limits and Instance Types", read 2026-12-04): one ffmpeg per vCPU.
    expect(MEDIA_NODE_CONTAINER.slotsPerInstance).toBe(2);
  });

  it("turns containers off for local development and observability on everywhere, the container's logs included", () => {
    expect(local.dev.enable_containers).toBe(false);
    for (const config of [local, production]) {
      expect(config.observability?.enabled).toBe(true);
      expect(config.observability?.logs?.enabled).toBe(true);
      expect(config.observability?.traces?.enabled).toBe(true);
      expect(config.observability?.head_sampling_rate).toBe(1);
      expect(config.observability?.logs?.head_sampling_rate).toBe(1);
      expect(config.observability?.traces?.head_sampling_rate).toBe(1);
    }
    // media-node's request lines reach Workers Logs from the production container.
    const [container] = (production.containers ?? []) as { observability?: { logs?: { enabled?: boolean } } }[];
    expect(container?.observability?.logs?.enabled).toBe(true);
    // Records as objects where Workers Logs indexes them; as JSON text where wrangler dev prints them.
    expect(production.vars.LOG_FORMAT).toBe("fields");
    expect(local.vars.LOG_FORMAT).toBe("json");
  });
});
