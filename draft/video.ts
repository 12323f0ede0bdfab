import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { CameraMove } from "../contracts/spec.ts";
import { partOfTravel, shotTravel } from "../lib/camera.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { InputError } from "../media-node/io.ts";
import { EXACT_COLOUR } from "../media-node/video/normalize.ts";
import { type CanvasShape, type ClipColour, type Motion, cameraFilters, colourTags, f, repeat, toYuv } from "./camera-view.ts";
import { seededRandom } from "./prompt-cues.ts";
import { arrivalFilters, arrivalOf } from "./video-arrival.ts";

/**
 * adreel/draft-video: an image-to-video stand-in. It moves a virtual camera over the start
 * image (zoom, pan, tilt, arc), adds a slow light sweep so every frame changes, and encodes
 * H.264. Frame 0 is the start image itself, which is what lets chunks chain on last frames.
 *
 * Given an end image, it behaves like a first-and-last-frame model (Wan 2.2's `last_image`):
 * it moves toward the end image and its last frame is that image (video-arrival.ts). It never
 * crossfades two different pictures: that blend is a double exposure, which is exactly what a
 * real model does not show.
 *
 * The image sits on a larger canvas whose margins are a blurred mirror of it, so moves that
 * look past the edge (pull out, pan, orbit) find plausible pixels instead of black.
 */

export interface DraftVideoRequest {
  startImage: Buffer;
  /** The picture the clip must end on (an end-frame input such as Wan 2.2's `last_image`). */
  endImage?: Buffer;
  frames: number;
  fps: number;
  width: number;
  height: number;
  camera: CameraMove;
  seed: number;
  /** How many chained chunks the shot is split into (from the prompt's "part K of N"); 1 if not split. */
  parts?: number;
  /** The clip's YUV coding; BT.709, tagged, unless the model it stands in for writes otherwise. */
  colour?: ClipColour;
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
 * The camera of lib/camera.ts `shotTravel`, at a steady speed. A shot split into `parts`
 * chained chunks shares one shot's travel between them: each chunk starts from the previous
 * one's last frame and moves on by its share, so the chunks of a beat read as one move at one
 * speed instead of a move that restarts, or compounds, at every chunk.
 */
function motionOf(camera: CameraMove, seconds: number, width: number, height: number, seed: number, parts: number): Motion {
  const view = partOfTravel(shotTravel(camera, seconds * parts), parts);
  const still: Motion = { zoom: "1", dx: "0", dy: "0" };
  switch (camera) {
    case "static":
      // Breathing: a 4 s in-and-out of 1.5 %.
      return { ...still, zoom: "1+0.0075*(1-cos(2*PI*{t}/4))" };
    case "orbit": {
      // An arc: sideways travel that eases in and out while closing in a little. No roll:
      // the rotate filter alone costs more than the rest of the render (≈1 s per 48 frames at
      // 1024×576), and at these angles a viewer reads the arc from the travel, not the tilt.
      const ease = "(1-cos(PI*{p}))/2";
      return { ...still, zoom: `1+${f(view.zoom - 1)}*{p}`, dx: `${f(view.dx * width)}*${ease}` };
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
    default:
      // Push-in, pull-out, pans and tilts: straight travel at a steady speed.
      return { zoom: view.zoom >= 1 ? `1+${f(view.zoom - 1)}*{p}` : `1/(1+${f(1 / view.zoom - 1)}*{p})`, dx: `${f(view.dx * width)}*{p}`, dy: `${f(view.dy * height)}*{p}` };
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

/** An input image at exactly width×height (`frame`, RGB), centred on a canvas with blurred mirror margins. */
async function buildCanvas(image: Buffer, width: number, height: number, field: string) {
  let frame: Buffer;
  try {
    frame = await sharp(image, { autoOrient: true }).resize(width, height, { fit: "cover" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
  } catch (error) {
    throw new InputError(`${field} could not be decoded: ${(error as Error).message}`);
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
  return { frame, canvas, canvasWidth, canvasHeight };
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
  const [start, end, band] = await Promise.all([
    buildCanvas(request.startImage, width, height, "start_image"),
    request.endImage ? buildCanvas(request.endImage, width, height, "last_image") : null,
    lightBand(width, height),
  ]);
  const bandPath = join(workDir, "light-band.png");
  await writeFile(bandPath, band.png);

  const colour = request.colour ?? "bt709";
  const shape: CanvasShape = { width, height, canvasWidth: start.canvasWidth, canvasHeight: start.canvasHeight, fps, frames, colour };
  const motion = motionOf(camera, frames / fps, width, height, seed, Math.max(1, Math.floor(request.parts ?? 1)));
  const canvasInput = (source: string) => ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${start.canvasWidth}x${start.canvasHeight}`, "-framerate", String(fps), "-i", source];
  let picture = `[0:v]${cameraFilters(shape, motion, frames)}[pic]`;
  const endInput: string[] = [];
  // A one-frame clip is its start image, end image or not.
  if (end && frames > 1) {
    const endPath = join(workDir, "end-canvas.rgb");
    await writeFile(endPath, end.canvas);
    endInput.push(...canvasInput(endPath));
    picture = arrivalFilters(shape, await arrivalOf(start.frame, end.frame, width, height), motion);
  }
  const span = Math.max(1, frames - 1);
  const leftToRight = seededRandom(seed ^ 0x5eeb)() < 0.5;
  const travel = `${width + band.bandWidth}*n/${span}`;
  const bandX = leftToRight ? `-${band.bandWidth}+${travel}` : `${width}-${travel}`;
  // The band repeats without end: `shortest` on overlay would drop the last frame. RGB → YUV
  // with exact rounding: swscale's default would darken every chained chunk a little more.
  const graph = `sws_flags=${EXACT_COLOUR};[1:v]${toYuv(colour, true)},${repeat("forever", fps)}[band];${picture};[pic][band]overlay=x='${bandX}':y=0:eval=frame,format=yuv420p[out]`;

  await ffmpeg(
    [
      ...canvasInput("pipe:0"),
      ...["-i", bandPath],
      ...endInput,
      ...["-filter_complex", graph, "-map", "[out]", "-frames:v", String(frames)],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", ...colourTags(colour), "-r", String(fps), "-movflags", "+faststart", outputPath],
    ],
    { input: start.canvas, timeoutMs: 60_000 + frames * 500 },
  );
}
