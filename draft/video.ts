import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { CameraMove } from "../contracts/spec.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { InputError } from "../media-node/io.ts";
import { seededRandom } from "./prompt-cues.ts";

/**
 * adreel/draft-video: an image-to-video stand-in. It moves a virtual camera over the start
 * image (zoom, pan, tilt, arc), adds a slow light sweep so every frame changes, and encodes
 * H.264. Frame 0 is the start image itself, which is what lets chunks chain on last frames.
 *
 * The image sits on a larger canvas whose margins are a blurred mirror of it, so moves that
 * look past the edge (pull out, pan, orbit) find plausible pixels instead of black.
 */

export interface DraftVideoRequest {
  startImage: Buffer;
  frames: number;
  fps: number;
  width: number;
  height: number;
  camera: CameraMove;
  seed: number;
  /** How many chained chunks the shot is split into (from the prompt's "part K of N"); 1 if not split. */
  parts?: number;
}

/** "Continuous shot, part 2 of 3" in a chunk prompt → 3; a prompt without it → 1. */
export function partsOf(prompt: string): number {
  const match = /\bpart (\d{1,3}) of (\d{1,3})\b/i.exec(prompt);
  return match ? Math.max(1, Number(match[2])) : 1;
}

/** Canvas margin on each side, as a share of the frame. */
const MARGIN = 0.15;
/** Share of the frame width the light band covers, and its peak opacity (0..255). */
const BAND_WIDTH = 0.33;
const BAND_PEAK_ALPHA = 30;

/**
 * One camera move as ffmpeg expressions of time `{t}` (seconds) and progress `{p}` (0..1):
 * zoom relative to the start image and view-centre shift in pixels.
 */
interface Motion {
  zoom: string;
  dx: string;
  dy: string;
}

const f = (value: number) => value.toFixed(6);

/**
 * Amounts grow with the shot's length at a steady camera speed, capped per shot. A shot split
 * into `parts` chained chunks shares one shot's move between them: each chunk starts from the
 * previous one's last frame (70 %) under the storyboard frame (30 %), and the storyboard copy
 * sits where the camera started, so every bit of extra travel pulls the two copies apart into
 * a visible double outline. Capping the whole shot's travel, not each chunk's, keeps that gap
 * as small as one chunk's move instead of growing with every chunk.
 */
function motionOf(camera: CameraMove, seconds: number, width: number, height: number, seed: number, parts: number): Motion {
  const zoomTotal = Math.min(0.06 * seconds * parts, 0.25);
  const zoomBy = Math.pow(1 + zoomTotal, 1 / parts) - 1;
  const panBy = Math.min(0.04 * seconds * parts, 0.12) / parts;
  const still: Motion = { zoom: "1", dx: "0", dy: "0" };
  switch (camera) {
    case "static":
      // Breathing: a 4 s in-and-out of 1.5 %.
      return { ...still, zoom: "1+0.0075*(1-cos(2*PI*{t}/4))" };
    case "push_in":
      return { ...still, zoom: `1+${f(zoomBy)}*{p}` };
    case "pull_out":
      return { ...still, zoom: `1/(1+${f(zoomBy)}*{p})` };
    case "pan_left":
      return { ...still, dx: `-${f(panBy * width)}*{p}` };
    case "pan_right":
      return { ...still, dx: `${f(panBy * width)}*{p}` };
    case "tilt_up":
      return { ...still, dy: `-${f(panBy * height)}*{p}` };
    case "tilt_down":
      return { ...still, dy: `${f(panBy * height)}*{p}` };
    case "orbit": {
      // An arc: sideways travel that eases in and out while closing in a little. No roll:
      // the rotate filter alone costs more than the rest of the render (≈1 s per 48 frames at
      // 1024×576), and at these angles a viewer reads the arc from the travel, not the tilt.
      const ease = "(1-cos(PI*{p}))/2";
      return { ...still, zoom: `1+${f(zoomBy / 2)}*{p}`, dx: `${f(panBy * 0.75 * width)}*${ease}` };
    }
    case "handheld": {
      const random = seededRandom(seed ^ 0x4a11d);
      // Sums of slow sines minus their value at t=0: wobble that starts exactly on the image.
      const wobble = (amplitude: number, hz: number) => {
        const phase = random() * Math.PI * 2;
        return `${f(amplitude)}*(sin(${f(2 * Math.PI * hz)}*{t}+${f(phase)})-(${f(Math.sin(phase))}))`;
      };
      // No roll: at this size it is barely visible and rotating costs more than the rest.
      return {
        ...still,
        zoom: `1+${wobble(0.004, 0.6)}`,
        dx: `${wobble(0.006 * width, 0.7)}+${wobble(0.003 * width, 1.9)}`,
        dy: `${wobble(0.006 * height, 0.9)}+${wobble(0.003 * height, 2.3)}`,
      };
    }
  }
}

const even = (value: number) => 2 * Math.round(value / 2);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Growth per side of at least `share` of the frame that keeps the exact aspect ratio (and even
 * offsets, for yuv420p chroma). zoompan zooms both axes alike, so a canvas of another shape
 * would shift or stretch frame 0 by a pixel. Sizes with an awkward ratio fall back to rounding.
 */
