import sharp from "sharp";
import { describe, expect, test } from "vitest";
import { PaletteTransferResponse, ReframeResponse } from "../../contracts/media.ts";
import { lumaOf, meanAbsoluteDifference, ssim } from "../video/frame-metrics.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { rgbOf, scene } from "../../test/support/scenes.ts";
import { symmetricPaletteDistance } from "../../lib/color.ts";
import { transferPalette } from "./palette-transfer.ts";
import { paletteOf } from "./palette.ts";
import { reframe } from "./reframe.ts";

// The two image ops of continuity conditioning: a view cut from inside a storyboard frame (a
// beat's end frame) and a palette transfer (drift correction), which recolours without blending.

const W = 320;
const H = 180;

describe("reframe", () => {
  test("cuts the view a camera sees after closing in and moving, and resamples it to the frame", async () => {
    const image = await scene(4, W, H);
    const view = await reframe(image, { zoom: 1.25, dx: 0.05, dy: -0.02 }, W, H);
    expect(view.crop).toEqual({ left: 48, top: 14, width: 256, height: 144 });
    const expected = await sharp(image).extract(view.crop).resize(W, H, { kernel: "lanczos3" }).removeAlpha().raw().toBuffer();
    const got = await rgbOf(view.png, W, H);
    expect(meanAbsoluteDifference(lumaOf(got), lumaOf(expected))).toBeLessThan(0.5);
    // The identity view is the picture itself.
    const same = await reframe(image, { zoom: 1, dx: 0, dy: 0 }, W, H);
    expect((await rgbOf(same.png, W, H)).equals(await rgbOf(image, W, H))).toBe(true);
  });

  test("refuses a view reaching outside the picture, which would need pixels nobody drew", async () => {
    await expect(reframe(await scene(4, W, H), { zoom: 1.1, dx: 0.1, dy: 0 }, W, H)).rejects.toThrow(/outside the picture/);
  });
});

describe("palette transfer", () => {
  test("moves the colours toward the target's, pixel by pixel: structure kept, the target's shapes never appear", async () => {
    const source = await scene(5, W, H);
    const target = await scene(6, W, H);
    const { png } = await transferPalette(source, target, 1);
    const [before, after, goal] = await Promise.all([paletteOf(source), paletteOf(png), paletteOf(target)]);
    expect(symmetricPaletteDistance(after, goal)).toBeLessThan(symmetricPaletteDistance(before, goal) * 0.75);
    const [s, o, t] = await Promise.all([source, png, target].map((i) => rgbOf(i, W, H)));
    // A per-pixel recolouring: equal source colours stay equal, and the picture's structure is the source's.
    const seen = new Map<number, number>();
    let remapped = 0;
    for (let i = 0; i < s!.length; i += 3) {
      const key = (s![i]! << 16) | (s![i + 1]! << 8) | s![i + 2]!;
      const value = (o![i]! << 16) | (o![i + 1]! << 8) | o![i + 2]!;
      if ((seen.get(key) ?? value) !== value) remapped++;
      seen.set(key, value);
    }
    expect(remapped).toBe(0);
    const [ls, lo, lt] = [s!, o!, t!].map(lumaOf);
    expect(ssim(ls!, lo!, W, H)).toBeGreaterThan(ssim(lt!, lo!, W, H) + 0.3);
    // Strength 0 changes nothing.
    expect((await rgbOf((await transferPalette(source, target, 0)).png, W, H)).equals(s!)).toBe(true);
  });

  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/storyboard.png", await scene(5, W, H), "image/png");
    origin.serveBytes("/last.png", await scene(6, W, H), "image/png");
  });

  test("routes: reframe and palette-transfer store their PNG and report what they did; a view outside the picture is a 422", async () => {
    const reframed = await postSigned(node.app, "/v1/media/images/reframe", { source_url: node.origin.url("/storyboard.png"), zoom: 1.2, width: W, height: H, output_url: node.origin.url("/end.png") });
    expect(reframed.statusCode, reframed.body).toBe(200);
    expect(ReframeResponse.parse(reframed.json()).crop).toEqual({ left: 27, top: 15, width: 267, height: 150 });
    expect((await sharp(node.origin.uploads.get("/end.png")!.body).metadata()).width).toBe(W);
    const outside = await postSigned(node.app, "/v1/media/images/reframe", { source_url: node.origin.url("/storyboard.png"), zoom: 1.2, dx: 0.2, width: W, height: H, output_url: node.origin.url("/end.png") });
    expect(outside.statusCode).toBe(422);
    expect(outside.json().error).toMatch(/^dx: the view must lie inside the picture/);

    const transferred = await postSigned(node.app, "/v1/media/images/palette-transfer", { source_url: node.origin.url("/last.png"), target_url: node.origin.url("/storyboard.png"), strength: 0.8, output_url: node.origin.url("/reanchored.png") });
    expect(transferred.statusCode, transferred.body).toBe(200);
    const body = PaletteTransferResponse.parse(transferred.json());
    expect(body.distance_after).toBeLessThan(body.distance_before);
    expect(node.origin.uploads.get("/reanchored.png")!.contentType).toBe("image/png");
  });
});
