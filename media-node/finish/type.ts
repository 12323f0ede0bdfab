import { access } from "node:fs/promises";
import sharp from "sharp";

/**
 * Setting copy in type: text drawn by Pango (through sharp) in DejaVu Sans, named by its font
 * file so no system font lookup can substitute another face; plates and buttons drawn as SVG
 * through librsvg. Debian's fonts-dejavu-core ships these files (scripts/ensure.sh, Dockerfile).
 */

export const FONT_FILES = {
  bold: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  regular: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
} as const;
const FAMILY = { bold: "DejaVu Sans Bold", regular: "DejaVu Sans" } as const;

export type Weight = keyof typeof FONT_FILES;

let fontsChecked: Promise<void> | undefined;

/** Fails loudly, once, when the font files are missing (Pango would silently fall back). */
export function checkFonts(): Promise<void> {
  fontsChecked ??= Promise.all(Object.values(FONT_FILES).map((file) => access(file))).then(
    () => undefined,
    () => {
      fontsChecked = undefined;
      throw new Error(`overlay fonts missing: install Debian's fonts-dejavu-core (${Object.values(FONT_FILES).join(", ")})`);
    },
  );
  return fontsChecked;
}

export interface RGB {
  r: number;
  g: number;
  b: number;
}

export function parseHex(hex: string): RGB {
  return { r: parseInt(hex.slice(1, 3), 16), g: parseInt(hex.slice(3, 5), 16), b: parseInt(hex.slice(5, 7), 16) };
}

export function toHex({ r, g, b }: RGB): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("").toUpperCase()}`;
}

/** WCAG 2 relative luminance of an sRGB colour. */
export function luminance({ r, g, b }: RGB): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrastRatio(a: RGB, b: RGB): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

export const INK = { r: 17, g: 17, b: 17 };
export const PAPER = { r: 255, g: 255, b: 255 };

/** White or near-black, whichever reads better on `background`. */
export function inkFor(background: RGB): RGB {
  return contrastRatio(PAPER, background) >= contrastRatio(INK, background) ? PAPER : INK;
}

function escapeMarkup(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}

export interface SetText {
  png: Buffer;
  width: number;
  height: number;
  size: number;
}

export interface TextOptions {
  weight: Weight;
  /** Font size in pixels (Pango points at 72 dpi). */
  size: number;
  color: RGB;
  /** Wrap width. */
  maxWidth: number;
  /** Lines at most; the size shrinks (not below `minimum`) until the text fits. */
  maxLines: number;
  minimum: number;
}

/** Line height Pango gives DejaVu Sans: 1.164 em. */
const LINE_HEIGHT = 1.164;

/** The text as an RGBA PNG, centred lines, at the largest size up to `size` that fits. */
export async function setText(text: string, options: TextOptions): Promise<SetText> {
  await checkFonts();
  let size = options.size;
  for (;;) {
    const image = sharp({
      text: {
        text: `<span foreground="${toHex(options.color)}">${escapeMarkup(text)}</span>`,
        font: `${FAMILY[options.weight]} ${size}`,
        fontfile: FONT_FILES[options.weight],
        width: Math.floor(options.maxWidth),
        align: "centre",
        wrap: "word",
        rgba: true,
        dpi: 72,
      },
    });
    const { data, info } = await image.png().toBuffer({ resolveWithObject: true });
    const lines = Math.round(info.height / (size * LINE_HEIGHT));
    if ((lines <= options.maxLines && info.width <= options.maxWidth) || size <= options.minimum) {
      return { png: data, width: info.width, height: info.height, size };
    }
    size = Math.max(options.minimum, Math.floor(size * 0.9));
  }
}

/** A filled rounded rectangle as PNG (librsvg), e.g. a contrast plate or a button. */
export function roundedRect(width: number, height: number, radius: number, fill: RGB, opacity = 1): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect x="0" y="0" width="${width}" height="${height}" rx="${radius}" ry="${radius}" fill="${toHex(fill)}" fill-opacity="${opacity}"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
