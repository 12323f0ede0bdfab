import sharp, { type Metadata } from "sharp";
import { INGEST_IMAGE_FIELD, INGEST_LIMITS } from "../../contracts/media.ts";
import { InputError } from "../io.ts";
import type { ImageFormat } from "./safe-fetch.ts";

/**
 * Turning untrusted image bytes into a clean PNG: decode for real (a file is an image only if
 * a decoder accepts it), enforce dimension limits before the pixels are decompressed, then
 * re-encode — which drops EXIF/XMP/ICC and any trailing payload, and applies the EXIF
 * orientation so downstream code never has to.
 */

/** Smallest side a brand asset may have: below this it is an icon, not a usable reference. */
const MIN_SIDE = INGEST_LIMITS.minSide;

export interface IngestedImage {
  png: Buffer;
  width: number;
  height: number;
  format: ImageFormat;
}

const FORMAT_NAMES: Record<ImageFormat, string> = { png: "PNG", jpeg: "JPEG", webp: "WebP" };

export async function normalizeImage(bytes: Buffer, sniffed: ImageFormat, maxPixels: number): Promise<IngestedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (error) {
    throw new InputError(`not a PNG, JPEG or WebP image (${(error as Error).message})`, INGEST_IMAGE_FIELD);
  }
  if (meta.format !== "png" && meta.format !== "jpeg" && meta.format !== "webp") {
    throw new InputError(`not a PNG, JPEG or WebP image (decoded as ${meta.format})`, INGEST_IMAGE_FIELD);
  }
  // The signature and the decoder must agree: a file that is "both" is a polyglot.
  if (meta.format !== sniffed) {
    throw new InputError(`not a PNG, JPEG or WebP image (signature says ${FORMAT_NAMES[sniffed]}, decoder says ${meta.format})`, INGEST_IMAGE_FIELD);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new InputError(`image is ${width}x${height}, under the ${MIN_SIDE}x${MIN_SIDE} minimum`, INGEST_IMAGE_FIELD);
  }
  if (width * height > maxPixels) {
    throw new InputError(`image is ${width}x${height} (${width * height} pixels), over the ${maxPixels} pixel limit`, INGEST_IMAGE_FIELD);
  }
  let png: Buffer;
  try {
    // limitInputPixels repeats the check inside libvips; failOn "warning" (strictest)
    // rejects truncated or corrupt data instead of padding it with grey.
    png = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "warning", autoOrient: true, pages: 1 })
      .toColourspace("srgb")
      .png({ compressionLevel: 6 })
      .toBuffer();
  } catch (error) {
    throw new InputError(`${FORMAT_NAMES[sniffed]} image could not be decoded: ${(error as Error).message}`, INGEST_IMAGE_FIELD);
  }
  return { png, width, height, format: sniffed };
}
