import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../scripts/stack.ts";
import { costTable, presetEstimates } from "../scripts/costs.ts";

describe("README's preset costs", () => {
  it("are what `npm run costs` computes from the list prices", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const table = /<!-- costs:begin -->\n([\s\S]*?)\n<!-- costs:end -->/.exec(readme)?.[1];
    expect(table).toBe(costTable());
  });

  it("keep a 15 s ad under $0.50 with the budget preset, whatever the archetype", () => {
    for (const usd of presetEstimates("budget", 15)) expect(usd).toBeLessThan(0.5);
  });
});
