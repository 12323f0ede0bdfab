import { describe, expect, it } from "vitest";
import { dedupeColors, deltaE2000, hexToLab, hexToRgb, labToHex, labToRgb, paletteDistance, rgbToHex, srgbToLab, symmetricPaletteDistance, type Lab } from "./color.ts";

/**
 * Sharma, Wu & Dalal (2005), "The CIEDE2000 Color-Difference Formula: Implementation Notes,
 * Supplementary Test Data, and Mathematical Observations", Color Res. Appl. 30(1), Table 1:
 * all 34 pairs with their published ΔE00 to 4 decimals.
 */
const SHARMA_PAIRS: [Lab, Lab, number][] = [
  [[50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485], 2.0425],
  [[50.0, 3.1571, -77.2803], [50.0, 0.0, -82.7485], 2.8615],
  [[50.0, 2.8361, -74.02], [50.0, 0.0, -82.7485], 3.4412],
  [[50.0, -1.3802, -84.2814], [50.0, 0.0, -82.7485], 1.0],
  [[50.0, -1.1848, -84.8006], [50.0, 0.0, -82.7485], 1.0],
  [[50.0, -0.9009, -85.5211], [50.0, 0.0, -82.7485], 1.0],
  [[50.0, 0.0, 0.0], [50.0, -1.0, 2.0], 2.3669],
  [[50.0, -1.0, 2.0], [50.0, 0.0, 0.0], 2.3669],
  [[50.0, 2.49, -0.001], [50.0, -2.49, 0.0009], 7.1792],
  [[50.0, 2.49, -0.001], [50.0, -2.49, 0.001], 7.1792],
  [[50.0, 2.49, -0.001], [50.0, -2.49, 0.0011], 7.2195],
  [[50.0, 2.49, -0.001], [50.0, -2.49, 0.0012], 7.2195],
  [[50.0, -0.001, 2.49], [50.0, 0.0009, -2.49], 4.8045],
  [[50.0, -0.001, 2.49], [50.0, 0.001, -2.49], 4.8045],
  [[50.0, -0.001, 2.49], [50.0, 0.0011, -2.49], 4.7461],
  [[50.0, -0.001, 2.49], [50.0, 0.0012, -2.49], 4.7461],
  [[50.0, 2.5, 0.0], [50.0, 0.0, -2.5], 4.3065],
  [[50.0, 2.5, 0.0], [73.0, 25.0, -18.0], 27.1492],
  [[50.0, 2.5, 0.0], [61.0, -5.0, 29.0], 22.8977],
  [[50.0, 2.5, 0.0], [56.0, -27.0, -3.0], 31.903],
  [[50.0, 2.5, 0.0], [58.0, 24.0, 15.0], 19.4535],
  [[50.0, 2.5, 0.0], [50.0, 3.1736, 0.5854], 1.0],
  [[50.0, 2.5, 0.0], [50.0, 3.2972, 0.0], 1.0],
  [[50.0, 2.5, 0.0], [50.0, 1.8634, 0.5757], 1.0],
  [[50.0, 2.5, 0.0], [50.0, 3.2592, 0.335], 1.0],
  [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
  [[63.0109, -31.0961, -5.8663], [62.8187, -29.7946, -4.0864], 1.263],
  [[61.2901, 3.7196, -5.3901], [61.4292, 2.248, -4.962], 1.8731],
  [[35.0831, -44.1164, 3.7933], [35.0232, -40.0716, 1.5901], 1.8645],
  [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
  [[36.4612, 47.858, 18.3852], [36.2715, 50.5065, 21.2231], 1.4146],
  [[90.8027, -2.0831, 1.441], [91.1528, -1.6435, 0.0447], 1.4441],
  [[90.9257, -0.5406, -0.9208], [88.6381, -0.8985, -0.7239], 1.5381],
  [[6.7747, -0.2908, -2.4247], [5.8714, -0.0985, -2.2286], 0.6377],
  [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
];

describe("deltaE2000", () => {
  it.each(SHARMA_PAIRS.map((pair, i) => [i + 1, ...pair] as const))("matches Sharma et al. pair %i", (_n, lab1, lab2, expected) => {
    expect(deltaE2000(lab1, lab2)).toBeCloseTo(expected, 4);
    // The formula is symmetric; the table lists each pair once.
    expect(deltaE2000(lab2, lab1)).toBeCloseTo(expected, 4);
  });

  it("is exactly zero for identical colours", () => {
    expect(deltaE2000([41.2, 12.5, -30.1], [41.2, 12.5, -30.1])).toBe(0);
  });
});

describe("sRGB ↔ Lab (D65)", () => {
  it("matches the standard values of the sRGB primaries and white", () => {
    const cases: [string, Lab][] = [
      ["#000000", [0, 0, 0]],
      ["#FFFFFF", [100, 0, 0]],
      ["#FF0000", [53.24, 80.09, 67.2]],
      ["#00FF00", [87.73, -86.18, 83.18]],
      ["#0000FF", [32.3, 79.19, -107.86]],
    ];
    for (const [hex, [l, a, b]] of cases) {
      const lab = hexToLab(hex);
      expect(lab[0], `${hex} L*`).toBeCloseTo(l, 1);
      expect(lab[1], `${hex} a*`).toBeCloseTo(a, 1);
      expect(lab[2], `${hex} b*`).toBeCloseTo(b, 1);
    }
  });

  it("greys are achromatic", () => {
    for (const v of [1, 17, 64, 128, 200, 254]) {
      const [, a, b] = srgbToLab([v, v, v]);
      expect(Math.abs(a)).toBeLessThan(0.01);
      expect(Math.abs(b)).toBeLessThan(0.01);
    }
  });

  it("round-trips every colour of a 16-step RGB lattice through Lab to the same hex", () => {
    for (let r = 0; r < 256; r += 17)
      for (let g = 0; g < 256; g += 17)
        for (let b = 0; b < 256; b += 17) {
          const hex = rgbToHex([r, g, b]);
          expect(labToHex(srgbToLab([r, g, b]))).toBe(hex);
        }
  });

  it("clamps out-of-gamut Lab into 0..255", () => {
    const rgb = labToRgb([50, 120, -120]);
    for (const channel of rgb) {
      expect(channel).toBeGreaterThanOrEqual(0);
      expect(channel).toBeLessThanOrEqual(255);
    }
  });
});

describe("hex", () => {
  it("parses 6 and 3 digit forms with or without #", () => {
    expect(hexToRgb("#1a2B3c")).toEqual([0x1a, 0x2b, 0x3c]);
    expect(hexToRgb("1A2B3C")).toEqual([0x1a, 0x2b, 0x3c]);
    expect(hexToRgb("#fa0")).toEqual([0xff, 0xaa, 0x00]);
  });
  it("rejects anything else, naming the value", () => {
    expect(() => hexToRgb("#12345")).toThrow(/"#12345"/);
    expect(() => hexToRgb("red")).toThrow(/not a hex colour/);
  });
  it("formats uppercase #RRGGBB, rounding and clamping", () => {
    expect(rgbToHex([255.4, -3, 9.6])).toBe("#FF000A");
  });
});

describe("paletteDistance", () => {
  const red = hexToLab("#C81E28");
  const blue = hexToLab("#145AC8");
  const yellow = hexToLab("#F0DC3C");

  it("is 0 when every colour of a appears in b", () => {
    expect(paletteDistance([{ lab: red, share: 0.7 }, { lab: blue, share: 0.3 }], [{ lab: blue, share: 0.5 }, { lab: red, share: 0.2 }, { lab: yellow, share: 0.3 }])).toBe(0);
  });

  it("is the share-weighted mean of each colour's nearest ΔE2000", () => {
    const nearRed = srgbToLab([190, 40, 50]);
    const a = [
      { lab: nearRed, share: 0.75 },
      { lab: yellow, share: 0.25 },
    ];
    const b = [
      { lab: red, share: 0.5 },
      { lab: blue, share: 0.5 },
    ];
    const toYellow = Math.min(deltaE2000(yellow, red), deltaE2000(yellow, blue));
    const expected = 0.75 * deltaE2000(nearRed, red) + 0.25 * toYellow;
    expect(paletteDistance(a, b)).toBeCloseTo(expected, 10);
    // Directional: b's blue has no counterpart in a, which only matters the other way round.
    expect(paletteDistance(b, a)).not.toBeCloseTo(paletteDistance(a, b), 3);
  });

  it("normalises shares that do not sum to 1", () => {
    const a = [{ lab: red, share: 2 }, { lab: yellow, share: 2 }];
    const b = [{ lab: red, share: 1 }];
    expect(paletteDistance(a, b)).toBeCloseTo(deltaE2000(yellow, red) / 2, 10);
  });

  it("refuses empty palettes", () => {
    expect(() => paletteDistance([], [{ lab: red, share: 1 }])).toThrow(/non-empty/);
  });
});

describe("dedupeColors", () => {
  it("drops near-duplicates, keeps order and the first occurrence, uppercases", () => {
    expect(dedupeColors(["#c81e28", "#C91E28", "#145ac8", "#C81E28", "#F0DC3C", "#fff"])).toEqual(["#C81E28", "#145AC8", "#F0DC3C", "#FFFFFF"]);
  });
  it("honours the threshold", () => {
    const a = "#808080";
    const b = "#8A8A8A"; // ΔE2000 ≈ 3.66 from a
    const d = deltaE2000(hexToLab(a), hexToLab(b));
    expect(dedupeColors([a, b], d + 0.01)).toEqual([a]);
    expect(dedupeColors([a, b], d - 0.01)).toEqual([a, b]);
  });
});

describe("symmetricPaletteDistance", () => {
  const teal = [{ lab: hexToLab("#1F6F78"), share: 0.6 }, { lab: hexToLab("#F2C14E"), share: 0.4 }];
  const darker = [{ lab: hexToLab("#1A5F66"), share: 0.6 }, { lab: hexToLab("#E0B040"), share: 0.4 }];
  const magenta = [{ lab: hexToLab("#C0187A"), share: 0.7 }, { lab: hexToLab("#101010"), share: 0.3 }];

  it("is the mean of both directions: zero for one palette, the same either way, growing with the difference", () => {
    expect(symmetricPaletteDistance(teal, teal)).toBe(0);
    expect(symmetricPaletteDistance(teal, magenta)).toBeCloseTo(symmetricPaletteDistance(magenta, teal), 10);
    expect(symmetricPaletteDistance(teal, magenta)).toBeCloseTo((paletteDistance(teal, magenta) + paletteDistance(magenta, teal)) / 2, 10);
    expect(symmetricPaletteDistance(teal, darker)).toBeLessThan(symmetricPaletteDistance(teal, magenta));
    // One colour against another is exactly their ΔE2000.
    expect(symmetricPaletteDistance([{ lab: hexToLab("#1F6F78"), share: 1 }], [{ lab: hexToLab("#C0187A"), share: 1 }])).toBeCloseTo(deltaE2000(hexToLab("#1F6F78"), hexToLab("#C0187A")), 10);
  });
});
