import sharp from "sharp";
import { deltaE2000, hexToRgb, type Lab, type Rgb, srgbToLab } from "../lib/color.ts";
import { InputError } from "../media-node/io.ts";
import { paletteOf } from "../media-node/images/palette.ts";

/**
 * The colours of a draft picture. The conditioning images define the world: their dominant
 * colours become the picture's colours, each with a role (backdrop, figure, product, accent),
 * and their coarse layout (a few cells: sky above, ground below, a warm left side…) becomes
 * the backdrop's colour field. Nothing of their shapes is copied, so no outline of a
 * reference ever shows through (that was the ghosting), while every beat shares the palette.
 */

export interface Roles {
  back: Rgb;
  back2: Rgb;
  ground: Rgb;
  figure: Rgb;
  product: Rgb;
  accent: Rgb;
  light: Rgb;
  dark: Rgb;
}

export interface ScenePalette {
  roles: Roles;
  /** All colours, most important first. */
  colours: Rgb[];
  /** Backdrop colour field: LAYOUT_COLUMNS × LAYOUT_ROWS cells, row-major. */
  field: Rgb[];
}

export const LAYOUT_COLUMNS = 4;
export const LAYOUT_ROWS = 3;
const COLOURS_PER_REFERENCE = 5;
const MAX_COLOURS = 8;
/** Reference colours closer than this (ΔE2000) are one colour of the world. */
const SAME_COLOUR = 10;
/** A reference colour covering less of its image than this is a detail, not the world's. */
const MIN_SHARE = 0.04;
/** L* difference under which a figure would melt into the backdrop. */
const MIN_FIGURE_CONTRAST = 25;

