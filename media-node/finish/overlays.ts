import sharp, { type Metadata, type OverlayOptions } from "sharp";
import { InputError } from "../io.ts";
import { type Box, cardArea, frameShape, safeArea, typeSizes, union } from "./layout.ts";
import { INK, PAPER, type RGB, inkFor, luminance, parseHex, roundedRect, setText } from "./type.ts";

/**
 * The ad's on-screen copy as full-frame RGBA PNG layers, composited over the footage by the
 * stitch for the frames the plan gives them:
 * - the headline: bold white type on a translucent dark plate at the top of the safe area.
 *   The plate (black at 62 %) makes the copy legible on any picture: over pure white it is
 *   #616161, against which white type still has a WCAG contrast of 6.2:1 (4.5:1 is the AA bar).
 * - the end card: the brand's own logo file (never generated) on an opaque panel, or the brand
 *   name set in type when there is no logo; the offer line under it; the call to action as a
 *   solid button in the accent colour with black or white type, whichever contrasts more.
 *   Centred in the safe area above the caption band.
 */

export interface Layer {
  png: Buffer;
  /** Where the visible content is. */
  box: Box;
}

const PLATE = { r: 0, g: 0, b: 0 };
const PLATE_OPACITY = 0.62;
const PANEL_DARK = { r: 20, g: 20, b: 20 };
/** A small logo is enlarged at most this much: beyond it the brand's own artwork goes soft. */
const MAX_LOGO_UPSCALE = 4;
const LOGO_MAX_PIXELS = 40_000_000;

function canvas(width: number, height: number) {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } });
}

export async function renderHeadline(text: string, width: number, height: number): Promise<Layer> {
  const safe = safeArea(width, height);
  const sizes = typeSizes(width, height);
  const padX = Math.round(2.4 * sizes.unit);
  const padY = Math.round(1.2 * sizes.unit);
  const type = await setText(text, { weight: "bold", size: sizes.headline, color: PAPER, maxWidth: safe.width - 2 * padX, maxLines: 2, minimum: sizes.minimum });
  const plate: Box = { width: type.width + 2 * padX, height: type.height + 2 * padY, left: 0, top: safe.top };
  plate.left = safe.left + Math.round((safe.width - plate.width) / 2);
  const png = await canvas(width, height)
    .composite([
      { input: await roundedRect(plate.width, plate.height, Math.round(1.2 * sizes.unit), PLATE, PLATE_OPACITY), left: plate.left, top: plate.top },
      { input: type.png, left: plate.left + padX, top: plate.top + padY },
    ])
    .png()
    .toBuffer();
  return { png, box: plate };
}

export interface EndCardCopy {
  brand: string;
  /** The decoded-able logo file as stored; null sets the brand name instead. */
  logo: Buffer | null;
  offer: string | null;
  cta: string;
  /** Button colour, `#RRGGBB`. */
  accent: string;
}

export interface EndCardLayer extends Layer {
  logo: "asset" | "wordmark";
  /** Where the logo (or the brand name) was placed. */
  markBox: Box;
  ctaBox: Box;
}

interface Mark {
  png: Buffer;
  width: number;
  height: number;
  panel: RGB;
}

/**
 * The logo scaled to fit, and the panel colour it sits on: for an opaque logo the colour of
 * its own border (so the panel extends the artwork's background); for a transparent one a
 * light panel under dark artwork and a dark panel under light artwork.
 */
async function logoMark(file: Buffer, maxWidth: number, maxHeight: number): Promise<Mark> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: LOGO_MAX_PIXELS }).metadata();
  } catch (error) {
    throw new InputError(`end_card.logo_url is not a readable image: ${(error as Error).message}`, "end_card.logo_url");
  }
  if (!meta.width || !meta.height) throw new InputError("end_card.logo_url is not a readable image", "end_card.logo_url");
  const scale = Math.min(maxWidth / meta.width, maxHeight / meta.height, MAX_LOGO_UPSCALE);
  const width = Math.max(1, Math.round(meta.width * scale));
  const height = Math.max(1, Math.round(meta.height * scale));
  const { data, info } = await sharp(file, { limitInputPixels: LOGO_MAX_PIXELS })
    .resize(width, height, { fit: "fill", kernel: "lanczos3" })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let panel: RGB;
  let sum = { r: 0, g: 0, b: 0 };
  let count = 0;
  // Transparent by its pixels, not its format: many opaque logos are saved with an alpha channel.
  let transparent = false;
  for (let i = 3; i < data.length && !transparent; i += 4) transparent = data[i]! < 250;
  if (transparent) {
    let opaque = 0;
    let lum = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3]! < 128) continue;
      opaque++;
      lum += luminance({ r: data[i]!, g: data[i + 1]!, b: data[i + 2]! });
    }
    panel = opaque > 0 && lum / opaque > 0.45 ? PANEL_DARK : PAPER;
  } else {
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        if (y !== 0 && y !== info.height - 1 && x !== 0 && x !== info.width - 1) continue;
        const i = (y * info.width + x) * 4;
        sum = { r: sum.r + data[i]!, g: sum.g + data[i + 1]!, b: sum.b + data[i + 2]! };
        count++;
      }
    }
    panel = { r: sum.r / count, g: sum.g / count, b: sum.b / count };
  }
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
  return { png, width: info.width, height: info.height, panel };
}

