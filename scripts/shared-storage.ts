import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { MiniflareOptions } from "miniflare";

/**
 * Miniflare options as both of the local stack's workerd hosts take them, so that the storage
 * host (scripts/storage-host.ts, started first, hence the owner Miniflare elects) serves the
 * Worker's R2 bucket and D1 database: the same persistence directory, laid out as `wrangler d1
 * migrations apply --local --persist-to` lays it out (`v3/d1`, `v3/r2`, ...), and the same dev
 * registry (where instances find one another and elect the owner), kept in the state directory
 * so that no other stack's instances take part.
 *
 * Applied to options already converted from Miniflare 4's shape (`convertV4MiniflareOptions`),
 * which has no `unsafeEnableSharedStorage` and would drop it: without it each process opened
 * the same SQLite files as its own.
 */
export function withSharedStorage(options: MiniflareOptions, persistTo: string): MiniflareOptions {
  const v3 = join(persistTo, "v3");
  return {
    ...options,
    resourcePersistencePath: v3,
    // What cannot be shared (the Durable Objects' storage) stays in the Worker's own process, in the same directory as before.
    isolatedResourcePersistencePath: v3,
    unsafeEnableSharedStorage: true,
    enableDevRegistry: true,
    unsafeDevRegistryPath: join(persistTo, "dev-registry"),
  };
}

/**
 * Whether the instance running the Worker `workerName` is the one serving storage for
 * `persistTo`, read from the dev registry as Miniflare elects (its dev-registry-proxy worker:
 * the candidate whose file was created first, then by name; files where birth times are not
 * kept would be ordered by name alone). The registry's files are Miniflare's own: a caller
 * warns on this, never fails by it.
 */
export function servesStorage(persistTo: string, workerName: string): boolean {
  const registry = join(persistTo, "dev-registry");
  const read = (name: string) => JSON.parse(readFileSync(join(registry, name), "utf8")) as { storageScope?: string; debugPortAddress?: string };
  const scope = realpathSync(join(persistTo, "v3"));
  const [owner] = readdirSync(registry)
    .filter((name) => name.startsWith("__miniflare_storage_candidate__"))
    .map((name) => ({ name, created: statSync(join(registry, name)).birthtimeMs, ...read(name) }))
    .filter((candidate) => candidate.storageScope === scope)
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  return owner !== undefined && owner.debugPortAddress === read(workerName).debugPortAddress;
}
