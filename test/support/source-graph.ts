import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The repository's own import graph, read from the source text: which file imports which. The
 * structure test checks the layout's rules on it (what may import what, what the media-node
 * image holds). Only relative specifiers name our files; packages and `node:` builtins are
 * left out.
 */

export const ROOT = resolve(import.meta.dirname, "..", "..");

const SKIPPED_DIRS = new Set(["node_modules", ".git", ".adreel", ".wrangler", "out"]);

/** Every file under `dir` (repository-relative, `/`-separated). */
export function filesUnder(dir: string): string[] {
  const absolute = join(ROOT, dir);
  if (!existsSync(absolute)) return [];
  if (statSync(absolute).isFile()) return [dir];
  const found: string[] = [];
  for (const name of readdirSync(absolute)) {
    if (SKIPPED_DIRS.has(name)) continue;
    found.push(...filesUnder(dir === "." ? name : `${dir}/${name}`));
  }
  return found;
}

export function isSource(file: string): boolean {
  return /\.(ts|mts|js|mjs)$/.test(file) && !file.endsWith(".d.ts");
}

export function isTest(file: string): boolean {
  return /\.test\.ts$/.test(file);
}

// Static imports and re-exports (`import x from`, `import type`, `export … from`, bare `import "x"`) and dynamic `import("x")`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])([^"']+)\1/gm;

/** The repository files `file` imports, resolved (repository-relative). */
export function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const targets: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[2]!;
    if (!specifier.startsWith(".")) continue;
    targets.push(relative(ROOT, resolve(ROOT, dirname(file), specifier)).split("\\").join("/"));
  }
  return targets;
}

export function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}
