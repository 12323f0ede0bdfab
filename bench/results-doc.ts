import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * docs/BENCHMARKS.md holds one `## ` section per benchmark. Each benchmark rewrites only its
 * own section, so benchmarks owned by different people (and run at different times) coexist.
 */

export const BENCHMARKS_DOC = join(import.meta.dirname, "..", "docs", "BENCHMARKS.md");

/**
 * `document` with the section that starts with the line `heading` replaced by `section` (which
 * must start with that heading), or appended when there is none. Other sections are kept as they are.
 */
export function replaceSection(document: string, heading: string, section: string): string {
  if (!heading.startsWith("## ")) throw new Error(`a section heading starts with "## ", got "${heading}"`);
  if (!section.startsWith(`${heading}\n`)) throw new Error(`the section must start with its heading line "${heading}"`);
  const body = `${section.trimEnd()}\n`;
  const lines = document.split("\n");
  const start = lines.findIndex((line) => line.trimEnd() === heading);
  if (start < 0) return `${document.trimEnd() || "# Benchmarks"}\n\n${body}`;
  let end = lines.findIndex((line, i) => i > start && line.startsWith("## "));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join("\n").trimEnd();
  const after = lines.slice(end).join("\n").trim();
  return `${before ? `${before}\n\n` : ""}${body}${after ? `\n${after}\n` : ""}`;
}

/** Replace this benchmark's section in docs/BENCHMARKS.md (written to a temp file, then renamed). */
export function writeSection(heading: string, section: string, path = BENCHMARKS_DOC): void {
  mkdirSync(dirname(path), { recursive: true });
  const existing = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, replaceSection(existing, heading, section));
  renameSync(temp, path);
}

/** A markdown table from a header row and body rows. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
