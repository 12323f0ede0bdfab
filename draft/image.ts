import sharp from "sharp";
import type { Rgb } from "../lib/color.ts";
import { COMPOSITIONS } from "./compositions.ts";
import { type Canvas, hex, n } from "./figures.ts";
import { hashText, seededRandom } from "./prompt-cues.ts";
import { BLACK, desaturate, LAYOUT_COLUMNS, LAYOUT_ROWS, mix, type Roles, scenePaletteOf, WHITE } from "./scene-palette.ts";
import { readShot, type Shot } from "./shot.ts";

/**
 * adreel/draft-image: an instant, deterministic stand-in for a text(+image)-to-image model
 * that draws storyboard panels. The prompt's framing words choose the composition (wide,
 * close-up, product hero, end card… see shot.ts), the conditioning images give the colours
 * and their coarse layout (scene-palette.ts), and the seed moves things around, so a draft
 * storyboard reads as distinct shots of one world.
 */

export interface DraftImageRequest {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  format: "png" | "jpg";
  /** Decoded bytes of `image_input`, in order. */
  references: Buffer[];
}

/**
 * How far light words move colours toward black or white. With references the look is already
 * in their colours (the reference prompts carried the same style words), so words only nudge.
 */
const LIGHT_SHIFT = { dark: 0.6, bright: 0.45, withReferences: 0.35 };
/** Troubled shots: drained and dimmed, and the frame rolls. */
const TROUBLE = { desaturate: 0.4, darken: 0.22, rollDegrees: [5, 9] as const };

function tone(roles: Roles, shift: (c: Rgb) => Rgb): Roles {
  return Object.fromEntries(Object.entries(roles).map(([role, colour]) => [role, shift(colour)])) as unknown as Roles;
}

function shiftOf(shot: Shot, hasReferences: boolean): (c: Rgb) => Rgb {
  const scale = hasReferences ? LIGHT_SHIFT.withReferences : 1;
  const light = (c: Rgb) => (shot.light < 0 ? mix(c, BLACK, -shot.light * LIGHT_SHIFT.dark * scale) : mix(c, WHITE, shot.light * LIGHT_SHIFT.bright * scale));
  if (!shot.troubled) return light;
  return (c) => mix(desaturate(light(c), TROUBLE.desaturate), BLACK, TROUBLE.darken);
}

/** The backdrop: the layout cells blown up smoothly to the frame, so it has no edges to ghost. */
async function backdrop(field: Rgb[], width: number, height: number): Promise<Buffer> {
  const cells = Buffer.alloc(field.length * 3);
  field.forEach((c, i) => cells.set(c.map((v) => Math.max(0, Math.min(255, Math.round(v)))), i * 3));
  // Smooth at a small size, then a plain linear upscale: a blur at full size costs ~10× more.
  const small = await sharp(cells, { raw: { width: LAYOUT_COLUMNS, height: LAYOUT_ROWS, channels: 3 } })
    .resize(LAYOUT_COLUMNS * 16, LAYOUT_ROWS * 16, { fit: "fill", kernel: "mitchell" })
    .blur(6)
    .raw()
    .toBuffer();
  return sharp(small, { raw: { width: LAYOUT_COLUMNS * 16, height: LAYOUT_ROWS * 16, channels: 3 } })
    .resize(width, height, { fit: "fill", kernel: "linear" })
    .raw()
    .toBuffer();
}

function framingTransform(shot: Shot, width: number, height: number, mirrored: boolean): string {
  const { zoom, shiftX, shiftY, roll, skew } = shot.camera;
  const [fx, fy] = [width / 2, height * 0.55];
  const mirror = mirrored ? `translate(${width} 0) scale(-1 1) ` : "";
  return `${mirror}translate(${n(fx + shiftX * width)} ${n(fy + shiftY * height)}) rotate(${roll.toFixed(2)}) skewX(${skew.toFixed(2)}) scale(${zoom.toFixed(3)}) translate(${n(-fx)} ${n(-fy)})`;
}

export async function drawDraftImage(request: DraftImageRequest): Promise<Buffer> {
  const { prompt, seed, width, height, format, references } = request;
  const shot = readShot(prompt);
  const random = seededRandom(hashText(prompt) ^ Math.imul(seed + 1, 0x9e3779b1));
  // The context (its colour words, its palette line) describes the world the references show:
  // with references at hand their pixels speak for it, and only this shot's own colour words
  // ("a red spotlight") add to them.
  const named = references.length > 0 ? shot.ownColours : [...shot.ownColours, ...shot.contextColours, ...shot.paletteLine];
  const palette = await scenePaletteOf(references, named, random);
  const shift = shiftOf(shot, references.length > 0);
  const canvas: Canvas = { w: width, h: height, s: Math.min(width, height), random, roles: tone(palette.roles, shift), characterStyle: shot.characterStyle, defs: [], nextId: 0 };

  const composition = COMPOSITIONS[shot.kind](canvas, shot);
  const mirrored = composition.mirrorable && random() < 0.5;
  let scene = `${composition.back}<g transform="${framingTransform(shot, width, height, mirrored)}">${composition.subject}</g>`;
  if (shot.troubled) {
    // A rolled frame, scaled so the corners stay covered.
    const [low, high] = TROUBLE.rollDegrees;
    const roll = (random() < 0.5 ? -1 : 1) * (low + (high - low) * random());
    const cover = 1 + Math.abs(Math.sin((roll * Math.PI) / 180)) * (width / height + height / width) * 0.5;
    scene = `<g transform="translate(${n(width / 2)} ${n(height / 2)}) rotate(${roll.toFixed(2)}) scale(${cover.toFixed(3)}) translate(${n(-width / 2)} ${n(-height / 2)})"><rect x="-1" y="-1" width="${width + 2}" height="${height + 2}" fill="${hex(canvas.roles.back)}" opacity="0.5"/>${scene}</g>`;
  }
  const vignette = `<radialGradient id="vignette" cx="0.5" cy="0.5" r="0.75"><stop offset="0.55" stop-color="#000000" stop-opacity="0"/><stop offset="1" stop-color="#000000" stop-opacity="${composition.vignette.toFixed(2)}"/></radialGradient>`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs>${canvas.defs.join("")}${vignette}</defs>${scene}<rect width="${width}" height="${height}" fill="url(#vignette)"/></svg>`;

  const field = await backdrop(palette.field.map(shift), width, height);
  const image = sharp(field, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .removeAlpha();
  return format === "jpg" ? image.jpeg({ quality: 90, mozjpeg: false }).toBuffer() : image.png({ compressionLevel: 6 }).toBuffer();
}
