import sharp from "sharp";
import { describe, expect, test } from "vitest";
import { InputError } from "../media-node/io.ts";
import { type DraftImageRequest, drawDraftImage } from "./image.ts";

// The draft image model: deterministic, and visibly driven by prompt, seed and references.

const W = 192;
const H = 108;

const draw = (prompt: string, extra: Partial<DraftImageRequest> = {}) =>
  drawDraftImage({ prompt, seed: 0, width: W, height: H, format: "png", references: [], ...extra });

async function rgb(image: Buffer): Promise<Buffer> {
  return sharp(image).resize(W, H, { fit: "fill" }).removeAlpha().raw().toBuffer();
}

/** Mean absolute difference per channel value, 0..255. */
async function difference(a: Buffer, b: Buffer): Promise<number> {
  const [pa, pb] = [await rgb(a), await rgb(b)];
  let sum = 0;
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i]! - pb[i]!);
  return sum / pa.length;
}

async function meanColour(image: Buffer, fromX = 0, toX = W): Promise<[number, number, number]> {
  const pixels = await rgb(image);
  const sums = [0, 0, 0];
  let count = 0;
  for (let y = 0; y < H; y++) {
    for (let x = fromX; x < toX; x++) {
      for (let c = 0; c < 3; c++) sums[c]! += pixels[(y * W + x) * 3 + c]!;
      count++;
    }
  }
  return sums.map((s) => s / count) as [number, number, number];
}

describe("drawDraftImage", () => {
  test("the same prompt, seed and references give the same bytes", async () => {
    const a = await draw("a golden watch on a desk", { seed: 5 });
    expect(a.equals(await draw("a golden watch on a desk", { seed: 5 }))).toBe(true);
  });

  test("different prompts, subjects and seeds give visibly different images", async () => {
    const bottle = await draw("a red perfume bottle in a studio");
    const city = await draw("a man walking through a blue city at night");
    expect(await difference(bottle, city)).toBeGreaterThan(25);
    // Same colours, different subject: the silhouette alone changes the picture.
    const subjects = await Promise.all(["a teal bottle", "a teal phone", "a teal box", "a teal woman", "teal mountains", "teal ocean beach"].map((p) => draw(p)));
    for (let i = 0; i < subjects.length; i++) {
      for (let j = i + 1; j < subjects.length; j++) expect(await difference(subjects[i]!, subjects[j]!)).toBeGreaterThan(4);
    }
    expect(await difference(await draw("a teal bottle", { seed: 1 }), await draw("a teal bottle", { seed: 2 }))).toBeGreaterThan(8);
  });

  test("colour words in the prompt set the palette", async () => {
    const [r1, , b1] = await meanColour(await draw("a red and orange product shot"));
    expect(r1).toBeGreaterThan(b1 + 40);
    const [r2, , b2] = await meanColour(await draw("a blue and navy product shot"));
    expect(b2).toBeGreaterThan(r2 + 40);
    // Light words: a night scene is darker than a bright one.
    const dark = (await meanColour(await draw("a grey car on a dark night road"))).reduce((a, b) => a + b);
    const bright = (await meanColour(await draw("a grey car on a bright sunny road"))).reduce((a, b) => a + b);
    expect(bright).toBeGreaterThan(dark + 60);
  });

  test("a conditioning image shows through and lends its colours", async () => {
    // Left half green, right half magenta: easy to find again in the output.
    const half = (r: number, g: number, b: number) => sharp({ create: { width: W / 2, height: H, channels: 3, background: { r, g, b } } }).png().toBuffer();
    const reference = await sharp({ create: { width: W, height: H, channels: 3, background: "#000000" } })
      .composite([
        { input: await half(20, 200, 40), left: 0, top: 0 },
        { input: await half(220, 30, 200), left: W / 2, top: 0 },
      ])
      .png()
      .toBuffer();
    const prompt = "a product on a table";
    const conditioned = await draw(prompt, { references: [reference] });
    const plain = await draw(prompt);
    expect(await difference(conditioned, reference)).toBeLessThan((await difference(plain, reference)) - 10);
    const [, leftGreen] = await meanColour(conditioned, 0, W / 2);
    const [, rightGreen] = await meanColour(conditioned, W / 2, W);
    expect(leftGreen).toBeGreaterThan(rightGreen + 30);
  });

  test("writes JPEG at exactly the requested size; undecodable references are input errors", async () => {
    const jpg = await drawDraftImage({ prompt: "x", seed: 0, width: 320, height: 568, format: "jpg", references: [] });
    expect(await sharp(jpg).metadata()).toMatchObject({ format: "jpeg", width: 320, height: 568 });
    await expect(draw("x", { references: [Buffer.from("not an image")] })).rejects.toBeInstanceOf(InputError);
  });
});
