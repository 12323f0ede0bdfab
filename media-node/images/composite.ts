import sharp from "sharp";
import { linearToSrgb, srgbToLinear } from "../../lib/color.ts";
import { InputError } from "../io.ts";

/**
 * The reference composite (SPEC §7.2): several conditioning images (storyboard frame, style
 * reference, previous chunk's last frame) blended into one image for an image-to-video model,
 * e.g. 70 % previous frame + 30 % storyboard.
 *
 * The blend is done in LINEAR LIGHT, not on sRGB code values (which is what a plain
 * per-channel blend such as PIL's Image.blend does). A weighted mix of two images is physically a double
 * exposure: light adds linearly. Mixing gamma-encoded values darkens every mid-blend —
 * 50/50 black/white gives 128 (≈ 22 % luminance) instead of 188 (50 %), and complementary
 * colours turn muddy — so the weaker layer reads as a dark stain rather than a faint ghost.
 * The model should see what a camera would see; linear light gives it that.
 * Precision: layers are decoded to 8-bit, converted through a 256-entry table to float, mixed
 * in float and encoded once, so the only rounding is the final one (±0.5 code value).
 */

export interface CompositeLayer {
  image: Buffer;
  weight: number;
}

const LINEAR = Float32Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));
/** Linear light → 8-bit sRGB through a fine table (65 536 steps: ≤ 0.05 code value of table error, even in the darks). */
const ENCODE_STEPS = 65535;
const ENCODE = Uint8Array.from({ length: ENCODE_STEPS + 1 }, (_, i) => Math.round(255 * linearToSrgb(i / ENCODE_STEPS)));

/** Weights scaled to sum to 1; refuses negative or all-zero weights. */
export function normalizeWeights(weights: readonly number[]): number[] {
  if (weights.some((w) => !(w >= 0))) throw new InputError("layers: weights must be non-negative", "layers");
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (total <= 0) throw new InputError("layers: weights sum to 0, nothing to blend", "layers");
  return weights.map((w) => w / total);
}

/** Blend layers (each resized to cover width×height, centred) into one PNG. */
export async function compositeLayers(layers: readonly CompositeLayer[], width: number, height: number): Promise<Buffer> {
  if (layers.length === 0) throw new InputError("layers: at least one layer is required", "layers");
  const weights = normalizeWeights(layers.map((l) => l.weight));
  const pixels = width * height * 3;
  const mix = new Float32Array(pixels);
  await Promise.all(
    layers.map(async (layer, index) => {
      const weight = weights[index]!;
      if (weight === 0) return;
      let raw: Buffer;
      try {
        raw = await sharp(layer.image, { autoOrient: true, limitInputPixels: 100_000_000 })
          .resize(width, height, { fit: "cover", position: "centre" })
          .toColourspace("srgb")
          // Transparent areas of a layer (a cut-out product shot) count as white, the usual
          // studio background, rather than black, which would darken the whole composite.
          .flatten({ background: "#FFFFFF" })
          .raw()
          .toBuffer();
      } catch (error) {
        throw new InputError(`layers.${index}.url: image could not be decoded: ${(error as Error).message}`, `layers.${index}.url`);
      }
      // Each layer adds into `mix`; JS is single-threaded, so the awaits above interleave only
      // decoding, never these loops.
      for (let i = 0; i < pixels; i++) mix[i]! += weight * LINEAR[raw[i]!]!;
    }),
  );
  const out = Buffer.allocUnsafe(pixels);
  for (let i = 0; i < pixels; i++) {
    const v = mix[i]!;
    out[i] = ENCODE[Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * ENCODE_STEPS)]!;
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