function sameShapeMargins(width: number, height: number, share: number): [number, number] {
  const g = gcd(width, height);
  const [a, b] = [width / g, height / g];
  let k = Math.max(1, Math.ceil(share * g));
  if ((a % 2 || b % 2) && k % 2) k++;
  if (k * a <= Math.max(2 * share * width + 2, width / 4)) return [k * a, k * b];
  return [even(width * share), even(height * share)];
}

/** The start image at exactly width×height, centred on a canvas with blurred mirror margins. */
async function buildCanvas(startImage: Buffer, width: number, height: number) {
  let frame: Buffer;
  try {
    frame = await sharp(startImage, { autoOrient: true }).resize(width, height, { fit: "cover" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
  } catch (error) {
    throw new InputError(`start_image could not be decoded: ${(error as Error).message}`);
  }
  const [mx, my] = sameShapeMargins(width, height, MARGIN);
  const raw = { width, height, channels: 3 as const };
  const margins = await sharp(frame, { raw })
    .extend({ left: mx, right: mx, top: my, bottom: my, extendWith: "mirror" })
    .blur(Math.max(1, Math.min(width, height) / 40))
    .raw()
    .toBuffer();
  const canvasWidth = width + 2 * mx;
  const canvasHeight = height + 2 * my;
  const canvas = await sharp(margins, { raw: { width: canvasWidth, height: canvasHeight, channels: 3 } })
    .composite([{ input: frame, raw, left: mx, top: my }])
    .removeAlpha() // composite adds an alpha channel; ffmpeg is told rgb24
    .raw()
    .toBuffer();
  return { canvas, canvasWidth, canvasHeight };
}

/** A soft vertical band of white light, alpha only (RGBA PNG). */
async function lightBand(width: number, height: number): Promise<{ png: Buffer; bandWidth: number }> {
  const bandWidth = Math.max(2, Math.round(width * BAND_WIDTH));
  const row = Buffer.alloc(bandWidth * 4);
  for (let x = 0; x < bandWidth; x++) {
    const d = (x - bandWidth / 2) / (bandWidth / 5);
    row.fill(255, x * 4, x * 4 + 3);
    row[x * 4 + 3] = Math.round(BAND_PEAK_ALPHA * Math.exp(-d * d));
  }
  const pixels = Buffer.alloc(bandWidth * height * 4);
  for (let y = 0; y < height; y++) row.copy(pixels, y * bandWidth * 4);
  return { png: await sharp(pixels, { raw: { width: bandWidth, height, channels: 4 } }).png({ compressionLevel: 1 }).toBuffer(), bandWidth };
}

export async function renderDraftVideo(request: DraftVideoRequest, outputPath: string, workDir: string): Promise<void> {
  const { frames, fps, width, height, camera, seed } = request;
  if (width % 2 || height % 2) throw new InputError("width and height must be even (H.264 yuv420p)");
  const { canvas, canvasWidth, canvasHeight } = await buildCanvas(request.startImage, width, height);
  const band = await lightBand(width, height);
  const bandPath = join(workDir, "light-band.png");
  await writeFile(bandPath, band.png);

  const seconds = frames / fps;
  const motion = motionOf(camera, seconds, width, height, seed, Math.max(1, Math.floor(request.parts ?? 1)));
  const span = Math.max(1, frames - 1);
  const at = (expression: string, frame: string) => `(${expression.replaceAll("{t}", `(${frame}/${fps})`).replaceAll("{p}", `(${frame}/${span})`)})`;
  // zoompan's zoom is relative to the whole canvas; 1e-9 keeps iw/zoom from rounding one pixel short.
  const zoom = `${f((canvasWidth / width) * (1 - 1e-9))}*${at(motion.zoom, "in")}`;
  // zoompan truncates the crop origin; round it, or 31.9999 lands a pixel off.
  const view = `zoompan=z='${zoom}':x='floor((iw-iw/zoom)/2+${at(motion.dx, "in")}+0.5)':y='floor((ih-ih/zoom)/2+${at(motion.dy, "in")}+0.5)':d=1:s=${width}x${height}:fps=${fps}`;
  const leftToRight = seededRandom(seed ^ 0x5eeb)() < 0.5;
  const travel = `${width + band.bandWidth}*n/${span}`;
  const bandX = leftToRight ? `-${band.bandWidth}+${travel}` : `${width}-${travel}`;
  // Both stills are decoded once and repeated by `loop`, not re-read per frame.
  // The band repeats without end: `shortest` on overlay would drop the last frame.
  const repeat = (count: number) => `loop=loop=${count}:size=1:start=0,setpts=N/${fps}/TB`;
  const graph = `[1:v]format=yuva420p,${repeat(-1)}[band];[0:v]format=yuv420p,${repeat(frames - 1)},${view}[view];[view][band]overlay=x='${bandX}':y=0:eval=frame,format=yuv420p[out]`;

  await ffmpeg(
    [
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${canvasWidth}x${canvasHeight}`, "-framerate", String(fps), "-i", "pipe:0"],
      ...["-i", bandPath],
      ...["-filter_complex", graph, "-map", "[out]", "-frames:v", String(frames)],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", String(fps), "-movflags", "+faststart", outputPath],
    ],
    { input: canvas, timeoutMs: 60_000 + frames * 500 },
  );
}
