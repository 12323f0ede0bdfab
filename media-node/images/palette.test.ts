import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deltaE2000, hexToLab, srgbToLab, type Rgb } from "../../lib/color.ts";
import { AnalyzeImageResponse, type PaletteEntry } from "../../contracts/media.ts";
import { InputError } from "../io.ts";
import { buildServer } from "../server.ts";
import { analyzeImage, paletteOf } from "./palette.ts";
import { postSigned, startOrigin, TEST_SECRET, type TestOrigin } from "../../test/support/origin.ts";

/** Deterministic Gaussian noise (Box–Muller over a Park–Miller generator). */
function noiseSource(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface Region {
  rgb: Rgb;
  /** Fraction of the width, left to right. */
  share: number;
}

/** Vertical bands of known colours, optionally with a vertical gradient and per-pixel noise. */
async function bands(regions: Region[], options: { width?: number; height?: number; gradient?: number; noise?: number; format?: "png" | "jpeg" } = {}) {
  const { width = 400, height = 240, gradient = 0, noise = 0, format = "png" } = options;
  const raw = Buffer.alloc(width * height * 3);
  const gauss = noiseSource(7);
  const edges: number[] = [];
  let acc = 0;
  for (const region of regions) edges.push((acc += region.share) * width);
  for (let y = 0; y < height; y++) {
    const shift = gradient * (y / (height - 1) - 0.5);
    for (let x = 0; x < width; x++) {
      const region = regions[edges.findIndex((edge) => x < edge)] ?? regions.at(-1)!;
      for (let c = 0; c < 3; c++) raw[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(region.rgb[c]! + shift + noise * gauss())));
    }
  }
  const image = sharp(raw, { raw: { width, height, channels: 3 } });
  return format === "png" ? image.png().toBuffer() : image.jpeg({ quality: 88 }).toBuffer();
}

const TRUTH: Region[] = [
  { rgb: [200, 30, 40], share: 0.6 }, // brand red
  { rgb: [20, 90, 200], share: 0.3 }, // blue
  { rgb: [240, 220, 60], share: 0.1 }, // yellow accent
];

