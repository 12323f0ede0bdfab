import sharp, { type Sharp } from "sharp";
import { hexToRgb, type Rgb, rgbToHex } from "../../contracts/color.ts";
import { InputError } from "../io.ts";
import { paletteOf } from "../images/palette.ts";
import { hashText, type PlaceShape, type ProductShape, readPrompt, seededRandom } from "./prompt-cues.ts";

/**
 * adreel/draft-image: an instant, deterministic stand-in for a text(+image)-to-image model.
 * The picture follows the prompt (colour words → palette, subject words → silhouettes, light
 * words → tone) and the conditioning images (their dominant colours join the palette and the
 * first one shows through underneath), so a draft storyboard already reads like the ad.
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

/** How much of the first conditioning image shows through. */
export const REFERENCE_WEIGHT = 0.35;
/** Colours taken from each conditioning image, and from all of them. */
const COLOURS_PER_REFERENCE = 2;
const MAX_REFERENCE_COLOURS = 4;

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
const BLACK: Rgb = [8, 8, 12];
const WHITE: Rgb = [255, 255, 255];
const hex = (rgb: Rgb) => rgbToHex(rgb);
const n = (value: number) => value.toFixed(1);

function hslToRgb(h: number, s: number, l: number): Rgb {
  const k = (i: number) => (i + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (i: number) => l - a * Math.max(-1, Math.min(k(i) - 3, 9 - k(i), 1));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

async function referenceColours(references: Buffer[]): Promise<Rgb[]> {
  const colours: Rgb[] = [];
  for (const reference of references) {
    const palette = await paletteOf(reference, COLOURS_PER_REFERENCE);
    for (const entry of palette) colours.push(hexToRgb(entry.hex));
    if (colours.length >= MAX_REFERENCE_COLOURS) break;
  }
  return colours.slice(0, MAX_REFERENCE_COLOURS);
}

interface Scene {
  w: number;
  h: number;
  s: number;
  random: () => number;
  palette: Rgb[];
}

const pick = (scene: Scene, i: number) => scene.palette[i % scene.palette.length]!;

function hillsLayer(scene: Scene): string {
  const { w, h, random } = scene;
  let svg = `<circle cx="${n(w * (0.2 + 0.6 * random()))}" cy="${n(h * 0.3)}" r="${n(scene.s * 0.09)}" fill="${hex(mix(pick(scene, 0), WHITE, 0.75))}" opacity="0.85"/>`;
  for (let layer = 0; layer < 3; layer++) {
    const base = h * (0.55 + 0.11 * layer);
    const amplitude = h * (0.05 + 0.04 * random());
    const phase = random() * Math.PI * 2;
    const frequency = 1 + random() * 2.5;
    const points: string[] = [];
    for (let i = 0; i <= 24; i++) {
      const x = (w * i) / 24;
      points.push(`${n(x)},${n(base - amplitude * Math.sin(phase + (frequency * Math.PI * 2 * i) / 24))}`);
    }
    svg += `<polygon points="0,${n(h)} ${points.join(" ")} ${n(w)},${n(h)}" fill="${hex(mix(pick(scene, layer + 1), BLACK, 0.2 + 0.2 * layer))}"/>`;
  }
  return svg;
}

function cityLayer(scene: Scene): string {
  const { w, h, random } = scene;
  const ground = h * 0.86;
  let svg = "";
  for (let row = 0; row < 2; row++) {
    let x = -random() * w * 0.05;
    const colour = hex(mix(pick(scene, row + 1), BLACK, 0.35 + 0.3 * row));
    while (x < w) {
      const width = w * (0.05 + 0.07 * random());
      const height = h * (row === 0 ? 0.3 + 0.35 * random() : 0.15 + 0.3 * random());
      svg += `<rect x="${n(x)}" y="${n(ground - height)}" width="${n(width)}" height="${n(height)}" fill="${colour}"/>`;
      if (row === 1) {
        for (let wy = ground - height + h * 0.03; wy < ground - h * 0.03; wy += h * 0.05) {
          svg += `<rect x="${n(x + width * 0.2)}" y="${n(wy)}" width="${n(width * 0.6)}" height="${n(h * 0.012)}" fill="${hex(mix(pick(scene, 0), WHITE, 0.6))}" opacity="0.35"/>`;
        }
      }
      x += width + w * 0.008;
    }
  }
  return svg + `<rect x="0" y="${n(ground)}" width="${n(w)}" height="${n(h - ground)}" fill="${hex(mix(pick(scene, 2), BLACK, 0.7))}"/>`;
}

function waterLayer(scene: Scene): string {
  const { w, h, random } = scene;
  const horizon = h * (0.5 + 0.1 * random());
  let svg = `<circle cx="${n(w * (0.25 + 0.5 * random()))}" cy="${n(horizon - scene.s * 0.05)}" r="${n(scene.s * 0.1)}" fill="${hex(mix(pick(scene, 0), WHITE, 0.7))}"/>`;
  svg += `<rect x="0" y="${n(horizon)}" width="${n(w)}" height="${n(h - horizon)}" fill="url(#water)"/>`;
  for (let i = 0; i < 14; i++) {
    const y = horizon + (h - horizon) * random();
    svg += `<ellipse cx="${n(w * random())}" cy="${n(y)}" rx="${n(w * (0.03 + 0.08 * random()))}" ry="${n(h * 0.004)}" fill="#FFFFFF" opacity="0.3"/>`;
  }
  return svg;
}

function personLayer(scene: Scene, cx: number): string {
  const { h, s } = scene;
  const headR = h * 0.075;
  const headY = h * 0.33;
  const shoulderY = headY + headR * 2.1;
  const body = mix(pick(scene, 2), BLACK, 0.7);
  const rim = mix(pick(scene, 0), WHITE, 0.6);
  const stroke = `stroke="${hex(rim)}" stroke-width="${n(s * 0.006)}" stroke-opacity="0.7"`;
  return (
    `<path d="M${n(cx - h * 0.2)},${n(h)} C${n(cx - h * 0.19)},${n(shoulderY + h * 0.05)} ${n(cx - h * 0.15)},${n(shoulderY)} ${n(cx - h * 0.05)},${n(shoulderY - h * 0.01)} ` +
    `L${n(cx + h * 0.05)},${n(shoulderY - h * 0.01)} C${n(cx + h * 0.15)},${n(shoulderY)} ${n(cx + h * 0.19)},${n(shoulderY + h * 0.05)} ${n(cx + h * 0.2)},${n(h)} Z" fill="${hex(body)}" ${stroke}/>` +
    `<rect x="${n(cx - headR * 0.45)}" y="${n(headY + headR * 0.6)}" width="${n(headR * 0.9)}" height="${n(headR * 1.1)}" fill="${hex(body)}"/>` +
    `<circle cx="${n(cx)}" cy="${n(headY)}" r="${n(headR)}" fill="${hex(body)}" ${stroke}/>`
  );
}

function productLayer(scene: Scene, shape: ProductShape, cx: number): string {
  const { h, s } = scene;
  const base = h * 0.82;
  const accent = pick(scene, 1);
  let svg = `<ellipse cx="${n(cx)}" cy="${n(base)}" rx="${n(h * 0.2)}" ry="${n(h * 0.03)}" fill="#000000" opacity="0.35"/>`;
  svg += `<linearGradient id="body" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="${hex(mix(accent, BLACK, 0.55))}"/><stop offset="0.35" stop-color="${hex(mix(accent, WHITE, 0.35))}"/><stop offset="1" stop-color="${hex(mix(accent, BLACK, 0.65))}"/></linearGradient>`;
  if (shape === "bottle") {
    const bw = h * 0.2;
    const top = base - h * 0.42;
    svg +=
      `<path d="M${n(cx - bw / 2)},${n(base)} L${n(cx - bw / 2)},${n(top + h * 0.08)} Q${n(cx - bw / 2)},${n(top)} ${n(cx - bw * 0.2)},${n(top - h * 0.02)} ` +
      `L${n(cx - bw * 0.2)},${n(top - h * 0.12)} L${n(cx + bw * 0.2)},${n(top - h * 0.12)} L${n(cx + bw * 0.2)},${n(top - h * 0.02)} Q${n(cx + bw / 2)},${n(top)} ${n(cx + bw / 2)},${n(top + h * 0.08)} L${n(cx + bw / 2)},${n(base)} Z" fill="url(#body)"/>` +
      `<rect x="${n(cx - bw * 0.24)}" y="${n(top - h * 0.17)}" width="${n(bw * 0.48)}" height="${n(h * 0.06)}" rx="${n(h * 0.008)}" fill="${hex(mix(pick(scene, 2), BLACK, 0.4))}"/>` +
      `<rect x="${n(cx - bw / 2)}" y="${n(base - h * 0.26)}" width="${n(bw)}" height="${n(h * 0.12)}" fill="${hex(mix(pick(scene, 0), WHITE, 0.25))}" opacity="0.9"/>` +
      `<rect x="${n(cx - bw * 0.32)}" y="${n(top + h * 0.03)}" width="${n(bw * 0.07)}" height="${n(h * 0.34)}" rx="${n(bw * 0.03)}" fill="#FFFFFF" opacity="0.4"/>`;
  } else if (shape === "box") {
    const bw = h * 0.34;
    const bh = h * 0.3;
    const depth = h * 0.08;
    const left = cx - bw / 2;
    const top = base - bh;
    svg +=
      `<polygon points="${n(left)},${n(top)} ${n(left + depth)},${n(top - depth)} ${n(left + bw + depth)},${n(top - depth)} ${n(left + bw)},${n(top)}" fill="${hex(mix(accent, WHITE, 0.35))}"/>` +
      `<polygon points="${n(left + bw)},${n(top)} ${n(left + bw + depth)},${n(top - depth)} ${n(left + bw + depth)},${n(base - depth)} ${n(left + bw)},${n(base)}" fill="${hex(mix(accent, BLACK, 0.5))}"/>` +
      `<rect x="${n(left)}" y="${n(top)}" width="${n(bw)}" height="${n(bh)}" fill="url(#body)"/>` +
      `<rect x="${n(left + bw * 0.12)}" y="${n(top + bh * 0.35)}" width="${n(bw * 0.76)}" height="${n(bh * 0.22)}" fill="${hex(mix(pick(scene, 0), WHITE, 0.3))}" opacity="0.85"/>`;
  } else {
    const dw = h * 0.24;
    const dh = h * 0.46;
    const left = cx - dw / 2;
    const top = base - dh;
    svg +=
      `<linearGradient id="screen" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${hex(pick(scene, 0))}"/><stop offset="1" stop-color="${hex(pick(scene, 2))}"/></linearGradient>` +
      `<rect x="${n(left)}" y="${n(top)}" width="${n(dw)}" height="${n(dh)}" rx="${n(dw * 0.14)}" fill="#16171B" stroke="${hex(mix(accent, WHITE, 0.5))}" stroke-width="${n(s * 0.005)}"/>` +
      `<rect x="${n(left + dw * 0.07)}" y="${n(top + dw * 0.07)}" width="${n(dw * 0.86)}" height="${n(dh - dw * 0.14)}" rx="${n(dw * 0.09)}" fill="url(#screen)"/>` +
      `<polygon points="${n(left + dw * 0.07)},${n(top + dh * 0.55)} ${n(left + dw * 0.93)},${n(top + dh * 0.2)} ${n(left + dw * 0.93)},${n(top + dh * 0.35)} ${n(left + dw * 0.07)},${n(top + dh * 0.7)}" fill="#FFFFFF" opacity="0.18"/>`;
  }
  return svg;
}

function abstractLayer(scene: Scene): string {
  const { w, h, s, random } = scene;
  let svg = "";
  for (let i = 0; i < 3; i++) {
    svg += `<circle cx="${n(w * (0.2 + 0.6 * random()))}" cy="${n(h * (0.25 + 0.5 * random()))}" r="${n(s * (0.12 + 0.25 * random()))}" fill="none" stroke="${hex(mix(pick(scene, i + 1), WHITE, 0.2))}" stroke-width="${n(s * (0.02 + 0.04 * random()))}" opacity="0.75"/>`;
  }
  const tilt = (random() - 0.5) * h;
  svg += `<polygon points="0,${n(h * 0.65 + tilt)} ${n(w)},${n(h * 0.45 - tilt)} ${n(w)},${n(h * 0.6 - tilt)} 0,${n(h * 0.8 + tilt)}" fill="${hex(pick(scene, 2))}" opacity="0.55"/>`;
  return svg;
}

function sceneSvg(prompt: string, seed: number, width: number, height: number, referencePalette: Rgb[]): string {
  const cues = readPrompt(prompt);
  const random = seededRandom(hashText(prompt) ^ Math.imul(seed + 1, 0x9e3779b1));
  const palette: Rgb[] = [...cues.colours.slice(0, 3).map(hexToRgb), ...referencePalette];
  while (palette.length < 4) palette.push(hslToRgb(random(), 0.45 + 0.3 * random(), 0.35 + 0.3 * random()));
  const scene: Scene = { w: width, h: height, s: Math.min(width, height), random, palette };

  // Light words move the background toward black or white.
  const tone = (c: Rgb) => (cues.light < 0 ? mix(c, BLACK, -cues.light * 0.6) : mix(c, WHITE, cues.light * 0.45));
  const angle = random() * Math.PI * 2;
  const [gx, gy] = [0.5 + 0.5 * Math.cos(angle), 0.5 + 0.5 * Math.sin(angle)];
  let svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs>` +
    `<linearGradient id="bg" x1="${(1 - gx).toFixed(3)}" y1="${(1 - gy).toFixed(3)}" x2="${gx.toFixed(3)}" y2="${gy.toFixed(3)}"><stop offset="0" stop-color="${hex(tone(mix(palette[0]!, BLACK, 0.15)))}"/><stop offset="1" stop-color="${hex(tone(mix(palette[1]!, BLACK, 0.35)))}"/></linearGradient>` +
    `<radialGradient id="glow" cx="${(0.2 + 0.6 * random()).toFixed(3)}" cy="${(0.15 + 0.3 * random()).toFixed(3)}" r="0.6"><stop offset="0" stop-color="#FFFFFF" stop-opacity="${(0.25 + 0.2 * Math.max(0, cues.light + 0.5)).toFixed(3)}"/><stop offset="1" stop-color="#FFFFFF" stop-opacity="0"/></radialGradient>` +
    `<linearGradient id="water" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(mix(pick(scene, 1), WHITE, 0.2))}"/><stop offset="1" stop-color="${hex(mix(pick(scene, 1), BLACK, 0.6))}"/></linearGradient>` +
    `<radialGradient id="vignette" cx="0.5" cy="0.5" r="0.75"><stop offset="0.55" stop-color="#000000" stop-opacity="0"/><stop offset="1" stop-color="#000000" stop-opacity="0.5"/></radialGradient>` +
    `</defs><rect width="${width}" height="${height}" fill="url(#bg)"/><rect width="${width}" height="${height}" fill="url(#glow)"/>`;

  for (let i = 0; i < 9; i++) {
    svg += `<circle cx="${n(width * random())}" cy="${n(height * random())}" r="${n(scene.s * (0.03 + 0.12 * random()))}" fill="${hex(mix(pick(scene, i), WHITE, 0.3))}" opacity="${(0.08 + 0.18 * random()).toFixed(3)}"/>`;
  }
  const places: Record<PlaceShape, (scene: Scene) => string> = { hills: hillsLayer, city: cityLayer, water: waterLayer };
  if (cues.place) svg += places[cues.place](scene);
  const jitter = (random() - 0.5) * width * 0.08;
  if (cues.person) svg += personLayer(scene, width * (cues.product ? 0.32 : 0.5) + jitter);
  if (cues.product) svg += productLayer(scene, cues.product, width * (cues.person ? 0.68 : 0.5) - jitter);
  if (!cues.place && !cues.person && !cues.product) svg += abstractLayer(scene);
  return `${svg}<rect width="${width}" height="${height}" fill="url(#vignette)"/></svg>`;
}

async function rgbPixels(image: Sharp, width: number, height: number): Promise<Buffer> {
  return image.resize(width, height, { fit: "cover" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
}

export async function drawDraftImage(request: DraftImageRequest): Promise<Buffer> {
  const { prompt, seed, width, height, format, references } = request;
  const referencePalette = await referenceColours(references);
  const svg = sceneSvg(prompt, seed, width, height, referencePalette);
  let pixels = await rgbPixels(sharp(Buffer.from(svg)), width, height);
  if (references.length > 0) {
    let under: Buffer;
    try {
      under = await rgbPixels(sharp(references[0]!, { autoOrient: true }), width, height);
    } catch (error) {
      throw new InputError(`image_input[0] could not be decoded: ${(error as Error).message}`);
    }
    const blended = Buffer.allocUnsafe(pixels.length);
    for (let i = 0; i < pixels.length; i++) blended[i] = Math.round(pixels[i]! * (1 - REFERENCE_WEIGHT) + under[i]! * REFERENCE_WEIGHT);
    pixels = blended;
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  return format === "jpg" ? image.jpeg({ quality: 90, mozjpeg: false }).toBuffer() : image.png({ compressionLevel: 6 }).toBuffer();
}
