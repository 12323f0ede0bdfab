import sharp from "sharp";
import { mulberry32 } from "../../lib/random.ts";
import type { AnalyzeImageResponse, PaletteEntry } from "../../contracts/media.ts";
import { deltaE2000, labToHex, srgbToLinear, type Lab } from "../../lib/color.ts";
import { InputError } from "../io.ts";

/**
 * Local image analysis: dominant palette (k-means in CIELAB) and tone statistics turned into
 * short lighting / style hints for prompts. Deterministic: the same bytes give the same answer.
 */

/** Long side of the copy we analyse. Palette and tone survive downsampling; cost is O(pixels). */
const SAMPLE_SIDE = 96;
/** Clusters closer than this (ΔE2000) read as one colour; ~6 is "clearly the same hue family". */
const MERGE_DELTA_E = 6;
/** Pixels with less alpha than this are background, not part of the picture's palette. */
const MIN_ALPHA = 128;
const KMEANS_SEED = 0x5eed_ad;
const KMEANS_MAX_ITERATIONS = 24;
const KMEANS_CLUSTERS = 12;

/** Distinct colours of the sample with how many pixels carry each one. */
interface ColourSample {
  labs: Float64Array; // 3 per colour
  counts: Float64Array;
  pixels: number;
}

interface Decoded {
  width: number;
  height: number;
  sample: ColourSample;
}

// 8-bit sRGB → linear light, computed once: the per-pixel conversion is then three lookups.
const LINEAR = Float64Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;
const labF = (t: number) => (t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116);

function rgbKeyToLab(key: number, out: Float64Array, at: number): void {
  // Same maths as lib/color.ts srgbToLab, inlined over the lookup table.
  const rl = LINEAR[(key >> 16) & 0xff]!;
  const gl = LINEAR[(key >> 8) & 0xff]!;
  const bl = LINEAR[key & 0xff]!;
  const fx = labF((0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl) / 0.95047);
  const fy = labF(0.2126729 * rl + 0.7151522 * gl + 0.072175 * bl);
  const fz = labF((0.0193339 * rl + 0.119192 * gl + 0.9503041 * bl) / 1.08883);
  out[at] = 116 * fy - 16;
  out[at + 1] = 500 * (fx - fy);
  out[at + 2] = 200 * (fy - fz);
}