function expectRecovered(palette: PaletteEntry[], truth: Region[]) {
  expect(palette.length).toBeGreaterThanOrEqual(truth.length);
  truth.forEach((region, i) => {
    const entry = palette[i]!;
    const delta = deltaE2000(srgbToLab(region.rgb), entry.lab);
    expect(delta, `colour ${i}: ${entry.hex} vs rgb(${region.rgb.join(",")})`).toBeLessThan(5);
    expect(Math.abs(entry.share - region.share), `share of ${entry.hex}`).toBeLessThanOrEqual(0.05);
    // The hex and the Lab of an entry describe the same colour.
    expect(deltaE2000(hexToLab(entry.hex), entry.lab)).toBeLessThan(1);
  });
  // Whatever else was found is minor.
  for (const extra of palette.slice(truth.length)) expect(extra.share).toBeLessThan(0.03);
  for (let i = 1; i < palette.length; i++) expect(palette[i]!.share).toBeLessThanOrEqual(palette[i - 1]!.share);
  for (const entry of palette) expect(entry.hex).toMatch(/^#[0-9A-F]{6}$/);
}

describe("paletteOf", () => {
  it("recovers three solid regions (60/30/10) with their colours and shares", async () => {
    const palette = await paletteOf(await bands(TRUTH));
    expectRecovered(palette, TRUTH);
    expect(palette).toHaveLength(3);
  });

  it("recovers the same palette through noise, a lighting gradient and JPEG compression", async () => {
    const image = await bands(TRUTH, { width: 640, height: 360, gradient: 24, noise: 18, format: "jpeg" });
    expectRecovered(await paletteOf(image), TRUTH);
  });

  it("is deterministic", async () => {
    const image = await bands(TRUTH, { noise: 25, format: "jpeg" });
    expect(await paletteOf(image)).toEqual(await paletteOf(image));
  });

  it("merges clusters closer than ΔE2000 6 and keeps ones further apart", async () => {
    const nearA: Rgb = [120, 160, 90];
    const nearB: Rgb = [124, 163, 95]; // ΔE2000 ≈ 2 from nearA
    const far: Rgb = [120, 160, 150]; // a clearly different teal
    expect(deltaE2000(srgbToLab(nearA), srgbToLab(nearB))).toBeLessThan(6);
    expect(deltaE2000(srgbToLab(nearA), srgbToLab(far))).toBeGreaterThan(6);
    const palette = await paletteOf(
      await bands([
        { rgb: nearA, share: 0.35 },
        { rgb: nearB, share: 0.35 },
        { rgb: far, share: 0.3 },
      ]),
    );
    expect(palette).toHaveLength(2);
    expect(palette[0]!.share).toBeCloseTo(0.7, 1);
    expect(deltaE2000(palette[1]!.lab, srgbToLab(far))).toBeLessThan(1);
  });

  it("returns at most maxColors entries, the largest first", async () => {
    const eight: Rgb[] = [
      [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
      [245, 130, 48], [145, 30, 180], [70, 240, 240], [20, 20, 20],
    ];
    const regions = eight.map((rgb, i) => ({ rgb, share: (i + 1) / 36 }));
    const three = await paletteOf(await bands(regions, { width: 720 }), 3);
    expect(three).toHaveLength(3);
    // The three widest bands are the last three colours.
    for (const [i, rgb] of [eight[7]!, eight[6]!, eight[5]!].entries()) expect(deltaE2000(three[i]!.lab, srgbToLab(rgb))).toBeLessThan(3);
    const six = await paletteOf(await bands(regions, { width: 720 }));
    expect(six).toHaveLength(6);
    expect(six.slice(0, 3)).toEqual(three);
  });

  it("ignores transparent background pixels", async () => {
    const logo = await sharp({ create: { width: 200, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: { create: { width: 100, height: 100, channels: 4, background: { r: 10, g: 120, b: 60, alpha: 1 } } }, left: 50, top: 50 }])
      .png()
      .toBuffer();
    const palette = await paletteOf(logo);
    expect(palette).toHaveLength(1);
    expect(deltaE2000(palette[0]!.lab, srgbToLab([10, 120, 60]))).toBeLessThan(1);
    expect(palette[0]!.share).toBe(1);
  });

  it("refuses bytes that are not an image with an InputError", async () => {
    await expect(paletteOf(Buffer.from("definitely not an image"))).rejects.toBeInstanceOf(InputError);
  });
});

describe("analyzeImage", () => {
  it("reports size, palette and tone statistics within the contract", async () => {
    const result = await analyzeImage(await bands(TRUTH, { width: 320, height: 180 }));
    expect(AnalyzeImageResponse.parse(result)).toEqual(result);
    expect(result.width).toBe(320);
    expect(result.height).toBe(180);
    expect(result.saturation).toBeGreaterThan(0.45);
    expect(result.style).toMatch(/^vivid saturated colour grade/);
  });

  it("calls a pale, low-chroma image bright high-key with a muted pastel palette", async () => {
    const result = await analyzeImage(
      await bands([
        { rgb: [236, 226, 240], share: 0.5 },
        { rgb: [214, 232, 226], share: 0.3 },
        { rgb: [246, 222, 206], share: 0.2 },
      ]),
    );
    expect(result.brightness).toBeGreaterThan(0.85);
    expect(result.lighting).toBe("bright high-key lighting");
    expect(result.style).toMatch(/^muted pastel palette/);
  });

  it("calls a dark image low-key", async () => {
    const result = await analyzeImage(
      await bands([
        { rgb: [18, 16, 24], share: 0.7 },
        { rgb: [60, 40, 30], share: 0.3 },
      ], { noise: 4 }),
    );
    expect(result.brightness).toBeLessThan(0.2);
    expect(result.lighting).toBe("low-key moody lighting");
  });

  it("sees black and white halves as maximum contrast, no saturation", async () => {
    const result = await analyzeImage(
      await bands([
        { rgb: [0, 0, 0], share: 0.5 },
        { rgb: [255, 255, 255], share: 0.5 },
      ]),
    );
    expect(result.contrast).toBeGreaterThan(0.98);
    expect(result.saturation).toBeLessThan(0.01);
    expect(result.style).toBe("high-contrast monochrome look");
    expect(result.palette.map((p) => p.hex).sort()).toEqual(["#000000", "#FFFFFF"]);
  });

  it("reports the displayed size of an EXIF-rotated photo", async () => {
    const portrait = await sharp(await bands(TRUTH, { width: 300, height: 200 })).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const result = await analyzeImage(portrait);
    expect([result.width, result.height]).toEqual([200, 300]);
  });
});

describe("POST /v1/media/images/analyze", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;
  beforeAll(async () => {
    origin = await startOrigin();
    app = await buildServer({ secret: TEST_SECRET });
  });
  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  it("analyses the image at url", async () => {
    origin.serveBytes("/ref.png", await bands(TRUTH), "image/png");
    const response = await postSigned(app, "/v1/media/images/analyze", { url: origin.url("/ref.png") });
    expect(response.statusCode, response.body).toBe(200);
    const result = AnalyzeImageResponse.parse(response.json());
    expectRecovered(result.palette, TRUTH);
  });

  it("answers 422 for something that is not an image", async () => {
    origin.serveBytes("/notes.png", Buffer.from("hello"), "image/png");
    const response = await postSigned(app, "/v1/media/images/analyze", { url: origin.url("/notes.png") });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatch(/could not be decoded/);
  });

  it("refuses an unsigned request with 401", async () => {
    const response = await postSigned(app, "/v1/media/images/analyze", { url: origin.url("/ref.png") }, { sign: false });
    expect(response.statusCode).toBe(401);
  });
});
