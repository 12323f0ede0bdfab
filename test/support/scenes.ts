import sharp from "sharp";
import { mulberry32 } from "../../lib/random.ts";
import { ffmpeg } from "../../media-node/ffmpeg.ts";

/**
 * Test support (not a test file): picture-like test images and camera moves over them, for the
 * measures that compare frames (seams, double exposures, palette transfer). A scene is a
 * gradient sky, a horizon and a few dozen overlapping shapes in a seeded palette: edges at every
 * scale and flat areas, like a storyboard frame, unlike noise.
 */

export async function scene(seed: number, width: number, height: number): Promise<Buffer> {
  const random = mulberry32(seed);
  const hue = () => Math.floor(random() * 360);
  const colour = () => `hsl(${hue()},${40 + Math.floor(random() * 50)}%,${25 + Math.floor(random() * 55)}%)`;
  const shapes: string[] = [];
  for (let i = 0; i < 36; i++) {
    const x = Math.round(random() * width);
    const y = Math.round(random() * height);
    const size = Math.round((0.03 + random() * 0.14) * Math.min(width, height));
    shapes.push(
      random() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${size}" fill="${colour()}" opacity="${(0.7 + random() * 0.3).toFixed(2)}"/>`
        : `<rect x="${x}" y="${y}" width="${size * 2}" height="${Math.round(size * (0.5 + random()))}" fill="${colour()}" transform="rotate(${Math.round(random() * 40 - 20)} ${x} ${y})"/>`,
    );
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#sky)"/>` +
    `<rect y="${Math.round(height * (0.55 + random() * 0.2))}" width="${width}" height="${height}" fill="${colour()}"/>` +
    `${shapes.join("")}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** RGB of an image at width×height (cover). */
export function rgbOf(image: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(image).resize(width, height, { fit: "cover" }).removeAlpha().raw().toBuffer();
}

export interface PanOptions {
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** Left edge of the first frame's window in the scene, and how far it moves per frame (pixels). */
  fromX: number;
  stepX: number;
}

/** A clip that pans across `image` (which must be wider than `width` plus the travel): H.264 yuv420p. */
export async function panClip(path: string, image: Buffer, options: PanOptions): Promise<void> {
  const { width, height, fps, frames, fromX, stepX } = options;
  const meta = await sharp(image).metadata();
  const scale = height / meta.height;
  const wide = await sharp(image).resize(Math.round(meta.width * scale), height).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raw = Buffer.alloc(width * height * 3 * frames);
  for (let n = 0; n < frames; n++) {
    const left = Math.round(fromX + stepX * n);
    if (left < 0 || left + width > wide.info.width) throw new Error(`frame ${n} pans outside the scene`);
    for (let y = 0; y < height; y++) wide.data.copy(raw, (n * height + y) * width * 3, (y * wide.info.width + left) * 3, (y * wide.info.width + left + width) * 3);
  }
  await ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${width}x${height}`, "-framerate", String(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "10", "-pix_fmt", "yuv420p", path], { input: raw });
}
