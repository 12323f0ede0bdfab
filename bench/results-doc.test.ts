import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replaceSection, table, writeSection } from "./results-doc.ts";

const DOC = `# Benchmarks

Intro text.

## Stitching (bench/stitch.ts)

stitch table
| a | b |

## Load (bench/load.ts)

old load numbers
`;

describe("replaceSection", () => {
  it("replaces only its own section and keeps the others byte for byte", () => {
    const updated = replaceSection(DOC, "## Load (bench/load.ts)", "## Load (bench/load.ts)\n\nnew load numbers\n");
    expect(updated).toContain("new load numbers");
    expect(updated).not.toContain("old load numbers");
    expect(updated.slice(0, updated.indexOf("## Load"))).toBe(DOC.slice(0, DOC.indexOf("## Load")));
  });

  it("replaces a section in the middle without touching the one after it", () => {
    const updated = replaceSection(DOC, "## Stitching (bench/stitch.ts)", "## Stitching (bench/stitch.ts)\n\nnew stitch\n");
    expect(updated).toBe(DOC.replace("stitch table\n| a | b |\n", "new stitch\n"));
  });

  it("appends a missing section at the end, and starts an empty document with a title", () => {
    const appended = replaceSection(DOC, "## Chunk phase", "## Chunk phase\n\nx\n");
    expect(appended.startsWith(DOC.trimEnd())).toBe(true);
    expect(appended.endsWith("\n\n## Chunk phase\n\nx\n")).toBe(true);
    expect(replaceSection("", "## A", "## A\nbody")).toBe("# Benchmarks\n\n## A\nbody\n");
  });

  it("does not mistake a heading that merely starts the same for its own", () => {
    const doc = "# B\n\n## Load (bench/load.ts) extra\n\nkeep\n";
    expect(replaceSection(doc, "## Load (bench/load.ts)", "## Load (bench/load.ts)\n\nmine\n")).toContain("keep");
  });

  it("refuses a section that does not start with its heading", () => {
    expect(() => replaceSection(DOC, "## Load (bench/load.ts)", "no heading")).toThrow(/must start with its heading/);
    expect(() => replaceSection(DOC, "Load", "Load\n")).toThrow(/## /);
  });
});

describe("writeSection", () => {
  it("rewrites the file in place, twice giving the same result", () => {
    const dir = mkdtempSync(join(tmpdir(), "adreel-results-doc-"));
    try {
      const path = join(dir, "BENCHMARKS.md");
      writeFileSync(path, DOC);
      writeSection("## Load (bench/load.ts)", "## Load (bench/load.ts)\n\nv2\n", path);
      const once = readFileSync(path, "utf8");
      writeSection("## Load (bench/load.ts)", "## Load (bench/load.ts)\n\nv2\n", path);
      expect(readFileSync(path, "utf8")).toBe(once);
      expect(once).toContain("stitch table");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("table", () => {
  it("renders a markdown table", () => {
    expect(table(["a", "b"], [[1, "x"]])).toBe("| a | b |\n| --- | --- |\n| 1 | x |");
  });
});
