import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { LOCAL_SCHEDULED_PATH } from "../worker/api/worker-first.ts";
import { scheduleCrons } from "./local-crons.ts";
import { servesStorage, storageRegistered, withdrawDeadEntries, withSharedStorage } from "./shared-storage.ts";

/**
 * The local stack's Worker: the bundle `wrangler deploy` would upload, run by Miniflare in one
 * workerd process, its bindings (D1, R2, Queues and their consumers' settings, Durable Objects,
 * vars and `.dev.vars`, static assets, `[dev] enable_containers = false`) read from wrangler.toml
 * by wrangler itself (`unstable_getMiniflareWorkerOptions`, what Cloudflare's vitest pool uses).
 * Its D1 and R2 bindings are served by the storage host (scripts/storage-host.ts), which the
 * stack starts beside it on the same state directory; this host waits for it to register before
 * starting the Worker.
 *
 * Why not `wrangler dev`: it runs a second workerd, a request proxy on the public port that
 * every HTTP request passes through to the Worker's workerd. Under the load bench that proxy
 * took 17 of the 58 workerd CPU seconds, on two cores shared with media-node's encodes, and a
 * request queued behind it twice. Here requests reach the Worker's workerd directly, on a socket
 * of the Worker's own (Miniflare's `unsafeDirectSockets`), served by the Worker's `LocalFront`
 * entrypoint (worker/api/local-front.ts): the static assets' routing, then the Worker, without
 * Miniflare's entry Worker or its assets' router in front (see `workers` below).
 *
 * Arguments: --root, --port, --persist-to (the state directory, laid out as `wrangler dev
 * --persist-to` and `wrangler d1 migrations apply --local --persist-to` lay it out: `v3/d1`,
 * `v3/r2`, ...; its R2 bucket and D1 database are served by the storage host started on it,
 * scripts/storage-host.ts), --inspector-port (0: workerd picks a free one), and `--var NAME:VALUE` (repeated), which outrank
 * wrangler.toml and `.dev.vars` as wrangler dev's `--var` does. The same vars can come as a JSON
 * object in the environment, `ADREEL_WORKER_VARS` (`--var` outranks it): the stack passes them
 * there, since they hold secrets (R2's S3 key pair, a provider's token) and any user on the
 * machine can read a process's command line (/proc/<pid>/cmdline), not its environment.
 */

const { values } = parseArgs({
  options: {
    root: { type: "string" },
    port: { type: "string" },
    "persist-to": { type: "string" },
    "inspector-port": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
  },
});
const root = resolve(values.root ?? process.cwd());
const port = Number(values.port);
const persistTo = resolve(root, values["persist-to"] ?? join(".adreel", "state"));
if (!Number.isInteger(port) || port <= 0) throw new Error("--port is required");
const vars: Record<string, string> = {};
if (process.env.ADREEL_WORKER_VARS) {
  const fromEnvironment = JSON.parse(process.env.ADREEL_WORKER_VARS) as unknown;
  if (typeof fromEnvironment !== "object" || fromEnvironment === null || Object.values(fromEnvironment).some((v) => typeof v !== "string")) throw new Error("ADREEL_WORKER_VARS: expected a JSON object of strings");
  Object.assign(vars, fromEnvironment);
}
for (const entry of values.var) {
  const at = entry.indexOf(":");
  if (at <= 0) throw new Error(`--var ${entry}: expected NAME:VALUE`);
  vars[entry.slice(0, at)] = entry.slice(at + 1);
}

/** The Worker as `wrangler deploy` bundles it (its esbuild settings, nodejs_compat), into a directory of this process's own. */
function build(): string {
  // Inside the project: workerd names modules by their path from the Worker's root (wrangler.toml's folder) and refuses "..".
  const builds = join(root, ".adreel", "worker-builds");
  mkdirSync(builds, { recursive: true });
  // Builds of hosts that were killed before they could remove theirs (each named by its host's pid).
  for (const name of readdirSync(builds)) if (!alive(Number(name))) rmSync(join(builds, name), { recursive: true, force: true });
  const outdir = join(builds, String(process.pid));
  process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  // `--env=""`: the top level of wrangler.toml (the local configuration); containers are off locally.
  const built = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--env=", "--containers-rollout=none", "--outdir", outdir], {
    cwd: root,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`building the Worker failed:\n${built.stdout}\n${built.stderr}`);
  return join(outdir, "index.js");
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Where start-up is, in the host's output: a stack that gives up waiting shows it with its error.
const stage = (what: string) => process.stdout.write(`adreel Worker host: ${what} (${(performance.now() / 1000).toFixed(1)} s)\n`);
stage("building the bundle");
const scriptPath = build();
// A bench's `--ref` builds older code with this host: before 8c72ff7 the Worker had no
// `LocalFront`, and its port served the default entrypoint (Miniflare's assets router first).
const front = /export\s*\{[^}]*\bLocalFront\b/.test(readFileSync(scriptPath, "utf8")) ? "LocalFront" : undefined;
// Read once: the Worker's options and its cron triggers (below) both come from it.
const config = unstable_readConfig({ config: join(root, "wrangler.toml"), env: "" });
const { workerOptions } = unstable_getMiniflareWorkerOptions(config, "");
const bindings = { ...(workerOptions.bindings as Record<string, unknown>), ...vars };
// The bundle is one module that imports only workerd's built-ins: no rules to find others by.
const { modulesRules: _rules, ...options } = workerOptions;