async function decodeSample(image: Buffer): Promise<Decoded> {
  let width: number;
  let height: number;
  let raw: Buffer;
  try {
    const meta = await sharp(image).metadata();
    width = meta.autoOrient?.width ?? meta.width;
    height = meta.autoOrient?.height ?? meta.height;
    raw = await sharp(image, { autoOrient: true })
      .resize(SAMPLE_SIDE, SAMPLE_SIDE, { fit: "inside", withoutEnlargement: true, kernel: "nearest" })
      .toColourspace("srgb")
      .ensureAlpha()
      .raw()
      .toBuffer();
  } catch (error) {
    throw new InputError(`image could not be decoded: ${(error as Error).message}`);
  }
  const counts = new Map<number, number>();
  const all = new Map<number, number>();
  for (let i = 0; i + 3 < raw.length; i += 4) {
    const key = (raw[i]! << 16) | (raw[i + 1]! << 8) | raw[i + 2]!;
    all.set(key, (all.get(key) ?? 0) + 1);
    if (raw[i + 3]! >= MIN_ALPHA) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // A fully transparent image still has colours; use them rather than answer nothing.
  const chosen = counts.size > 0 ? counts : all;
  const labs = new Float64Array(chosen.size * 3);
  const weights = new Float64Array(chosen.size);
  let n = 0;
  let pixels = 0;
  // Sorted keys: the sample order (and so k-means++) does not depend on pixel scan order.
  for (const key of [...chosen.keys()].sort((a, b) => a - b)) {
    rgbKeyToLab(key, labs, n * 3);
    const count = chosen.get(key)!;
    weights[n++] = count;
    pixels += count;
  }
  return { width, height, sample: { labs, counts: weights, pixels } };
}


function squaredDistance(labs: Float64Array, i: number, centres: Float64Array, c: number): number {
  const dl = labs[i * 3]! - centres[c * 3]!;
  const da = labs[i * 3 + 1]! - centres[c * 3 + 1]!;
  const db = labs[i * 3 + 2]! - centres[c * 3 + 2]!;
  return dl * dl + da * da + db * db;
}

interface Cluster {
  lab: Lab;
  weight: number;
}

/**
 * Weighted k-means (Lloyd) in Lab with k-means++ seeding. Euclidean Lab distance (ΔE76) for
 * assignment: means are only well defined for a Euclidean metric; ΔE2000 is used afterwards
 * to decide which clusters a viewer would see as one colour.
 */
function kMeans(sample: ColourSample, k: number): Cluster[] {
  const { labs, counts } = sample;
  const n = counts.length;
  const random = mulberry32(KMEANS_SEED);
  const centres = new Float64Array(k * 3);
  const nearest = new Float64Array(n).fill(Infinity);

  // k-means++: first centre by weight, later ones by weight × squared distance.
  let chosen = 0;
  const pick = (scores: Float64Array, total: number) => {
    let target = random() * total;
    for (let i = 0; i < n; i++) {
      target -= scores[i]!;
      if (target <= 0 && scores[i]! > 0) return i;
    }
    for (let i = n - 1; i >= 0; i--) if (scores[i]! > 0) return i;
    return 0;
  };
  const scores = new Float64Array(n);
  let first = pick(counts, sample.pixels);
  for (;;) {
    centres.set(labs.subarray(first * 3, first * 3 + 3), chosen * 3);
    chosen++;
    if (chosen === k) break;
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, squaredDistance(labs, i, centres, chosen - 1));
      scores[i] = counts[i]! * nearest[i]!;
      total += scores[i]!;
    }
    // Fewer distinct colours than k: every colour is already a centre.
    if (total <= 1e-9) break;
    first = pick(scores, total);
  }

  const assignment = new Int32Array(n).fill(-1);
  const sums = new Float64Array(chosen * 4);
  for (let iteration = 0; iteration < KMEANS_MAX_ITERATIONS; iteration++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let c = 0; c < chosen; c++) {
        const d = squaredDistance(labs, i, centres, c);
        if (d < bestDistance) {
          bestDistance = d;
          best = c;
        }
      }
      if (assignment[i] !== best) {
        assignment[i] = best;
        moved++;
      }
    }
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      const w = counts[i]!;
      sums[c * 4] = sums[c * 4]! + w * labs[i * 3]!;
      sums[c * 4 + 1] = sums[c * 4 + 1]! + w * labs[i * 3 + 1]!;
      sums[c * 4 + 2] = sums[c * 4 + 2]! + w * labs[i * 3 + 2]!;
      sums[c * 4 + 3] = sums[c * 4 + 3]! + w;
    }
    for (let c = 0; c < chosen; c++) {
      const w = sums[c * 4 + 3]!;
      if (w === 0) continue; // an empty cluster keeps its centre and is dropped below
      centres[c * 3] = sums[c * 4]! / w;
      centres[c * 3 + 1] = sums[c * 4 + 1]! / w;
      centres[c * 3 + 2] = sums[c * 4 + 2]! / w;
    }
    if (moved === 0) break;
  }

  const clusters: Cluster[] = [];
  for (let c = 0; c < chosen; c++) {
    const weight = sums[c * 4 + 3]!;
    if (weight > 0) clusters.push({ lab: [centres[c * 3]!, centres[c * 3 + 1]!, centres[c * 3 + 2]!], weight });
  }
  return clusters;
}

/** Merge the closest pair while it is under `threshold` ΔE2000 (weighted mean in Lab). */
function mergeClose(clusters: Cluster[], threshold: number): Cluster[] {
  const merged = clusters.map((c) => ({ lab: [...c.lab] as Lab, weight: c.weight }));
  for (;;) {
    let bestI = -1;
    let bestJ = -1;
    let best = threshold;
    for (let i = 0; i < merged.length; i++) {
      for (let j = i + 1; j < merged.length; j++) {
        const d = deltaE2000(merged[i]!.lab, merged[j]!.lab);
        if (d < best) {
          best = d;
          bestI = i;
          bestJ = j;
        }
      }
    }
    if (bestI < 0) return merged;
    const a = merged[bestI]!;
    const b = merged[bestJ]!;
    const w = a.weight + b.weight;
    a.lab = [(a.lab[0] * a.weight + b.lab[0] * b.weight) / w, (a.lab[1] * a.weight + b.lab[1] * b.weight) / w, (a.lab[2] * a.weight + b.lab[2] * b.weight) / w];
    a.weight = w;
    merged.splice(bestJ, 1);
  }
}

