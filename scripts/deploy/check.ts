import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { PRODUCTION_ENV } from "./plan.ts";

/**
 * CI's deploy checks (`npm run deploy:check`, run by .ci/run after `npm test`):
 *
 * 1. `wrangler deploy --dry-run --env production --outdir <tmp>` builds the production bundle;
 *    its size, raw and gzipped, is printed and held to the Workers limits below. Wrangler
 *    builds the container image even in a dry run; where no Docker daemon answers (this CI
 *    machine) the image build is skipped with `--containers-rollout=none`, and the Dockerfile
 *    is checked by scripts/deploy/dockerfile.test.ts instead.
 * 2. `wrangler types` is regenerated and compared with worker/worker-configuration.d.ts
 *    (`wrangler types --check` compares only the config hash in the header, so a hand-edited
 *    or stale body would pass it).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const TYPES = join("worker", "worker-configuration.d.ts");

/**
 * Worker size limits. Compressed: 3 MB on Workers Free, 10 MB on Paid (Cloudflare docs
 * "Workers limits", read 2026-12-04); we hold the bundle to the Free plan's 3 MiB so it
 * deploys on any plan. Uncompressed: 64 MiB, the limit wrangler 4.156.2's bundle reporter
 * measures against (MAX_UNCOMPRESSED_SIZE_BYTES, cloudflare/workers-sdk#14001).
 */
export const LIMITS = { gzipBytes: 3 * 1024 * 1024, rawBytes: 64 * 1024 * 1024 };

function run(args: string[]): { status: number; output: string } {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

function dockerAnswers(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

/** The modules wrangler would upload (what it measures: every module, no source maps). */
export function bundleSize(outdir: string): { raw: number; gzip: number; files: string[] } {
  const files = readdirSync(outdir).filter((file) => /\.(m?js|wasm|bin|txt|html|sql)$/.test(file) && file !== "README.md");
  const bytes = Buffer.concat(files.map((file) => readFileSync(join(outdir, file))));
  return { raw: bytes.length, gzip: gzipSync(bytes).length, files };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

function checkBundle(): string[] {
  const outdir = mkdtempSync(join(tmpdir(), "adreel-bundle-"));
  try {
    const args = ["deploy", "--dry-run", "--env", PRODUCTION_ENV, "--outdir", outdir];
    if (!dockerAnswers()) {
      console.log("deploy check: no Docker daemon here, so the dry run skips the container image (--containers-rollout=none)");
      args.push("--containers-rollout=none");
    }
    const built = run(args);
    if (built.status !== 0) return [`wrangler ${args.join(" ")} failed:\n${built.output}`];
    const size = bundleSize(outdir);
    console.log(`deploy check: production bundle ${size.files.join(", ")}: ${kib(size.raw)} raw / ${kib(size.gzip)} gzip (limits ${kib(LIMITS.rawBytes)} raw, ${kib(LIMITS.gzipBytes)} gzip)`);
    const problems: string[] = [];
    if (size.files.length === 0) problems.push("the dry run wrote no Worker module");
    if (size.gzip > LIMITS.gzipBytes) problems.push(`the bundle is ${kib(size.gzip)} gzipped, over the ${kib(LIMITS.gzipBytes)} limit`);
    if (size.raw > LIMITS.rawBytes) problems.push(`the bundle is ${kib(size.raw)} uncompressed, over the ${kib(LIMITS.rawBytes)} limit`);
    return problems;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The generated file names its own path in its first line; compare everything else. */
const body = (text: string) => text.split("\n").slice(2).join("\n");

function checkTypes(): string[] {
  // Generated beside the real file so its relative imports (`./index`) come out the same.
  const fresh = join("worker", `.worker-configuration.check-${process.pid}.d.ts`);
  try {
    const generated = run(["types", "--strict-vars=false", fresh]);
    if (generated.status !== 0) return [`wrangler types failed:\n${generated.output}`];
    const committed = readFileSync(join(ROOT, TYPES), "utf8");
    const regenerated = readFileSync(join(ROOT, fresh), "utf8");
    if (body(committed) === body(regenerated)) {
      console.log(`deploy check: ${TYPES} matches wrangler types`);
      return [];
    }
    const a = body(committed).split("\n");
    const b = body(regenerated).split("\n");
    const line = a.findIndex((text, i) => text !== b[i]);
    return [`${TYPES} is stale (first difference at line ${line + 3}: ${JSON.stringify(a[line])} vs ${JSON.stringify(b[line])}); run npm run types`];
  } finally {
    rmSync(join(ROOT, fresh), { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = [...checkBundle(), ...checkTypes()];
  for (const problem of problems) console.error(`deploy check FAILED: ${problem}`);
  process.exitCode = problems.length ? 1 : 0;
}
