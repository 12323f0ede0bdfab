import { type FSWatcher, watch } from "node:fs";
import { join, sep } from "node:path";

/**
 * `npm run dev`'s live reload: a change to a source file restarts the servers that run it, and
 * only those. The Worker's host builds its bundle again as it starts (worker-host.ts), so
 * restarting it is the reload; the video runs in flight go on from their Durable Objects' state,
 * as after any Worker restart. media-node is stateless between requests (a request in flight
 * when it stops fails, and the Worker's queue retries its step).
 */

export type Server = "worker" | "media-node";

/** Which servers run the code of each top-level folder (contracts and lib are shared). */
const RUN_BY: Record<string, readonly Server[]> = {
  worker: ["worker"],
  public: ["worker"],
  "media-node": ["media-node"],
  contracts: ["worker", "media-node"],
  lib: ["worker", "media-node"],
};
/** wrangler.toml's bindings and vars are read as the Worker's host starts. */
const RUN_BY_FILE: Record<string, readonly Server[]> = { "wrangler.toml": ["worker"] };

/** The servers a change to `path` (relative to the checkout) calls for: none for tests, docs and other folders. */
export function serversFor(path: string): Server[] {
  const parts = path.split(sep);
  if (parts.length === 1) return [...(RUN_BY_FILE[path] ?? [])];
  if (/\.test\.ts$/.test(path)) return [];
  return [...(RUN_BY[parts[0]!] ?? [])];
}

export interface LiveReload {
  close(): void;
}

/**
 * Watch the checkout at `root` and call `restart` for each server a change calls for. Changes
 * arriving while a restart runs (an editor writes a file in several steps; a checkout changes
 * many) are gathered and answered by one more restart after it, never by two at once.
 */
export function liveReload(root: string, restart: (server: Server, because: string) => Promise<void>, quietMs = 200): LiveReload {
  const pending = new Map<Server, string>();
  let timer: NodeJS.Timeout | null = null;
  let restarting = false;
  const flush = async () => {
    timer = null;
    const due = [...pending];
    pending.clear();
    restarting = true;
    try {
      for (const [server, because] of due) await restart(server, because);
    } finally {
      restarting = false;
      if (pending.size) schedule();
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void flush(), quietMs);
  };
  const watchers: FSWatcher[] = [];
  const changed = (path: string) => {
    for (const server of serversFor(path)) if (!pending.has(server)) pending.set(server, path);
    if (pending.size && !restarting) schedule();
  };
  for (const folder of Object.keys(RUN_BY)) {
    watchers.push(watch(join(root, folder), { recursive: true }, (_event, file) => file && changed(join(folder, file.toString()))));
  }
  watchers.push(watch(root, (_event, file) => file && RUN_BY_FILE[file.toString()] && changed(file.toString())));
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
