import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "./free-port.ts";
import { StackPriority, type StandInPriority } from "./cpu-priority.ts";
import { localSecrets, type Secrets, secret, wranglerBucket } from "./local-settings.ts";
import { MEDIA_NODE_PROCESS_ENV } from "../media-node/capacity.ts";

/**
 * The local stack: media-node, the draft model server (the model provider, speaking
 * Replicate's API), the Worker (scripts/worker-host.ts: the Worker's bundle with its Queues and
 * Durable Objects in Miniflare's workerd) and its storage (scripts/storage-host.ts: R2, with
 * R2's S3 API, and D1, in a workerd of their own), each its own process. Used by `npm run demo`, `npm run dev`, the end-to-end tests and the
 * benchmarks, so they all run the product the same way.
 */

export const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "node_modules", ".bin");
const NODE = join(BIN, "node");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const WORKER_HOST = join(ROOT, "scripts", "worker-host.ts");
const STORAGE_HOST = join(ROOT, "scripts", "storage-host.ts");
/** wrangler.toml's R2 bucket (`[[r2_buckets]]` MEDIA), whose S3 API the storage host serves. */
export const MEDIA_BUCKET = wranglerBucket(ROOT, "MEDIA");

/**
 * How Node runs a checkout's TypeScript servers: as they are, Node 22 stripping the types as it
 * loads them (tsconfig.json's `erasableSyntaxOnly` keeps the code to syntax it can strip), as the
 * media-node image runs (Dockerfile). A bench's `--ref` older than that still needs tsx, whose
 * launcher starts a second node and an esbuild service beside every server.
 */
function typeScriptLoader(root: string): string[] {
  return /"erasableSyntaxOnly"\s*:\s*true/.test(readFileSync(join(root, "tsconfig.json"), "utf8")) ? [] : [TSX];
}

/** What the migrations folder holds (names and contents): a state directory stamped with it has them all applied. */
function migrationsHash(root: string): string {
  const dir = join(root, "migrations");
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".sql")).sort()) hash.update(name).update("\0").update(readFileSync(join(dir, name))).update("\0");
  return hash.digest("hex");
}

