import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linearToSrgb, srgbToLinear, type Rgb } from "../../lib/color.ts";
import { CompositeResponse } from "../../contracts/media.ts";
import { buildServer } from "../server.ts";
import { compositeLayers, normalizeWeights } from "./composite.ts";
import { postSigned, startOrigin, TEST_SECRET, type TestOrigin } from "../../test/support/origin.ts";

function solid(width: number, height: number, [r, g, b]: Rgb, format: "png" | "jpeg" = "png"): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
  return format === "png" ? image.png().toBuffer() : image.jpeg({ quality: 95 }).toBuffer();
}

async function pixel(png: Buffer, x: number, y: number): Promise<Rgb> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

/** What a linear-light blend of one 8-bit channel should give, computed independently per channel. */
function linearBlend(values: number[], weights: number[]): number {
  const light = values.reduce((sum, v, i) => sum + weights[i]! * srgbToLinear(v / 255), 0);
  return Math.round(255 * linearToSrgb(light));
}

describe("compositeLayers", () => {
  it("blends 70/30 in linear light: white over black is 218, not the sRGB-average 179", async () => {
    const png = await compositeLayers(
      [
        { image: await solid(64, 64, [255, 255, 255]), weight: 0.7 },
        { image: await solid(64, 64, [0, 0, 0]), weight: 0.3 },
      ],
      64,
      64,
    );
    // 0.7 of full light, sRGB-encoded: 1.055·0.7^(1/2.4) − 0.055 = 0.8543 → 217.8.
    for (const channel of await pixel(png, 32, 32)) expect(Math.abs(channel - 218)).toBeLessThanOrEqual(2);
  });

  it("blends two solid colours 70/30 to the expected value (±2) at every pixel", async () => {
    const red: Rgb = [200, 30, 40];
    const blue: Rgb = [20, 90, 200];
    const png = await compositeLayers(
      [
        { image: await solid(160, 90, red), weight: 0.7 },
        { image: await solid(40, 40, blue), weight: 0.3 },
      ],
      96,
      54,
    );
    const expected = [0, 1, 2].map((c) => linearBlend([red[c]!, blue[c]!], [0.7, 0.3]));
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([96, 54, 3]);
    for (let i = 0; i < data.length; i += 3) {
      for (let c = 0; c < 3; c++) expect(Math.abs(data[i + c]! - expected[c]!)).toBeLessThanOrEqual(2);
    }
  });

  it("normalises weights to sum 1", async () => {
    expect(normalizeWeights([0.35, 0.15])).toEqual([0.7, 0.3]);
    const layers = async (a: number, b: number) => [
      { image: await solid(32, 32, [250, 120, 10]), weight: a },
      { image: await solid(32, 32, [10, 40, 90]), weight: b },
    ];
    const halfScale = await compositeLayers(await layers(0.35, 0.15), 32, 32);
    const unit = await compositeLayers(await layers(0.7, 0.3), 32, 32);
    expect(await pixel(halfScale, 5, 5)).toEqual(await pixel(unit, 5, 5));
    await expect(compositeLayers(await layers(0, 0), 32, 32)).rejects.toThrow(/sum to 0/);
  });

  it("resizes each layer to cover the frame, cropping the centre", async () => {
    // 300x100 in thirds red | green | blue; covering 100x100 keeps only the green middle.
    const raw = Buffer.alloc(300 * 100 * 3);
    for (let y = 0; y < 100; y++)
      for (let x = 0; x < 300; x++) raw.set(x < 100 ? [255, 0, 0] : x < 200 ? [0, 255, 0] : [0, 0, 255], (y * 300 + x) * 3);
    const wide = await sharp(raw, { raw: { width: 300, height: 100, channels: 3 } }).png().toBuffer();
    const png = await compositeLayers([{ image: wide, weight: 1 }], 100, 100);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([100, 100, "png"]);
    for (const [x, y] of [[2, 2], [97, 2], [50, 50], [2, 97], [97, 97]] as const) {
      const [r, g, b] = await pixel(png, x, y);
      expect(g).toBeGreaterThan(250);
      expect(r + b).toBeLessThan(8);
    }
  });

  it("names the layer whose image cannot be decoded", async () => {
    await expect(
      compositeLayers(
        [
          { image: await solid(32, 32, [1, 2, 3]), weight: 0.5 },
          { image: Buffer.from("not an image"), weight: 0.5 },
        ],
        32,
        32,
      ),
    ).rejects.toMatchObject({ field: "layers.1.url", message: expect.stringMatching(/^layers\.1\.url: image could not be decoded/) });
  });
});

describe("POST /v1/media/images/composite", () => {
  let app: FastifyInstance;
  let origin: TestOrigin;
  beforeAll(async () => {
    origin = await startOrigin();
    app = await buildServer({ secret: TEST_SECRET });
    origin.serveBytes("/frame.png", await solid(1024, 576, [200, 30, 40]), "image/png");
    origin.serveBytes("/style.jpg", await solid(512, 512, [20, 90, 200], "jpeg"), "image/jpeg");
  });
  afterAll(async () => {
    await app.close();
    await origin.close();
  });

  it("stores a PNG of the requested size at output_url", async () => {
    const response = await postSigned(app, "/v1/media/images/composite", {
      layers: [
        { url: origin.url("/frame.png"), weight: 0.7 },
        { url: origin.url("/style.jpg"), weight: 0.3 },
      ],
      width: 1024,
      height: 576,
      output_url: origin.url("/out/composite.png?sig=abc"),
    });
    expect(response.statusCode, response.body).toBe(200);
    const stored = origin.uploads.get("/out/composite.png");
    expect(stored?.contentType).toBe("image/png");
    expect(CompositeResponse.parse(response.json())).toEqual({ width: 1024, height: 576, bytes: stored!.body.length });
    const meta = await sharp(stored!.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 1024, 576]);
    const expected = [0, 1, 2].map((c) => linearBlend([[200, 30, 40][c]!, [20, 90, 200][c]!], [0.7, 0.3]));
    const got = await pixel(stored!.body, 512, 288);
    // ±3: the JPEG layer itself is within a code value or two of its nominal colour.
    got.forEach((v, c) => expect(Math.abs(v - expected[c]!)).toBeLessThanOrEqual(3));
  });

  it("answers 422 naming the field for a bad request", async () => {
    const response = await postSigned(app, "/v1/media/images/composite", { layers: [], width: 64, height: 64, output_url: origin.url("/out/x.png") });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatch(/^layers/);
  });

  it("refuses an unsigned request with 401", async () => {
    const response = await postSigned(app, "/v1/media/images/composite", {}, { sign: false });
    expect(response.statusCode).toBe(401);
  });
});