export const BLACK: Rgb = [8, 8, 12];
export const WHITE: Rgb = [255, 255, 255];

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Pull toward the colour's own grey (t = 1: fully grey). */
export function desaturate(c: Rgb, t: number): Rgb {
  const grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  return mix(c, [grey, grey, grey], t);
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const k = (i: number) => (i + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (i: number) => l - a * Math.max(-1, Math.min(k(i) - 3, 9 - k(i), 1));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

interface WorldColour {
  rgb: Rgb;
  lab: Lab;
  share: number;
}

const chroma = (lab: Lab) => Math.hypot(lab[1], lab[2]);

function addColour(pool: WorldColour[], rgb: Rgb, share: number): void {
  const lab = srgbToLab(rgb);
  const same = pool.find((c) => deltaE2000(c.lab, lab) < SAME_COLOUR);
  if (same) same.share += share;
  else pool.push({ rgb, lab, share });
}

async function decoded(reference: Buffer, index: number): Promise<Buffer> {
  try {
    // One decode, reused for palette and layout; also rejects what is not an image.
    return await sharp(reference, { autoOrient: true }).removeAlpha().toColourspace("srgb").png({ compressionLevel: 0 }).toBuffer();
  } catch (error) {
    throw new InputError(`image_input[${index}] could not be decoded: ${(error as Error).message}`);
  }
}

/** Roles by lightness and colourfulness, so the same world colours always play the same parts. */
function assignRoles(pool: WorldColour[]): Roles {
  const byShare = [...pool];
  const back = byShare[0]!;
  const rest = byShare.slice(1);
  const accent = rest.length ? rest.reduce((a, b) => (chroma(b.lab) > chroma(a.lab) ? b : a)) : back;
  const others = rest.filter((c) => c !== accent);
  // The figure stands out from the backdrop, as a silhouette when the world has a dark colour.
  const contrast = (c: WorldColour) => Math.abs(c.lab[0] - back.lab[0]) + (c.lab[0] < back.lab[0] ? 15 : 0);
  const figure = others.length ? others.reduce((a, b) => (contrast(b) > contrast(a) ? b : a)) : accent;
  const ground = others.find((c) => c !== figure) ?? figure;
  const light = pool.reduce((a, b) => (b.lab[0] > a.lab[0] ? b : a));
  const dark = pool.reduce((a, b) => (b.lab[0] < a.lab[0] ? b : a));
  // A figure needs to read against the backdrop even in a world of pastels: shade it (it is
  // a small share of the frame, so the picture's dominant colours stay the world's).
  let figureRgb = figure.rgb;
  const gap = figure.lab[0] - back.lab[0];
  if (Math.abs(gap) < MIN_FIGURE_CONTRAST) figureRgb = back.lab[0] > 45 ? mix(figure.rgb, BLACK, 0.45) : mix(figure.rgb, WHITE, 0.45);
  return { back: back.rgb, back2: ground.rgb, ground: ground.rgb, figure: figureRgb, product: accent.rgb, accent: accent.rgb, light: light.rgb, dark: dark.rgb };
}

/** The world's colour per layout cell: each reference votes for its cell's nearest world colour. */
async function layoutField(images: Buffer[], pool: WorldColour[]): Promise<Rgb[]> {
  const votes = Array.from({ length: LAYOUT_COLUMNS * LAYOUT_ROWS }, () => new Float64Array(pool.length));
  for (const image of images) {
    const cells = await sharp(image).resize(LAYOUT_COLUMNS, LAYOUT_ROWS, { fit: "fill", kernel: "linear" }).raw().toBuffer();
    for (let cell = 0; cell < votes.length; cell++) {
      const lab = srgbToLab([cells[cell * 3]!, cells[cell * 3 + 1]!, cells[cell * 3 + 2]!]);
      let best = 0;
      for (let i = 1; i < pool.length; i++) if (deltaE2000(lab, pool[i]!.lab) < deltaE2000(lab, pool[best]!.lab)) best = i;
      // Weighted by how much of the world the colour is, so ties between references resolve
      // toward the colour that dominates overall.
      votes[cell]![best]! += 1 + pool[best]!.share;
    }
  }
  return votes.map((v) => pool[v.indexOf(Math.max(...v))]!.rgb);
}

/**
 * Palette for a picture: named colours lead, then the references' colours, then seeded fill
 * colours when there are too few. `random` only fills gaps; it never reorders the world's
 * colours, so every beat conditioned on the same references gets the same roles.
 */
export async function scenePaletteOf(references: Buffer[], named: string[], random: () => number): Promise<ScenePalette> {
  const pool: WorldColour[] = [];
  // Named colours get a share above any reference colour: the prompt's word wins.
  for (const hex of named.slice(0, 3)) addColour(pool, hexToRgb(hex), 2);
  const images = await Promise.all(references.map(decoded));
  for (const image of images) {
    for (const entry of await paletteOf(image, COLOURS_PER_REFERENCE)) {
      if (entry.share >= MIN_SHARE) addColour(pool, hexToRgb(entry.hex), entry.share / images.length);
    }
  }
  pool.sort((a, b) => b.share - a.share);
  pool.splice(MAX_COLOURS);
  // Too few colours: shades of the named ones (the prompt's colours stay the picture's), else
  // seeded hues.
  const namedCount = pool.length;
  for (let tries = 0; pool.length < 4 && tries < 16; tries++) {
    const base = namedCount > 0 && images.length === 0 ? pool[tries % namedCount]!.rgb : null;
    addColour(pool, base ? mix(base, tries % 2 ? WHITE : BLACK, 0.3 + 0.25 * random()) : hslToRgb(random(), 0.45 + 0.3 * random(), 0.3 + 0.35 * random()), 0);
  }
  const roles = assignRoles(pool);
  let field: Rgb[];
  if (images.length > 0) {
    field = await layoutField(images, pool);
  } else {
    // No world given: a seeded diagonal between the two backdrop colours.
    const angle = random() * Math.PI * 2;
    field = [];
    for (let row = 0; row < LAYOUT_ROWS; row++) {
      for (let column = 0; column < LAYOUT_COLUMNS; column++) {
        const t = 0.5 + 0.5 * ((column / (LAYOUT_COLUMNS - 1) - 0.5) * Math.cos(angle) + (row / (LAYOUT_ROWS - 1) - 0.5) * Math.sin(angle));
        field.push(mix(mix(roles.back, BLACK, 0.15), mix(roles.back2, BLACK, 0.35), t));
      }
    }
  }
  return { roles, colours: pool.map((c) => c.rgb), field };
}
