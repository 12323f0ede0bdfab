import { describe, expect, it } from "vitest";
import { BrandAssets } from "../../contracts/api.ts";
import { chooseReferences } from "./selection.ts";

/**
 * SPEC §5.2–5.3: which brand asset became which reference. Brand assets first, in the
 * order product_images[0], character_images[0], logo, then the remaining ones, up to 3;
 * the rest are generated so the set covers character, product and environment.
 */

const a = (n: number) => `asset:0000000${n}-aaaa-4aaa-8aaa-aaaaaaaaaaaa`;
const choose = (assets: unknown) => chooseReferences({ brand_assets: assets === null ? null : BrandAssets.parse(assets) }).map(({ index, type, source }) => [index, type, source]);

describe("which brand asset becomes which reference", () => {
  it("0 assets: three generated references, character, product and environment", () => {
    const generated = [
      [0, "character", "generated"],
      [1, "product", "generated"],
      [2, "environment", "generated"],
    ];
    expect(choose(null)).toEqual(generated);
    expect(choose({})).toEqual(generated);
  });

  it("1 asset: it is reference 0, and the two subjects it does not cover are generated", () => {
    expect(choose({ product_images: [a(1)] })).toEqual([
      [0, "product", a(1)],
      [1, "character", "generated"],
      [2, "environment", "generated"],
    ]);
    expect(choose({ character_images: [a(1)] })).toEqual([
      [0, "character", a(1)],
      [1, "product", "generated"],
      [2, "environment", "generated"],
    ]);
  });

  it("3 assets of three kinds: product[0], character[0], logo, nothing generated", () => {
    expect(choose({ logo: a(3), character_images: [a(2)], product_images: [a(1)] })).toEqual([
      [0, "product", a(1)],
      [1, "character", a(2)],
      [2, "logo", a(3)],
    ]);
  });

  it("5 assets: the first three by priority; the other two are not used", () => {
    expect(choose({ product_images: [a(1), a(2), a(3)], character_images: [a(4), a(5)] })).toEqual([
      [0, "product", a(1)],
      [1, "character", a(4)],
      [2, "product", a(2)],
    ]);
    expect(choose({ product_images: [a(1), a(2)], character_images: [a(3), a(4)], logo: a(5) })).toEqual([
      [0, "product", a(1)],
      [1, "character", a(3)],
      [2, "logo", a(5)],
    ]);
  });

  it("logo only: the logo, then generated character and product (a logo is not a product shot)", () => {
    expect(choose({ logo: a(1) })).toEqual([
      [0, "logo", a(1)],
      [1, "character", "generated"],
      [2, "product", "generated"],
    ]);
  });

  it("always three references with indexes 0, 1, 2", () => {
    for (const assets of [null, { logo: a(1) }, { product_images: [a(1), a(2), a(3), a(4), a(5)], character_images: [a(6)], logo: a(7) }]) {
      expect(choose(assets).map(([index]) => index)).toEqual([0, 1, 2]);
    }
  });
});
