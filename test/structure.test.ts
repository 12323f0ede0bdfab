import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { filesUnder, importsOf, isSource, isTest, isUnder, ROOT } from "./support/source-graph.ts";

/**
 * The layout's rules (docs: README "Development"), checked on the source itself so a change that
 * breaks one fails here rather than in a review.
 */

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

describe("imports", () => {
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