// The Worker's console lines as it wrote them, one per line (LOG_FORMAT=json): warnings and
// errors on stderr, the rest on stdout, as wrangler dev printed them.
const write = (level: string, message: string) => (level === "warn" || level === "error" ? process.stderr : process.stdout).write(`${message}\n`);

// A predecessor killed in a restart (the stack's SIGKILL after 5 s) would keep its name in the
// dev registry for 90 s, and the check below would read its entry for this Worker's.
stage("waiting for the storage host to register");
await withdrawDeadEntries(persistTo);
// The storage host starts beside this one, while the bundle above builds; it must be registered
// first to be the one elected (shared-storage.ts).
await storageRegistered(persistTo, 60_000);
stage("starting workerd");
// wrangler still describes a Worker in Miniflare 4's option shape (as its own `wrangler dev` does).
const mf = new Miniflare(withSharedStorage(convertV4MiniflareOptions({
  host: "127.0.0.1",
  // Miniflare's own entry socket (its `core:entry` Worker), on a port of its own choosing: the
  // stack's port is the Worker's direct socket below.
  port: 0,
  inspectorPort: values["inspector-port"] ? Number(values["inspector-port"]) : undefined,
  // Never fetch Cloudflare's request.cf data from the network: Miniflare's fixed stand-in.
  cf: false,
  log: new Log(LogLevel.INFO),
  // One line per request written by workerd to this process is CPU on the Worker's thread
  // per request; queue batches are still logged ("QUEUE adreel-jobs 7/10 (2311ms)", bench/queue-log.ts).
  logRequests: false,
  handleStructuredLogs: ({ level, message }) => write(level, message),
  // Requests on the stack's port reach the Worker's `LocalFront` entrypoint, which applies
  // wrangler.toml's run_worker_first itself (worker/api/local-front.ts). Through Miniflare's entry
  // Worker, every request also ran a Worker of Miniflare's own on the same thread, rebuilding
  // its Request and Response (and gzipping JSON answers, which Cloudflare's front line does off
  // the Worker's thread); under the load bench the entry's objects were part of the garbage
  // whose collection held workerd's thread longest (perf: Headers, Request and Response
  // destructors in 212 of 356 GC samples). The default entrypoint of a Worker with static
  // assets is, in Miniflare, an RPC proxy and the assets' router, two more isolates on the same
  // thread: 39 % of its JavaScript samples under the load bench (local-front.ts).
  workers: [{ ...options, name: "adreel", modules: true, scriptPath, bindings, unsafeDirectSockets: [{ host: "127.0.0.1", port, entrypoint: front }] } as never],
  // R2 and D1 are served by the stack's storage host (scripts/storage-host.ts), a workerd of
  // their own; this process keeps the Worker, its Durable Objects and the queues.
}), persistTo));
await mf.ready;
// Still correct if it is (one process serves the storage, whichever), but every media byte then
// runs on the Worker's thread again: said, so a slow stack is not a mystery. Checked again while
// it runs: Miniflare drops a storage candidate whose heartbeat is 10 s late (the storage host's
// event loop stalled, the machine suspended), and the one re-registered after it is the newest,
// so this process stays the owner for good.
// Each warning once per change, not every 5 s.
let said = "";
const checkOwner = () => {
  let warning = "";
  try {
    if (servesStorage(persistTo, "adreel")) warning = "this Worker's process serves the stack's R2 and D1 itself: start scripts/storage-host.ts on the same state directory first (or, if it was running, restart the stack)";
  } catch (error) {
    warning = `could not tell which process serves the stack's R2 and D1: ${(error as Error).message}`;
  }
  if (warning && warning !== said) write("warn", warning);
  said = warning;
};
checkOwner();
setInterval(checkOwner, 5_000).unref();
process.stdout.write(`adreel Worker ready on http://127.0.0.1:${port}\n`);

// wrangler.toml's cron triggers (the sweep of staged uploads), which Miniflare does not fire: run
// through the Worker's local front as Cloudflare would run them (scripts/local-crons.ts).
scheduleCrons(config.triggers.crons ?? [], (cron, time) => {
  fetch(`http://127.0.0.1:${port}${LOCAL_SCHEDULED_PATH}?cron=${encodeURIComponent(cron)}&time=${time}`, { method: "POST" })
    .then(async (response) => {
      if (response.status !== 200) write("warn", `cron "${cron}": the scheduled handler answered ${response.status}: ${await response.text()}`);
    })
    .catch((error: unknown) => write("warn", `cron "${cron}": the scheduled handler could not be reached: ${(error as Error).message}`));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void mf.dispose().finally(() => process.exit(0));
  });
}
