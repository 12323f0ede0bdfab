import sharp from "sharp";
import { InputError } from "../io.ts";

/**
 * One view of a picture, cut from inside it: what a camera that closed in by `zoom` and moved
 * its view centre by (dx, dy) shares of the frame sees, resampled to width×height. The picture
 * is first fitted to width×height (cover, centred) so views are in the video's own frame.
 * Nothing is invented: a view that would reach outside the picture is refused.
 */

export interface View {
  zoom: number;
  dx: number;
  dy: number;
}

export interface Reframed {
  png: Buffer;
  crop: { left: number; top: number; width: number; height: number };
}

export async function reframe(image: Buffer, view: View, width: number, height: number): Promise<Reframed> {
  if (!(view.zoom >= 1)) throw new InputError("zoom: must be at least 1 (a view inside the picture)", "zoom");
  let fitted: Buffer;
  try {
    fitted = await sharp(image, { autoOrient: true }).resize(width, height, { fit: "cover", position: "centre" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
  } catch (error) {
    throw new InputError(`source_url: image could not be decoded: ${(error as Error).message}`, "source_url");
  }
  const cropWidth = Math.max(1, Math.round(width / view.zoom));
  const cropHeight = Math.max(1, Math.round(height / view.zoom));
  const left = Math.round(width / 2 + view.dx * width - cropWidth / 2);
  const top = Math.round(height / 2 + view.dy * height - cropHeight / 2);
  if (left < 0 || top < 0 || left + cropWidth > width || top + cropHeight > height) throw new InputError("the view reaches outside the picture", "dx");
  const crop = { left, top, width: cropWidth, height: cropHeight };
  const png = await sharp(fitted, { raw: { width, height, channels: 3 } }).extract(crop).resize(width, height, { fit: "fill", kernel: "lanczos3" }).png({ compressionLevel: 6 }).toBuffer();
  return { png, crop };
}
