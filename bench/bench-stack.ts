import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Prediction } from "../contracts/prediction.ts";
import { AdreelClient } from "../cli/client.ts";
import { createDevKey, ROOT, type Stack, type StackOptions, startStack } from "../scripts/stack.ts";

/**
 * The real local stack for one benchmark: fresh state in a temp dir, a development key, and
 * the servers stopped and the state removed afterwards — also on failure and on Ctrl-C.
 */

let snapshot: { root: string; revision: string } | null = null;

/**
 * A copy of the working tree (tracked and untracked files, node_modules linked), taken once
 * per benchmark process. The Worker is bundled from it when its host starts (a restart bundles
 * again), and media-node and the draft server load their sources as they start: with other
 * engineers editing the tree, measuring the live tree measures their edits.
 */
export function sourceSnapshot(): { root: string; revision: string } {
  if (snapshot) return snapshot;
  const root = mkdtempSync(join(tmpdir(), "adreel-bench-src-"));
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 2 ** 20 })
    .split("\0")
    .filter((f) => f && !f.startsWith("docs/") && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile());
  for (const file of files) {
    mkdirSync(join(root, file, ".."), { recursive: true });
    cpSync(join(ROOT, file), join(root, file));
  }
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
  snapshot = { root, revision: `${head}${dirty ? " + uncommitted changes" : ""}` };
  return snapshot;
}

/** For the results: which code ran. */
export function snapshotNote(): string {
  return `${sourceSnapshot().revision}, servers run from a copy of the working tree taken at the start`;
}

const refs = new Map<string, { root: string; revision: string }>();

/**
 * The tree of a git ref (`git archive`), extracted once per benchmark process: the same benchmark
 * can then run the code of another commit (e.g. main before a change) on the same machine in the
 * same run, so their ratio is not skewed by the machine's load. Its node_modules is this tree's,
 * linked, when both lock the same dependencies; otherwise the ref's own scripts/ensure.sh installs
 * them into it (a ref from before a dependency was dropped still builds).
 */
