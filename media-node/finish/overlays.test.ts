import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { RenderOverlaysResponse } from "../../contracts/media.ts";
import { postSigned, useMediaNode } from "../../test/support/origin.ts";
import { type Box, safeArea } from "./layout.ts";
import { renderEndCard, renderHeadline } from "./overlays.ts";
import { contrastRatio, inkFor, parseHex } from "./type.ts";

const SHAPES = [
  [1024, 576],
  [576, 1024],
  [768, 768],
] as const;

/** Bounding box of the pixels with any opacity, read from the PNG itself. */
async function visibleBox(png: Buffer): Promise<Box & { image: { width: number; height: number; channels: number } }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  let left = info.width, top = info.height, right = -1, bottom = -1;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[(y * info.width + x) * info.channels + 3]! === 0) continue;
      left = Math.min(left, x); right = Math.max(right, x); top = Math.min(top, y); bottom = Math.max(bottom, y);
    }
  }
  return { left, top, width: right - left + 1, height: bottom - top + 1, image: { width: info.width, height: info.height, channels: info.channels } };
}

function inside(box: Box, area: Box): boolean {
  return box.left >= area.left && box.top >= area.top && box.left + box.width <= area.left + area.width && box.top + box.height <= area.top + area.height;
}

/** A 240x120 opaque logo: navy field, red disc. */
function testLogo(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120"><rect width="240" height="120" fill="#1D3557"/><circle cx="60" cy="60" r="40" fill="#E63946"/><rect x="120" y="40" width="90" height="40" fill="#F1FAEE"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe("overlay layers", () => {
  it.each(SHAPES)("%ix%i: full-frame RGBA layers whose content stays in the safe area", async (width, height) => {
    const safe = safeArea(width, height);
    const headline = await renderHeadline("Automates reporting for finance teams, every single week", width, height);
    const card = await renderEndCard({ brand: "Ledgerly", logo: await testLogo(), offer: "20% off your first month", cta: "Download Ledgerly today", accent: "#E4572E" }, width, height);
    const wordmark = await renderEndCard({ brand: "Noir Atelier", logo: null, offer: null, cta: "Shop the collection", accent: "#2A9D8F" }, width, height);
    for (const [name, layer] of [["headline", headline], ["end card", card], ["wordmark card", wordmark]] as const) {
      const box = await visibleBox(layer.png);
      expect(box.image, name).toEqual({ width, height, channels: 4 });
      expect(inside(box, safe), `${name} ${JSON.stringify(box)} in ${JSON.stringify(safe)}`).toBe(true);
      expect(box, name).toMatchObject(layer.box);
    }
    // The headline stays a headline: at most two lines of at least the minimum size.
    expect(headline.box.height).toBeLessThan(height * 0.25);
    expect(card.logo).toBe("asset");
    expect(wordmark.logo).toBe("wordmark");
    // The end card sits above the caption band, clear of the headline's place.
    expect(card.box.top + card.box.height).toBeLessThanOrEqual(safe.top + safe.height * 0.78 + 1);
  });

  it("composites the logo file itself: its colours at their places", async () => {
    const card = await renderEndCard({ brand: "Ledgerly", logo: await testLogo(), offer: null, cta: "Go", accent: "#FFFFFF" }, 1024, 576);
    const { data, info } = await sharp(card.png).raw().toBuffer({ resolveWithObject: true });
    const at = (fx: number, fy: number) => {
      const x = Math.round(card.markBox.left + fx * card.markBox.width);
      const y = Math.round(card.markBox.top + fy * card.markBox.height);
      return [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)];
    };
    expect(card.markBox.width / card.markBox.height).toBeCloseTo(2, 1);
    expect(at(0.25, 0.5)).toEqual([0xe6, 0x39, 0x46, 255]);
    expect(at(0.05, 0.1)).toEqual([0x1d, 0x35, 0x57, 255]);
    expect(at(0.68, 0.5)).toEqual([0xf1, 0xfa, 0xee, 255]);
  });

  it("sets the call to action in whichever of black or white contrasts more with the button", () => {
    for (const accent of ["#E4572E", "#2A9D8F", "#FFD60A", "#1D3557", "#FFFFFF", "#000000"]) {
      const colour = parseHex(accent);
      expect(contrastRatio(inkFor(colour), colour), accent).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe("POST /v1/media/finish/overlays", () => {
  const node = useMediaNode(async (origin) => {
    origin.serveBytes("/logo.png", await testLogo(), "image/png");
    origin.serveBytes("/not-an-image.png", Buffer.from("hello"), "image/png");
  });

  const body = (endCard: Record<string, unknown> = {}) => ({
    width: 576,
    height: 1024,
    headline: { text: "Receipts, handled", output_url: node.origin.url("/out/headline.png") },
    end_card: { brand: "Ledgerly", logo_url: node.origin.url("/logo.png"), offer: "First month free", cta: "Download Ledgerly today", output_url: node.origin.url("/out/end-card.png"), ...endCard },
  });

  it("stores both layers and says where they are", async () => {
    const response = await postSigned(node.app, "/v1/media/finish/overlays", body());
    expect(response.statusCode, response.body).toBe(200);
    const result = RenderOverlaysResponse.parse(response.json());
    expect(result.end_card.logo).toBe("asset");
    expect(result.safe_area).toEqual(safeArea(576, 1024));
    for (const [name, key] of [["headline", "/out/headline.png"], ["end_card", "/out/end-card.png"]] as const) {
      const upload = node.origin.uploads.get(key)!;
      expect(upload.contentType).toBe("image/png");
      expect(upload.body.length).toBe(result[name]!.bytes);
      expect(await sharp(upload.body).metadata()).toMatchObject({ width: 576, height: 1024, hasAlpha: true, format: "png" });
    }
  });

  it("sets the brand name when there is no logo, and refuses what is not an image", async () => {
    const wordmark = await postSigned(node.app, "/v1/media/finish/overlays", body({ logo_url: null }));
    expect(RenderOverlaysResponse.parse(wordmark.json()).end_card.logo).toBe("wordmark");
    const broken = await postSigned(node.app, "/v1/media/finish/overlays", body({ logo_url: node.origin.url("/not-an-image.png") }));
    expect(broken.statusCode).toBe(422);
    expect(broken.json().error).toMatch(/^end_card\.logo_url is not a readable image/);
    const markup = await postSigned(node.app, "/v1/media/finish/overlays", body({ cta: "Buy <b>now</b>" }));
    expect(markup.statusCode).toBe(422);
    expect(markup.json().error).toMatch(/^end_card\.cta: must not contain/);
  });
});
