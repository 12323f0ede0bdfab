import sharp from "sharp";
import { type Lab, labToRgb, srgbToLab } from "../../lib/color.ts";
import { InputError } from "../io.ts";

/**
 * Colour transfer (Reinhard, Ashikhmin, Gooch & Shirley, "Color Transfer between Images",
 * IEEE CG&A 21(5), 2001), in CIELAB: each channel of the source is shifted and scaled so its
 * mean and spread become the target's, `strength` of the way. Every output pixel is its own
 * source pixel recoloured: the target's shapes never enter the picture, so unlike a blend
 * with the target it cannot ghost. Drift correction uses it to bring a chunk's exact last frame
 * back to its storyboard's palette (docs/SEAMS.md).
 *
 * Spread ratios are held to [1/SPREAD_LIMIT, SPREAD_LIMIT]: a flat source (a sky) stretched to
 * a busy target's spread would only amplify its noise.
 */

const SPREAD_LIMIT = 2;

interface ChannelStats {
  mean: Lab;
  spread: Lab;
}

async function labPixels(image: Buffer, field: string, size?: { width: number; height: number }) {
  try {
    const pipeline = sharp(image, { autoOrient: true }).removeAlpha().toColourspace("srgb");
    const { data, info } = await (size ? pipeline.resize(size.width, size.height, { fit: "fill" }) : pipeline).raw().toBuffer({ resolveWithObject: true });
    const labs = new Float64Array((data.length / 3) * 3);
    for (let i = 0; i < data.length; i += 3) labs.set(srgbToLab([data[i]!, data[i + 1]!, data[i + 2]!]), i);
    return { labs, width: info.width, height: info.height };
  } catch (error) {
    throw new InputError(`${field}: image could not be decoded: ${(error as Error).message}`, field);
  }
}

function statsOf(labs: Float64Array): ChannelStats {
  const n = labs.length / 3;
  const mean = [0, 0, 0];
  const spread = [0, 0, 0];
  for (let i = 0; i < labs.length; i += 3) for (let c = 0; c < 3; c++) mean[c]! += labs[i + c]! / n;
  for (let i = 0; i < labs.length; i += 3) for (let c = 0; c < 3; c++) spread[c]! += (labs[i + c]! - mean[c]!) ** 2 / n;
  return { mean: mean as Lab, spread: spread.map(Math.sqrt) as Lab };
}

/** The source recoloured toward the target, as PNG at the source's size. */
export async function transferPalette(source: Buffer, target: Buffer, strength: number): Promise<{ png: Buffer; width: number; height: number }> {
  const from = await labPixels(source, "source_url");
  // The target's statistics do not need its full resolution.
  const to = await labPixels(target, "target_url", { width: 256, height: Math.max(1, Math.round((256 * from.height) / from.width)) });
  const s = statsOf(from.labs);
  const t = statsOf(to.labs);
  const scale = [0, 1, 2].map((c) => (s.spread[c]! > 1e-6 ? Math.min(SPREAD_LIMIT, Math.max(1 / SPREAD_LIMIT, t.spread[c]! / s.spread[c]!)) : 1));
  const out = Buffer.allocUnsafe(from.labs.length);
  for (let i = 0; i < from.labs.length; i += 3) {
    const lab: Lab = [0, 0, 0];
    for (let c = 0; c < 3; c++) {
      const v = from.labs[i + c]!;
      lab[c] = v + strength * ((v - s.mean[c]!) * scale[c]! + t.mean[c]! - v);
    }
    const rgb = labToRgb(lab);
    for (let c = 0; c < 3; c++) out[i + c] = Math.round(rgb[c]!);
  }
  const png = await sharp(out, { raw: { width: from.width, height: from.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
  return { png, width: from.width, height: from.height };
}