export function refSnapshot(ref: string): { root: string; revision: string } {
  const known = refs.get(ref);
  if (known) return known;
  const revision = execFileSync("git", ["rev-parse", "--short", `${ref}^{commit}`], { cwd: ROOT, encoding: "utf8" }).trim();
  const root = mkdtempSync(join(tmpdir(), "adreel-bench-ref-"));
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  execFileSync("sh", ["-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", revision, root], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  if (readFileSync(join(root, "package-lock.json"), "utf8") === readFileSync(join(ROOT, "package-lock.json"), "utf8")) symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  else {
    console.error(`${ref} locks other dependencies than this tree: installing its own (its scripts/ensure.sh)...`);
    execFileSync("bash", [join(root, "scripts", "ensure.sh")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
  const snapshot = { root, revision: `${ref} (${revision})` };
  refs.set(ref, snapshot);
  return snapshot;
}

export interface BenchStack {
  stack: Stack;
  client: AdreelClient;
  /** From spawning the servers (D1 migrations included) until both answer /health. */
  startupSeconds: number;
}

const live = new Set<Stack>();
let handlersInstalled = false;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping ${live.size} local stack(s)`);
      void Promise.allSettled([...live].map((s) => s.stop())).then(() => process.exit(130));
    });
  }
}

/**
 * The API's per-key and per-tenant limits (60 requests and 10 generations per minute per key,
 * 5 videos in progress per tenant) would refuse the benchmarks' own traffic: they are raised.
 * The limiter still runs on every /api request.
 */
export const BENCH_LIMITS = { RATE_LIMIT_PER_MINUTE: "1000000", GENERATE_RATE_LIMIT_PER_MINUTE: "10000", MAX_CONCURRENT_VIDEOS: "10000" };

/**
 * Where a benchmark that measures the Worker's request latency keeps the stack's state: in
 * memory (tmpfs) where the machine has it. Locally every Durable Object's SQLite write (a
 * limiter's count, a run's event) and every D1 and R2 write is a synchronous file write on
 * workerd's one thread, which a disk shared with other work makes wait; in production those
 * stores are services of their own. Two runs of bench/load.ts --n 10 a few minutes apart on a
 * busy machine (load average ~10), state on disk then in memory: status p50 / p99 61 / 588 ms
 * then 23 / 192 ms, idle p99 55 then 14 ms (single runs: noisy).
 */
const MEMORY_DIR = "/dev/shm";

/**
 * `options.root`: the code to run (default: this working tree's snapshot; `refSnapshot(ref).root`
 * for a commit's). `stateInMemory`: the state in MEMORY_DIR, where there is one.
 */
export async function withStack<T>(options: Omit<StackOptions, "stateDir"> & { stateInMemory?: boolean }, use: (bench: BenchStack) => Promise<T>): Promise<T> {
  installSignalHandlers();
  const { stateInMemory, ...stackOptions } = options;
  const dir = mkdtempSync(join(stateInMemory && existsSync(MEMORY_DIR) ? MEMORY_DIR : tmpdir(), "adreel-bench-state-"));
  const t0 = performance.now();
  let stack: Stack | null = null;
  try {
    // A root given is a `--ref`'s older code: its media-node may take origins only.
    stack = await startStack({ ...stackOptions, vars: { ...BENCH_LIMITS, ...options.vars }, root: options.root ?? sourceSnapshot().root, originsOnly: options.root !== undefined, stateDir: join(dir, "state") });
    live.add(stack);
    const startupSeconds = (performance.now() - t0) / 1000;
    const client = new AdreelClient(stack.workerUrl, await createDevKey(stack));
    return await use({ stack, client, startupSeconds });
  } catch (error) {
    if (stack) {
      const logs = stack.logs();
      console.error(`--- worker log (tail) ---\n${logs.worker.slice(-3000)}\n--- media-node log (tail) ---\n${logs.media.slice(-3000)}\n--- draft log (tail) ---\n${logs.draft.slice(-3000)}\n--- storage host log (tail) ---\n${logs.storage.slice(-3000)}`);
    }
    throw error;
  } finally {
    if (stack) {
      await stack.stop();
      live.delete(stack);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every prediction the draft provider holds, oldest first (its list pages newest first). */
export async function draftPredictions(stack: Stack): Promise<Prediction[]> {
  const all: Prediction[] = [];
  let url: string | null = `${stack.draftUrl}/v1/predictions`;
  for (let page = 0; url && page < 1000; page++) {
    const response: Response = await fetch(url, { headers: { authorization: `Bearer ${stack.secrets.DRAFT_PROVIDER_TOKEN}` }, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`listing draft predictions: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { next: string | null; results: Prediction[] };
    all.push(...body.results);
    url = body.next;
  }
  return all.reverse();
}

/** Change the draft provider's knobs at runtime (draft/README.md: POST /v1/_draft/config). */
export async function setDraftKnobs(stack: Stack, knobs: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${stack.draftUrl}/v1/_draft/config`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.secrets.DRAFT_PROVIDER_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(knobs),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`setting draft knobs: ${response.status} ${await response.text()}`);
}

/** The benchmark was run directly (`tsx bench/x.ts`), not imported. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return !!script && moduleUrl === pathToFileURL(resolve(script)).href;
}

/** `--name value` from argv, as a number, with a default. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number, got "${process.argv[i + 1]}"`);
  return value;
}

/** Per model: each prediction's wait for a render slot and its render (s), and how many did not succeed; those created from `since` (ms) on. */
export function providerStats(predictions: Prediction[], since: number) {
  const byModel = new Map<string, { wait: number[]; render: number[]; failed: number }>();
  for (const p of predictions) {
    const created = Date.parse(p.created_at ?? "");
    if (!(created >= since)) continue;
    const started = Date.parse(p.started_at ?? "");
    const completed = Date.parse(p.completed_at ?? "");
    const entry = byModel.get(p.model ?? "?") ?? { wait: [], render: [], failed: 0 };
    if (Number.isFinite(started)) entry.wait.push((started - created) / 1000);
    if (Number.isFinite(started) && Number.isFinite(completed)) entry.render.push((completed - started) / 1000);
    if (p.status !== "succeeded") entry.failed++;
    byModel.set(p.model ?? "?", entry);
  }
  return byModel;
}
