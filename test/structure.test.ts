import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCircular, parseDependencyTree } from "dpdm";
import { describe, expect, test } from "vitest";
import { EndStatus } from "../contracts/api.ts";
import { filesUnder, importsOf, isSource, isTest, isUnder, ROOT } from "./support/source-graph.ts";

/**
 * The layout's rules (docs: README "Development"), checked on the source itself so a change that
 * breaks one fails here rather than in a review.
 */

/** Every folder of our code: the import graph and the size rule cover all of it. */
const CODE = ["worker", "media-node", "draft", "contracts", "lib", "cli", "scripts", "bench", "test", "public"];

/** Folders of code that ships or runs the product; test support must never be imported from them. */
const PRODUCTION = ["worker", "media-node", "draft", "contracts", "lib", "cli", "scripts", "bench"];

const sources = (dirs: string[]) => dirs.flatMap(filesUnder).filter(isSource);

/** What `COPY` puts into the media-node image: the files of every source path, less .dockerignore's. */
function imageFiles(): string[] {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim().replace(/\/$/, ""))
    .filter((line) => line && !line.startsWith("#"));
  const copied: string[] = [];
  for (const line of dockerfile.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== "COPY" && words[0]?.toUpperCase() !== "ADD") continue;
    const args = words.slice(1).filter((w) => !w.startsWith("--"));
    if (words.some((w) => w.startsWith("--from="))) continue; // from another stage, not from this tree
    copied.push(...args.slice(0, -1).map((source) => source.replace(/^\.\//, "").replace(/\/$/, "") || "."));
  }
  return copied.flatMap(filesUnder).filter((file) => !ignored.some((pattern) => isUnder(file, pattern)));
}

describe("the media-node image", () => {
  const files = imageFiles();

  test("holds the media service and what it imports, and no draft model server, Worker or test code", () => {
    expect(files).toContain("media-node/main.ts");
    const foreign = files.filter((file) => ["draft", "worker", "test", "bench"].some((dir) => isUnder(file, dir)));
    expect(foreign).toEqual([]);
  });

  test("is self-contained: every relative import of the service resolves inside the image", () => {
    const inImage = new Set(files);
    const missing = files
      .filter((file) => isSource(file) && !isTest(file))
      .flatMap((file) => importsOf(file).filter((target) => !inImage.has(target)).map((target) => `${file} → ${target}`));
    expect(missing).toEqual([]);
  });
});

describe("what imports what", () => {
  test("media-node never imports the draft model server (the draft server may use media-node's modules)", () => {
    const offending = sources(["media-node"]).flatMap((file) => importsOf(file).filter((target) => isUnder(target, "draft")).map((target) => `${file} → ${target}`));
    expect(offending).toEqual([]);
  });

  test("production code never imports test support", () => {
    const offending = sources(PRODUCTION)
      .filter((file) => !isTest(file))
      .flatMap((file) => importsOf(file).filter((target) => isUnder(target, "test")).map((target) => `${file} → ${target}`));
    expect(offending).toEqual([]);
  });
});

describe("imports", () => {
  // Type-only imports count: a cycle of types still ties the modules' meanings together, and
  // dpdm (without --transform) cannot tell a module that imports only types from one that runs code.
  test("form no cycle anywhere", async () => {
    const entries = CODE.filter((dir) => dir !== "public").map((dir) => `${dir}/**/*.ts`);
    const tree = await parseDependencyTree(entries, { context: ROOT, cwd: ROOT, transform: false, skipDynamicImports: false, exclude: /node_modules|worker-configuration\.d\.ts/, onProgress: () => undefined });
    expect(parseCircular(tree).map((cycle) => cycle.join(" → "))).toEqual([]);
  });

  test("never reach into run/ from outside it: the run uses steps, pricing and the domain, never the other way round", () => {
    // worker/index.ts is the entry point: it exports the VideoRun class to the runtime.
    const outside = sources(PRODUCTION).filter((file) => !isTest(file) && !isUnder(file, "worker/run") && file !== "worker/index.ts");
    const offending = outside.flatMap((file) => importsOf(file).filter((target) => isUnder(target, "worker/run")).map((target) => `${file} → ${target}`));
    expect(offending).toEqual([]);
  });
});

describe("the job table", () => {
  test("is written only by the job lifecycle's module (worker/run/job-machine.ts)", () => {
    const writes = /\b(UPDATE\s+jobs|INTO\s+jobs|DELETE\s+FROM\s+jobs)\b/i;
    const offending = sources(PRODUCTION)
      .filter((file) => !isTest(file) && file !== "worker/run/job-machine.ts")
      .filter((file) => writes.test(readFileSync(join(ROOT, file), "utf8")));
    expect(offending).toEqual([]);
  });
});

describe("file size", () => {
  const LIMIT = 500;

  test(`no source file is over ${LIMIT} lines (data, lockfiles and generated types excepted)`, () => {
    const code = CODE.flatMap(filesUnder).filter((file) => /\.(ts|mts|js|mjs|sh|css|html)$/.test(file) && !file.endsWith(".d.ts"));
    const lines = (file: string) => readFileSync(join(ROOT, file), "utf8").split("\n").length;
    expect(code.filter((file) => lines(file) > LIMIT).map((file) => `${file}: ${lines(file)} lines`)).toEqual([]);
  });
});

describe("the live page", () => {
  test("ends a run on exactly the contract's EndStatus values (public/app.js is plain JavaScript and cannot import it)", () => {
    const app = readFileSync(join(ROOT, "public", "app.js"), "utf8");
    const literal = /const END_STATUSES = (\[[^\]]*\]);/.exec(app)?.[1];
    expect(literal, "public/app.js declares END_STATUSES").toBeDefined();
    expect(JSON.parse(literal!)).toEqual(EndStatus.options);
  });
});