function paletteFromSample(sample: ColourSample, maxColors: number): PaletteEntry[] {
  const limit = Math.max(1, Math.min(8, Math.floor(maxColors)));
  // Over-segment, then merge: k well above the palette size lets a minor but distinct colour
  // get its own cluster instead of being averaged into a neighbour, and keeps the clustering
  // independent of `maxColors` (a shorter palette is a prefix of a longer one).
  const clusters = mergeClose(kMeans(sample, Math.max(KMEANS_CLUSTERS, limit + 4)), MERGE_DELTA_E);
  clusters.sort((a, b) => b.weight - a.weight || a.lab[0] - b.lab[0]);
  // share = fraction of the (opaque) picture, so entries dropped past `limit` are not hidden
  // in the others' shares.
  return clusters.slice(0, limit).map((c) => {
    const lab: Lab = [round(c.lab[0], 2), round(c.lab[1], 2), round(c.lab[2], 2)];
    return { hex: labToHex(c.lab), share: round(c.weight / sample.pixels, 4), lab };
  });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Dominant colours of an image, largest share first (at most `maxColors`, at most 8). */
export async function paletteOf(image: Buffer, maxColors = 6): Promise<PaletteEntry[]> {
  const { sample } = await decodeSample(image);
  return paletteFromSample(sample, maxColors);
}

/** Chroma at which saturation reads 1: fully saturated sRGB primaries sit around 100–134. */
const FULL_CHROMA = 100;
/** Std of L* at which contrast reads 1: half black, half white has std 50. */
const FULL_CONTRAST_STD = 50;

export interface ToneStatistics {
  brightness: number;
  contrast: number;
  saturation: number;
  /** Chroma-weighted mean hue direction, for warm/cool wording; null when near-neutral. */
  warmth: "warm" | "cool" | null;
}

function toneStatistics(sample: ColourSample): ToneStatistics {
  const { labs, counts, pixels } = sample;
  let sumL = 0;
  let sumL2 = 0;
  let sumC = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < counts.length; i++) {
    const w = counts[i]!;
    const l = labs[i * 3]!;
    const a = labs[i * 3 + 1]!;
    const b = labs[i * 3 + 2]!;
    sumL += w * l;
    sumL2 += w * l * l;
    sumC += w * Math.hypot(a, b);
    sumA += w * a;
    sumB += w * b;
  }
  const meanL = sumL / pixels;
  const std = Math.sqrt(Math.max(0, sumL2 / pixels - meanL * meanL));
  const meanA = sumA / pixels;
  const meanB = sumB / pixels;
  // Warm = mean colour toward red/yellow (hue 0..90° and beyond to ~ -30°), cool toward blue/cyan.
  let warmth: ToneStatistics["warmth"] = null;
  if (Math.hypot(meanA, meanB) > 6) {
    const hue = (Math.atan2(meanB, meanA) * 180) / Math.PI;
    warmth = hue > -30 && hue < 100 ? "warm" : hue > 150 || hue < -60 ? "cool" : null;
  }
  const clamp = (v: number) => round(Math.min(1, Math.max(0, v)), 4);
  return {
    brightness: clamp(meanL / 100),
    contrast: clamp(std / FULL_CONTRAST_STD),
    saturation: clamp(sumC / pixels / FULL_CHROMA),
    warmth,
  };
}

/** Words for the lighting, from brightness and contrast (thresholds picked on L* scale). */
export function lightingHint({ brightness, contrast }: Pick<ToneStatistics, "brightness" | "contrast">): string {
  if (brightness >= 0.68 && contrast < 0.55) return "bright high-key lighting";
  if (brightness <= 0.35) return contrast >= 0.55 ? "low-key chiaroscuro lighting" : "low-key moody lighting";
  if (contrast >= 0.7) return "dramatic high-contrast lighting";
  if (contrast <= 0.15) return "soft flat diffused lighting";
  return "balanced natural lighting";
}

/** Words for the colour treatment, from saturation, contrast and warmth. */
export function styleHint({ brightness, contrast, saturation, warmth }: ToneStatistics): string {
  let base: string;
  if (saturation >= 0.45) base = "vivid saturated colour grade";
  else if (saturation < 0.06) base = contrast >= 0.6 ? "high-contrast monochrome look" : "desaturated monochrome look";
  else if (contrast >= 0.6 && saturation < 0.3) base = "high-contrast graphic look";
  else if (brightness >= 0.65 && saturation < 0.3) base = "muted pastel palette";
  else if (saturation < 0.15) base = "muted understated colour grade";
  else base = "natural colour grade";
  return warmth ? `${base}, ${warmth} tones` : base;
}

export async function analyzeImage(image: Buffer): Promise<AnalyzeImageResponse> {
  const { width, height, sample } = await decodeSample(image);
  const stats = toneStatistics(sample);
  return {
    width,
    height,
    palette: paletteFromSample(sample, 6),
    brightness: stats.brightness,
    contrast: stats.contrast,
    saturation: stats.saturation,
    lighting: lightingHint(stats),
    style: styleHint(stats),
  };
}
