import { existsSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { MiniflareOptions } from "miniflare";

/** The dev registry of a state directory's instances. */
const registryOf = (persistTo: string) => join(persistTo, "dev-registry");

/**
 * Miniflare options as both of the local stack's workerd hosts take them, so that the storage
 * host (scripts/storage-host.ts, registered first, hence the owner Miniflare elects) serves the
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
    unsafeDevRegistryPath: registryOf(persistTo),
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
  const [owner] = storageCandidates(persistTo);
  return owner !== undefined && owner.debugPortAddress === readEntry(persistTo, workerName).debugPortAddress;
}

interface RegistryEntry {
  storageScope?: string;
  debugPortAddress?: string;
}

const readEntry = (persistTo: string, name: string) => JSON.parse(readFileSync(join(registryOf(persistTo), name), "utf8")) as RegistryEntry;

/** The storage candidates registered for `persistTo`, in Miniflare's election order (the first serves). */
function storageCandidates(persistTo: string): (RegistryEntry & { name: string })[] {
  const registry = registryOf(persistTo);
  if (!existsSync(registry)) return [];
  const scope = realpathSync(join(persistTo, "v3"));
  return readdirSync(registry)
    .filter((name) => name.startsWith("__miniflare_storage_candidate__"))
    .map((name) => ({ name, created: statSync(join(registry, name)).birthtimeMs, ...readEntry(persistTo, name) }))
    .filter((candidate) => candidate.storageScope === scope)
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
}

/**
 * Waits until some instance is registered to serve `persistTo`'s storage and its workerd
 * listens. The Worker's host waits so before starting Miniflare: the stack starts it beside the
 * storage host, so the Worker's bundle builds while the storage host starts, and the storage
 * host, registered first, is still the one elected.
 */
export async function storageRegistered(persistTo: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const candidate of storageCandidates(persistTo)) if (candidate.debugPortAddress && !(await refused(candidate.debugPortAddress))) return;
    if (Date.now() > deadline) throw new Error(`no storage host registered for ${persistTo} within ${timeoutMs} ms (scripts/storage-host.ts)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Withdraws the dev registry's entries of processes that are gone (their workerd's debug port
 * refuses connections), as Miniflare would only once an entry is 10 s old (90 s for a Worker's
 * name): after a crash (kill -9, the OOM killer) it keeps electing the dead instance, so a stack
 * restarted within that time on the same state directory had its D1 and R2 calls fail ("Network
 * connection lost", then 503s) for its first seconds, though it said it was up. An entry whose
 * port answers, or does not answer in time, is kept: it may be another live stack's.
 * Returns the names withdrawn.
 */
export async function withdrawDeadEntries(persistTo: string): Promise<string[]> {
  const registry = registryOf(persistTo);
  if (!existsSync(registry)) return [];
  const withdrawn: string[] = [];
  await Promise.all(
    readdirSync(registry).map(async (name) => {
      let address: string | undefined;
      try {
        address = readEntry(persistTo, name).debugPortAddress;
      } catch {
        return;
      }
      if (!address || !(await refused(address))) return;
      try {
        unlinkSync(join(registry, name));
        withdrawn.push(name);
      } catch {
        // Withdrawn meanwhile (by Miniflare, or another host starting).
      }
    }),
  );
  return withdrawn;
}

/** Whether `host:port` refuses a TCP connection (nothing listens there). */
function refused(address: string): Promise<boolean> {
  const separator = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, separator), port: Number(address.slice(separator + 1)), timeout: 1000 });
    const settle = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => settle(false));
    socket.once("timeout", () => settle(false));
    socket.once("error", (error: NodeJS.ErrnoException) => settle(error.code === "ECONNREFUSED"));
  });
}
