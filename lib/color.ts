/**
 * Colour science shared by media-node (palette analysis) and the Worker (consistency score).
 * Pure arithmetic, no platform APIs, so the same module runs in Node and in workerd.
 *
 * sRGB values are 0..255 per channel; Lab is CIE L*a*b* relative to the D65 white point
 * (the sRGB reference white), L* in 0..100.
 */

export type Rgb = [number, number, number];
export type Lab = [number, number, number];

/** D65 reference white, Y normalised to 1 (IEC 61966-2-1 sRGB white). */
const WHITE_X = 0.95047;
const WHITE_Y = 1.0;
const WHITE_Z = 1.08883;

const HEX_PATTERN = /^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$/;

export function hexToRgb(hex: string): Rgb {
  const match = HEX_PATTERN.exec(hex.trim());
  if (!match) throw new Error(`not a hex colour: ${JSON.stringify(hex)}`);
  let digits = match[1]!;
  if (digits.length === 3) digits = digits.replace(/./g, (d) => d + d);
  const value = Number.parseInt(digits, 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/** Uppercase `#RRGGBB`; channels are rounded and clamped to 0..255. */
export function rgbToHex([r, g, b]: Rgb): string {
  const channel = (v: number) => Math.min(255, Math.max(0, Math.round(v))).toString(16).padStart(2, "0");
  return `#${channel(r)}${channel(g)}${channel(b)}`.toUpperCase();
}

/** sRGB transfer function: encoded 0..1 → linear light 0..1. */
export function srgbToLinear(encoded: number): number {
  return encoded <= 0.04045 ? encoded / 12.92 : Math.pow((encoded + 0.055) / 1.055, 2.4);
}

/** Inverse sRGB transfer function: linear light 0..1 → encoded 0..1. */
export function linearToSrgb(linear: number): number {
  return linear <= 0.0031308 ? linear * 12.92 : 1.055 * Math.pow(linear, 1 / 2.4) - 0.055;
}

// CIE constants in their exact rational form (CIE 15:2004): ε = 216/24389, κ = 24389/27.
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;

function labF(t: number): number {
  return t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
}

function labFInverse(f: number): number {
  const cube = f * f * f;
  return cube > EPSILON ? cube : (116 * f - 16) / KAPPA;
}

export function srgbToLab([r, g, b]: Rgb): Lab {
  const rl = srgbToLinear(r / 255);
  const gl = srgbToLinear(g / 255);
  const bl = srgbToLinear(b / 255);
  const x = 0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl;
  const y = 0.2126729 * rl + 0.7151522 * gl + 0.072175 * bl;
  const z = 0.0193339 * rl + 0.119192 * gl + 0.9503041 * bl;
  const fx = labF(x / WHITE_X);
  const fy = labF(y / WHITE_Y);
  const fz = labF(z / WHITE_Z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** Lab → sRGB 0..255 (unrounded, clamped into gamut per channel). */
export function labToRgb([l, a, bb]: Lab): Rgb {
  const fy = (l + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - bb / 200;
  const x = labFInverse(fx) * WHITE_X;
  const y = (l > KAPPA * EPSILON ? fy * fy * fy : l / KAPPA) * WHITE_Y;
  const z = labFInverse(fz) * WHITE_Z;
  const rl = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const gl = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const bl = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  const encode = (v: number) => 255 * linearToSrgb(Math.min(1, Math.max(0, v)));
  return [encode(rl), encode(gl), encode(bl)];
}

export function labToHex(lab: Lab): string {
  return rgbToHex(labToRgb(lab));
}

export function hexToLab(hex: string): Lab {
  return srgbToLab(hexToRgb(hex));
}

const DEG = Math.PI / 180;
const POW25_7 = Math.pow(25, 7);

/**
 * CIEDE2000 colour difference (kL = kC = kH = 1), following Sharma, Wu & Dalal (2005),
 * "The CIEDE2000 Color-Difference Formula: Implementation Notes, Supplementary Test Data,
 * and Mathematical Observations" — including their hue-mean and hue-difference rules.
 */
export function deltaE2000(lab1: Lab, lab2: Lab): number {
  const [l1, a1, b1] = lab1;
  const [l2, a2, b2] = lab2;
  const c1 = Math.hypot(a1, b1);
  const c2 = Math.hypot(a2, b2);
  const cMean = (c1 + c2) / 2;
  const cMean7 = Math.pow(cMean, 7);
  const g = 0.5 * (1 - Math.sqrt(cMean7 / (cMean7 + POW25_7)));
  const a1p = (1 + g) * a1;
  const a2p = (1 + g) * a2;
  const c1p = Math.hypot(a1p, b1);
  const c2p = Math.hypot(a2p, b2);
  const hueAngle = (b: number, ap: number) => {
    if (b === 0 && ap === 0) return 0;
    const h = Math.atan2(b, ap) / DEG;
    return h < 0 ? h + 360 : h;
  };
  const h1p = hueAngle(b1, a1p);
  const h2p = hueAngle(b2, a2p);

  const dLp = l2 - l1;
  const dCp = c2p - c1p;
  let dhp = 0;
  if (c1p * c2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(c1p * c2p) * Math.sin((dhp / 2) * DEG);

  const lpMean = (l1 + l2) / 2;
  const cpMean = (c1p + c2p) / 2;
  let hpMean = h1p + h2p;
  if (c1p * c2p !== 0) {
    if (Math.abs(h1p - h2p) <= 180) hpMean = (h1p + h2p) / 2;
    else if (h1p + h2p < 360) hpMean = (h1p + h2p + 360) / 2;
    else hpMean = (h1p + h2p - 360) / 2;
  }

  const t =
    1 -
    0.17 * Math.cos((hpMean - 30) * DEG) +
    0.24 * Math.cos(2 * hpMean * DEG) +
    0.32 * Math.cos((3 * hpMean + 6) * DEG) -
    0.2 * Math.cos((4 * hpMean - 63) * DEG);
  const dTheta = 30 * Math.exp(-Math.pow((hpMean - 275) / 25, 2));
  const cpMean7 = Math.pow(cpMean, 7);
  const rc = 2 * Math.sqrt(cpMean7 / (cpMean7 + POW25_7));
  const lOffset = (lpMean - 50) * (lpMean - 50);
  const sl = 1 + (0.015 * lOffset) / Math.sqrt(20 + lOffset);
  const sc = 1 + 0.045 * cpMean;
  const sh = 1 + 0.015 * cpMean * t;
  const rt = -Math.sin(2 * dTheta * DEG) * rc;

  const lTerm = dLp / sl;
  const cTerm = dCp / sc;
  const hTerm = dHp / sh;
  return Math.sqrt(lTerm * lTerm + cTerm * cTerm + hTerm * hTerm + rt * cTerm * hTerm);
}

export interface WeightedLab {
  lab: Lab;
  share: number;
}

/**
 * How far palette `a` has drifted from palette `b`: for each colour of `a`, the ΔE2000 to
 * its nearest colour in `b`, averaged with `a`'s shares as weights. Directional on purpose:
 * a chunk may use fewer of the reference colours, but every colour it does use should be
 * close to one of them. 0 means every colour of `a` appears in `b`.
 */
export function paletteDistance(a: readonly WeightedLab[], b: readonly WeightedLab[]): number {
  if (a.length === 0 || b.length === 0) throw new Error("paletteDistance needs two non-empty palettes");
  let weighted = 0;
  let total = 0;
  for (const colour of a) {
    let nearest = Infinity;
    for (const other of b) nearest = Math.min(nearest, deltaE2000(colour.lab, other.lab));
    const weight = Math.max(0, colour.share);
    weighted += weight * nearest;
    total += weight;
  }
  // All-zero shares carry no weighting information: treat the colours as equally important.
  if (total === 0) {
    let sum = 0;
    for (const colour of a) {
      let nearest = Infinity;
      for (const other of b) nearest = Math.min(nearest, deltaE2000(colour.lab, other.lab));
      sum += nearest;
    }
    return sum / a.length;
  }
  return weighted / total;
}

/**
 * Palette difference with neither side as the reference (two frames either side of a seam):
 * the mean of `paletteDistance` both ways. 0 for one palette; for two one-colour palettes,
 * their ΔE2000.
 */
export function symmetricPaletteDistance(a: readonly WeightedLab[], b: readonly WeightedLab[]): number {
  return (paletteDistance(a, b) + paletteDistance(b, a)) / 2;
}

/**
 * Drop colours within `minDelta` ΔE2000 of one already kept (first occurrence wins, order
 * kept). Returns uppercase `#RRGGBB`. ΔE ≈ 2.3 is the classic just-noticeable difference,
 * so the default 3 removes colours a viewer would not tell apart.
 */
export function dedupeColors(hexes: readonly string[], minDelta = 3): string[] {
  const kept: { hex: string; lab: Lab }[] = [];
  for (const hex of hexes) {
    const rgb = hexToRgb(hex);
    const lab = srgbToLab(rgb);
    if (kept.every((k) => deltaE2000(k.lab, lab) >= minDelta)) kept.push({ hex: rgbToHex(rgb), lab });
  }
  return kept.map((k) => k.hex);
}