export async function renderEndCard(copy: EndCardCopy, width: number, height: number): Promise<EndCardLayer> {
  const safe = safeArea(width, height);
  const area = cardArea(width, height);
  const sizes = typeSizes(width, height);
  const unit = sizes.unit;
  const pad = Math.round(3 * unit);
  const gap = Math.round(3 * unit);
  const portrait = frameShape(width, height) === "9:16";

  const accent = parseHex(copy.accent);
  const ctaType = await setText(copy.cta, { weight: "bold", size: sizes.cta, color: inkFor(accent), maxWidth: safe.width - 6 * unit, maxLines: 1, minimum: sizes.minimum });
  const button = { width: ctaType.width + Math.round(6 * unit), height: ctaType.height + Math.round(3.2 * unit) };

  // The mark gets whatever height the offer and the button leave, up to 45 % of the card area.
  const markMaxWidth = Math.round(safe.width * (portrait ? 0.8 : 0.45)) - 2 * pad;
  const offerProbe = copy.offer ? await setText(copy.offer, { weight: "regular", size: sizes.offer, color: INK, maxWidth: safe.width - 2 * pad, maxLines: 2, minimum: sizes.minimum }) : null;
  const offerBlock = offerProbe ? offerProbe.height + Math.round(1.5 * unit) : 0;
  const markMaxHeight = Math.max(2 * sizes.minimum, Math.min(area.height * 0.45, area.height - offerBlock - button.height - gap - 2 * pad));

  let mark: Mark;
  if (copy.logo) {
    mark = await logoMark(copy.logo, markMaxWidth, markMaxHeight);
  } else {
    const type = await setText(copy.brand, { weight: "bold", size: sizes.wordmark, color: PAPER, maxWidth: safe.width - 2 * pad, maxLines: 2, minimum: sizes.minimum });
    mark = { png: type.png, width: type.width, height: type.height, panel: PANEL_DARK };
  }
  const ink = inkFor(mark.panel);
  const offer = copy.offer ? await setText(copy.offer, { weight: "regular", size: sizes.offer, color: ink, maxWidth: safe.width - 2 * pad, maxLines: 2, minimum: sizes.minimum }) : null;

  const panel = {
    width: Math.min(safe.width, Math.max(mark.width, offer?.width ?? 0) + 2 * pad),
    height: mark.height + (offer ? offer.height + Math.round(1.5 * unit) : 0) + 2 * pad,
  };
  const stack = panel.height + gap + button.height;
  const top = area.top + Math.max(0, Math.round((area.height - stack) / 2));
  const centre = (w: number) => safe.left + Math.round((safe.width - w) / 2);
  const panelBox: Box = { left: centre(panel.width), top, ...panel };
  const markBox: Box = { left: centre(mark.width), top: top + pad, width: mark.width, height: mark.height };
  const ctaBox: Box = { left: centre(button.width), top: top + panel.height + gap, ...button };

  const layers: OverlayOptions[] = [
    { input: await roundedRect(panel.width, panel.height, Math.round(2 * unit), mark.panel), left: panelBox.left, top: panelBox.top },
    { input: mark.png, left: markBox.left, top: markBox.top },
    { input: await roundedRect(button.width, button.height, Math.floor(button.height / 2), accent), left: ctaBox.left, top: ctaBox.top },
    { input: ctaType.png, left: centre(ctaType.width), top: ctaBox.top + Math.round((button.height - ctaType.height) / 2) },
  ];
  if (offer) layers.push({ input: offer.png, left: centre(offer.width), top: markBox.top + mark.height + Math.round(1.5 * unit) });
  const png = await canvas(width, height).composite(layers).png().toBuffer();
  return { png, box: union([panelBox, ctaBox]), logo: copy.logo ? "asset" : "wordmark", markBox, ctaBox };
}