async function waitFor(url: string, child: ChildProcess, timeoutMs: number, name: string, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}:\n${logs()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status < 500 || response.status === 503) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not come up at ${url} within ${timeoutMs} ms:\n${logs()}`);
}

export interface StackOptions {
  workerPort?: number;
  mediaPort?: number;
  draftPort?: number;
  /** Directory for local D1/R2/DO state (wrangler --persist-to). */
  stateDir?: string;
  /** Draft provider knobs (latency, failure share). */
  draft?: { latencyMs?: number; failRate?: number; concurrency?: number };
  /**
   * Origins of servers the caller runs beside the stack (a test's brand-asset host), which
   * media-node may fetch brand assets from on plain http and loopback. The stack allows its own
   * Worker and these, nothing else: every other asset URL gets production's policy.
   */
  assetOrigins?: string[];
  /** media-node is older code (a bench's `--ref`) whose allowed origins are origins only (before 7d422cb): the stack's places by their origin. */
  originsOnly?: boolean;
  /** Extra media-node environment, e.g. MEDIA_NODE_TMP for a dedicated temp dir. */
  mediaEnv?: Record<string, string>;
  /** Extra Worker vars, e.g. shorter deadlines for fault tests. */
  vars?: Record<string, string>;
  /** Echo server logs to this process's stderr. */
  verbose?: boolean;
  /**
   * Start the draft server a second time as the Replicate emulator (`DRAFT_EMULATE=replicate`)
   * and run the Worker against it with `MODEL_PROVIDER=replicate`: the real-provider path, offline.
   */
  emulator?: boolean;
  /**
   * Provider settings (PROVIDER_SETTINGS), e.g. `providerSettings(process.env, devVars())` for
   * `npm run dev`. Default: none, so the tests and the demo stay offline whatever is exported.
   */
  provider?: Record<string, string>;
  /** Keep every whole line each server prints (`lines()`), not only a tail: for reading one video's log records. */
  keepLines?: boolean;
  /** CPU priority of media-node and the draft model server against workerd; default `background`. */
  standInPriority?: StandInPriority;
  /** Told what start-up is doing and waiting for (the demo prints it). */
  onProgress?: (message: string) => void;
  /**
   * Told when one of the stack's servers exits after start-up without being stopped (a crash),
   * with its last output; default: written to stderr. Nothing else notices: the storage host's
   * death, say, fails the Worker's D1 and R2 calls for 10 s, after which Miniflare silently serves
   * them from the Worker's own process while every presigned URL is refused.
   */
  onServerExit?: (server: string, how: string, lastOutput: string) => void;
  root?: string;
}

export interface Stack {
  workerUrl: string;
  mediaUrl: string;
  /** The draft model server: the Worker's draft provider (`DRAFT_PROVIDER_URL`). */
  draftUrl: string;
  /** The storage host: R2's S3 API at `${storageUrl}/cdn-cgi/local/r2/s3/<bucket>/<key>`. */
  storageUrl: string;
  /** The Replicate emulator, when started (`emulator: true`): the Worker's `PROVIDER_BASE_URL`. */
  emulatorUrl: string | null;
  /** Its token (the Worker's `REPLICATE_API_TOKEN`), to read its request log. */
  emulatorToken: string | null;
  secrets: Secrets;
  stateDir: string;
  /** Stop and start the Worker's process only (state is kept on disk): a Worker restart. */
  restartWorker(): Promise<void>;
  stopMediaNode(): Promise<void>;
  startMediaNode(): Promise<void>;
  logs(): { worker: string; storage: string; media: string; draft: string; emulator: string };
  /** Every whole line each server printed since the stack started (with `keepLines`; empty otherwise). */
  lines(): { worker: string[]; storage: string[]; media: string[]; draft: string[]; emulator: string[] };
  /** Pids of the spawned server processes (each leads its own process group), null when not running; benchmarks sample their trees in /proc. */
  pids(): { worker: number | null; storage: number | null; media: number | null; draft: number | null };
  stop(): Promise<void>;
}

function tail(buffer: string[], max = 200_000): () => string {
  return () => {
    const text = buffer.join("");
    return text.length > max ? text.slice(-max) : text;
  };
}

/** A process's whole lines, out of its streams' chunks (a chunk may end mid-line; the rest comes with the next on that stream). */
class LineKeeper {
  readonly lines: string[] = [];

  /** A feed for one stream (stdout or stderr), with its own unfinished line. */
  stream(): (text: string) => void {
    let partial = "";
    return (text) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    };
  }
}

function livePid(child: ChildProcess | null): number | null {
  return child && child.exitCode === null && child.signalCode === null ? (child.pid ?? null) : null;
}

/** Servers stopped on purpose (stopChild): any other exit of a server is a crash, and reported. */
const stopped = new WeakSet<ChildProcess>();

function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  stopped.add(child);
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveStop();
    });
    try {
      // Each server runs in its own process group so its children (workerd, ffmpeg) stop too.
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
  });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const root = options.root ?? ROOT;
  const secrets = localSecrets(root);
  const workerPort = options.workerPort ?? (await freePort());
  const mediaPort = options.mediaPort ?? (await freePort());
  const draftPort = options.draftPort ?? (await freePort());
  const storageUrl = `http://127.0.0.1:${await freePort()}`;
  const stateDir = options.stateDir ?? join(root, ".adreel", "state");
  mkdirSync(stateDir, { recursive: true });
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const mediaUrl = `http://127.0.0.1:${mediaPort}`;
  const draftUrl = `http://127.0.0.1:${draftPort}`;
  const emulatorPort = options.emulator ? await freePort() : null;
  const emulatorUrl = emulatorPort ? `http://127.0.0.1:${emulatorPort}` : null;
  const emulatorToken = `r8_emulator_${randomBytes(12).toString("hex")}`;
  // The emulator signs with a secret of its own, as Replicate does: the Worker must verify each
  // webhook with the secret of the provider that made the prediction (draft or emulator).
  const provider: Record<string, string> = options.emulator
    ? { MODEL_PROVIDER: "replicate", PROVIDER_BASE_URL: emulatorUrl!, REPLICATE_API_TOKEN: emulatorToken, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString("base64")}` }
    : (options.provider ?? {});
  const replicate = provider.MODEL_PROVIDER === "replicate";
  // R2's S3 API on the storage host: the media path of every stack but a real provider's (vars below).
  const s3Endpoint = replicate && !options.emulator ? null : `${storageUrl}/cdn-cgi/local/r2/s3`;
  // The real provider's secret is WEBHOOK_SECRET; the draft server signs with its own
  // (DRAFT_WEBHOOK_SECRET), which in draft mode is the one WEBHOOK_SECRET names.
  const webhookSecret = provider.WEBHOOK_SECRET ?? secrets.WEBHOOK_SECRET;
  const draftWebhookSecret = replicate ? secrets.WEBHOOK_SECRET : webhookSecret;
  const workerLog: string[] = [];
  const storageLog: string[] = [];
  const emulatorLog: string[] = [];
  const mediaLog: string[] = [];
  const draftLog: string[] = [];
  const kept = { worker: new LineKeeper(), storage: new LineKeeper(), media: new LineKeeper(), draft: new LineKeeper(), emulator: new LineKeeper() };
  const keep = (buffer: string[], prefix: string, lines: LineKeeper) => {
    const whole = options.keepLines ? lines.stream() : null;
    return (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      buffer.push(text);
      if (buffer.length > 5000) buffer.splice(0, buffer.length - 4000);
      whole?.(text);
      if (options.verbose) process.stderr.write(text.replace(/^/gm, prefix));
    };
  };

  /** D1 migrations, unless this state directory already has exactly these applied (a stamp beside the state). */
  const migrate = async () => {
    const stamp = join(stateDir, ".adreel-migrations");
    const applied = migrationsHash(root);
    if (existsSync(join(stateDir, "v3", "d1")) && existsSync(stamp) && readFileSync(stamp, "utf8") === applied) {
      say("D1 migrations already applied");
      return;
    }
    say("applying D1 migrations...");
    const child = spawn(NODE, [WRANGLER, "d1", "migrations", "apply", "adreel", "--local", "--persist-to", stateDir], { cwd: root, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    const migrateLog: string[] = [];
    child.stdout!.on("data", (c: Buffer) => migrateLog.push(c.toString()));
    child.stderr!.on("data", (c: Buffer) => migrateLog.push(c.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    if (code !== 0) throw new Error(`applying D1 migrations failed:\n${migrateLog.join("")}`);
    writeFileSync(stamp, applied);
  };
  /** Set once every server is up: an exit during start-up is already the start's error. */
  let running = false;
  const onServerExit = options.onServerExit ?? ((server, how, lastOutput) => process.stderr.write(`adreel stack: ${server} exited (${how}) while the stack was running; its last output:\n${lastOutput}\n`));
  const reportCrash = (child: ChildProcess, server: string, log: string[]) =>
    child.once("exit", (code, signal) => {
      if (running && !stopped.has(child)) onServerExit(server, signal ?? `code ${code}`, tail(log, 4000)());
    });
  const t0 = performance.now();
  const say = (message: string) => options.onProgress?.(`${message} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  /** Wait for a server, saying what for. */
  const ready = async (url: string, child: ChildProcess, timeoutMs: number, name: string, logs: () => string) => {
    say(`waiting for ${name} at ${url}`);
    await waitFor(url, child, timeoutMs, name, logs);
    say(`${name} is up`);
  };

  /** `command` in its own process group (stopping it stops its children), its output kept in `log` (and `lines`). */
  const spawnKept = (command: string[], env: Record<string, string | undefined>, log: string[], prefix: string, lines: LineKeeper): ChildProcess => {
    const child = spawn(command[0]!, command.slice(1), { cwd: root, detached: true, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", keep(log, prefix, lines));
    child.stderr!.on("data", keep(log, prefix, lines));
    return child;
  };
  /** A Node server of ours (`node <entry>`), below the Worker's CPU priority unless `standInPriority` is `equal` (cpu-priority.ts). */
  const priority = new StackPriority(options.standInPriority ?? "background");
  const loader = typeScriptLoader(root);
  const spawnServer = async (entry: string, env: Record<string, string | undefined>, log: string[], prefix: string, lines: LineKeeper): Promise<ChildProcess> => {
    const child = spawnKept([...priority.standInCommand(), NODE, ...loader, join(root, entry)], env, log, prefix, lines);
    await priority.standInStarted(child.pid);
    return child;
  };

  let media: ChildProcess | null = null;
  const startMediaNode = async () => {
    const env = {
      MEDIA_NODE_PORT: String(mediaPort),
      MEDIA_NODE_HOST: "127.0.0.1",
      MEDIA_NODE_SECRET: secrets.MEDIA_NODE_SECRET,
      // Media reaches media-node as presigned URLs of the storage host's S3 API, or the Worker's
      // signed /media URLs (a real provider's stack, below), both on http and 127.0.0.1: those
      // folders only (the storage port also serves every object unsigned, under /cdn-cgi/local/r2/public/).
      MEDIA_NODE_ALLOWED_ORIGINS: [`${workerUrl}/media/`, ...(s3Endpoint ? [`${s3Endpoint}/`] : []), ...(options.assetOrigins ?? [])]
        .map((place) => (options.originsOnly ? new URL(place).origin : place))
        .join(","),
      // As in the Dockerfile: glibc's arenas bounded, V8's young generation kept small
      // (capacity.ts), the latter beside any Node options of the caller's.
      ...MEDIA_NODE_PROCESS_ENV,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, MEDIA_NODE_PROCESS_ENV.NODE_OPTIONS].filter(Boolean).join(" "),
      ...options.mediaEnv,
    };
    media = await spawnServer("media-node/main.ts", env, mediaLog, "[media] ", kept.media);
    reportCrash(media, "media-node", mediaLog);
    await ready(`${mediaUrl}/health`, media, 30_000, "media-node", tail(mediaLog));
  };

  let draft: ChildProcess | null = null;
  const startDraft = async () => {
    const env = {
      DRAFT_PORT: String(draftPort),
      DRAFT_HOST: "127.0.0.1",
      DRAFT_PROVIDER_TOKEN: secrets.DRAFT_PROVIDER_TOKEN,
      DRAFT_WEBHOOK_SECRET: draftWebhookSecret,
      DRAFT_PUBLIC_URL: draftUrl,
      DRAFT_LATENCY_MS: String(options.draft?.latencyMs ?? 0),
      DRAFT_FAIL_RATE: String(options.draft?.failRate ?? 0),
      DRAFT_CONCURRENCY: String(options.draft?.concurrency ?? 2),
    };
    draft = await spawnServer("draft/main.ts", env, draftLog, "[draft] ", kept.draft);
    reportCrash(draft, "the draft model server", draftLog);
    // The draft server speaks only Replicate's API: an unauthenticated list answers 401 once it listens.
    await ready(`${draftUrl}/v1/predictions`, draft, 30_000, "draft model server", tail(draftLog));
  };

  let emulator: ChildProcess | null = null;
  const startEmulator = async () => {
    if (!emulatorUrl) return;
    const env = {
      DRAFT_PORT: String(emulatorPort),
      DRAFT_HOST: "127.0.0.1",
      DRAFT_EMULATE: "replicate",
      DRAFT_PROVIDER_TOKEN: emulatorToken,
      DRAFT_WEBHOOK_SECRET: webhookSecret,
      DRAFT_PUBLIC_URL: emulatorUrl,
      DRAFT_LATENCY_MS: String(options.draft?.latencyMs ?? 0),
      DRAFT_CONCURRENCY: String(options.draft?.concurrency ?? 2),
    };
    emulator = await spawnServer("draft/main.ts", env, emulatorLog, "[emulator] ", kept.emulator);
    reportCrash(emulator, "the Replicate emulator", emulatorLog);
    await ready(`${emulatorUrl}/v1/predictions`, emulator, 30_000, "Replicate emulator", tail(emulatorLog));
  };

  // The storage host's S3 credentials: new for each stack, known only to it and the Worker.
  const s3Credentials = { R2_ACCESS_KEY_ID: `adreel${secret(8)}`, R2_SECRET_ACCESS_KEY: secret() };
  let worker: ChildProcess | null = null;
  const vars = {
    PUBLIC_BASE_URL: workerUrl,
    MEDIA_NODE_URL: mediaUrl,
    // Offline unless told otherwise: the Worker also reads .dev.vars, and these outrank it.
    MODEL_PROVIDER: "draft",
    PLANNER: "local",
    ANALYSER: "local",
    ...provider,
    // The draft provider is always there beside a real one (quality "draft" renders on it).
    PROVIDER_BASE_URL: replicate ? (provider.PROVIDER_BASE_URL ?? "https://api.replicate.com") : draftUrl,
    DRAFT_PROVIDER_URL: draftUrl,
    DRAFT_WEBHOOK_SECRET: draftWebhookSecret,
    // Local receivers of callback_url listen on 127.0.0.1 without TLS.
    ALLOW_HTTP_CALLBACKS: "1",
    // One developer key drives demos, load tests and benchmarks here: production limits
    // (worker/config.ts) would throttle them. Pass `vars` to test the limits themselves.
    RATE_LIMIT_PER_MINUTE: "6000",
    GENERATE_RATE_LIMIT_PER_MINUTE: "600",
    MAX_CONCURRENT_VIDEOS: "100",
    // Production's media path (worker/media/media-urls.ts): media-node and the model server get
    // presigned URLs of R2's S3 API (the storage host's), so media bytes never reach the Worker's
    // process. Not with a real provider: Replicate cannot reach 127.0.0.1, so it gets the Worker's
    // /media URLs, through the tunnel PUBLIC_BASE_URL names.
    ...(s3Endpoint ? { R2_ACCOUNT_ID: "local", ...s3Credentials, R2_BUCKET: MEDIA_BUCKET, R2_S3_ENDPOINT: s3Endpoint } : {}),
    ...options.vars,
  };
  /** One of the stack's workerd hosts, at the Worker's CPU priority (cpu-priority.ts). */
  const spawnHost = async (args: string[], env: Record<string, string>, log: string[], prefix: string, lines: LineKeeper): Promise<ChildProcess> => {
    const child = spawnKept([...priority.workerCommand(), NODE, ...args], { CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", ...env }, log, prefix, lines);
    await priority.workerStarted(child.pid);
    return child;
  };
  let storage: ChildProcess | null = null;
  /**
   * After the migrations (from then on it serves D1), beside the Worker's host, which builds the
   * bundle meanwhile and starts the Worker only once this host is registered, so that this is the
   * instance Miniflare elects to serve both hosts' storage (scripts/shared-storage.ts).
   */
  const startStorage = async () => {
    storage = await spawnHost([STORAGE_HOST, "--port", new URL(storageUrl).port, "--persist-to", stateDir, "--bucket", MEDIA_BUCKET], s3Credentials, storageLog, "[storage] ", kept.storage);
    reportCrash(storage, "the storage host", storageLog);
    // Its one Worker answers 404 to anything outside the S3 endpoint. (The Worker's host waits for
    // its registration itself: workerd answers before Miniflare registers the candidate.)
    await ready(`${storageUrl}/`, storage, 60_000, "the storage host", tail(storageLog));
  };
  const startWorker = async () => {
    // This tree's host, whatever `root` is: a benchmark's `--ref` runs an older commit's Worker the same way.
    // Its inspector on a port workerd picks (bench/load-worker.ts finds it among workerd's sockets): see free-port.ts.
    const args = [WORKER_HOST, "--root", root, "--port", String(workerPort), "--persist-to", stateDir, "--inspector-port", "0"];
    // In its environment, not as --var arguments: they hold secrets, and a command line is readable by every user.
    worker = await spawnHost(args, { ADREEL_WORKER_VARS: JSON.stringify(vars) }, workerLog, "[worker] ", kept.worker);
    reportCrash(worker, "the Worker", workerLog);
    await ready(`${workerUrl}/health`, worker, 90_000, "the Worker", tail(workerLog));
  };

  try {
    // All at once: the Worker needs only its D1 schema and its storage (which it waits for) to start, not the other servers.
    // allSettled: a failure of one must not leave the others running unseen.
    const started = await Promise.allSettled([startMediaNode(), startDraft(), startEmulator(), migrate().then(() => Promise.all([startStorage(), startWorker()]))]);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    running = true;
  } catch (error) {
    await Promise.all([stopChild(worker), stopChild(media), stopChild(draft), stopChild(emulator)]);
    await stopChild(storage);
    throw error;
  }

  return {
    workerUrl,
    mediaUrl,
    draftUrl,
    storageUrl,
    emulatorUrl,
    emulatorToken: emulatorUrl ? emulatorToken : null,
    secrets,
    stateDir,
    async restartWorker() {
      await stopChild(worker);
      await startWorker();
    },
    async stopMediaNode() {
      await stopChild(media);
    },
    startMediaNode,
    logs: () => ({ worker: tail(workerLog)(), storage: tail(storageLog)(), media: tail(mediaLog)(), draft: tail(draftLog)(), emulator: tail(emulatorLog)() }),
    lines: () => ({ worker: [...kept.worker.lines], storage: [...kept.storage.lines], media: [...kept.media.lines], draft: [...kept.draft.lines], emulator: [...kept.emulator.lines] }),
    pids: () => ({ worker: livePid(worker), storage: livePid(storage), media: livePid(media), draft: livePid(draft) }),
    async stop() {
      running = false;
      await Promise.all([stopChild(worker), stopChild(media), stopChild(draft), stopChild(emulator)]);
      // Last: the Worker's storage calls go to it.
      await stopChild(storage);
    },
  };
}

/** A development API key for tenant `dev`, created through the admin route. */
export async function createDevKey(stack: Pick<Stack, "workerUrl" | "secrets">, tenant = "dev"): Promise<string> {
  const response = await fetch(`${stack.workerUrl}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.secrets.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ tenant_id: tenant, name: "local development key" }),
  });
  if (!response.ok) throw new Error(`creating a development key failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}
