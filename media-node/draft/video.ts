import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { CameraMove } from "../../contracts/spec.ts";
import { ffmpeg } from "../ffmpeg.ts";
import { InputError } from "../io.ts";
import { seededRandom } from "./prompt-cues.ts";

/**
 * adreel/draft-video: an image-to-video stand-in. It moves a virtual camera over the start
 * image (zoom, pan, tilt, rotate), adds a slow light sweep so every frame changes, and encodes
 * H.264. Frame 0 is the start image itself, which is what lets chunks chain on last frames.
 *
 * The image sits on a larger canvas whose margins are a blurred mirror of it, so moves that
 * look past the edge (pull out, pan, rotate) find plausible pixels instead of black.
 */

export interface DraftVideoRequest {
  startImage: Buffer;
  frames: number;
  fps: number;
  width: number;
  height: number;
  camera: CameraMove;
  seed: number;
}

/** Canvas margin on each side, as a share of the frame. */
const MARGIN = 0.15;
/** Share of the frame width the light band covers, and its peak opacity (0..255). */
const BAND_WIDTH = 0.33;
const BAND_PEAK_ALPHA = 30;

/**
 * One camera move as ffmpeg expressions of time `{t}` (seconds) and progress `{p}` (0..1):
 * zoom relative to the start image, view-centre shift in pixels, rotation in radians.
 */
interface Motion {
  zoom: string;
  dx: string;
  dy: string;
  /** Largest |rotation| reached; 0 means no rotate filter at all. */
  maxAngle: number;
  angle: string;
}

const f = (value: number) => value.toFixed(6);

/**
 * Amounts grow with clip length at a steady camera speed, capped so the view stays inside
 * the canvas; a beat split into chained chunks then keeps moving the same way at the same pace.
 */
function motionOf(camera: CameraMove, seconds: number, width: number, height: number, seed: number): Motion {
  const zoomBy = Math.min(0.06 * seconds, 0.25);
  const panBy = Math.min(0.04 * seconds, 0.12);
  const still: Motion = { zoom: "1", dx: "0", dy: "0", maxAngle: 0, angle: "0" };
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
      const turn = Math.min(0.02 * seconds, 0.05);
      return { zoom: `1+${f(zoomBy / 2)}*{p}`, dx: `${f((panBy / 2) * width)}*{p}`, dy: "0", maxAngle: turn, angle: `${f(turn)}*{p}` };
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
  const motion = motionOf(camera, seconds, width, height, seed);
  const span = Math.max(1, frames - 1);
  // Rotation needs a slightly larger view so the rotated frame still covers the output.
  const cover = motion.maxAngle > 0 ? Math.max(width / height, height / width) * Math.sin(motion.maxAngle) + 0.01 : 0;
  const [growX, growY] = cover > 0 ? sameShapeMargins(width, height, cover / 2) : [0, 0];
  const viewWidth = width + 2 * growX;
  const viewHeight = height + 2 * growY;
  const at = (expression: string, frame: string) => `(${expression.replaceAll("{t}", `(${frame}/${fps})`).replaceAll("{p}", `(${frame}/${span})`)})`;
  // zoompan's zoom is relative to the whole canvas; 1e-9 keeps iw/zoom from rounding one pixel short.
  const zoom = `${f((canvasWidth / viewWidth) * (1 - 1e-9))}*${at(motion.zoom, "in")}`;
  const chain = [
    // zoompan truncates the crop origin; round it, or 31.9999 lands a pixel off.
    `zoompan=z='${zoom}':x='floor((iw-iw/zoom)/2+${at(motion.dx, "in")}+0.5)':y='floor((ih-ih/zoom)/2+${at(motion.dy, "in")}+0.5)':d=1:s=${viewWidth}x${viewHeight}:fps=${fps}`,
  ];
  // Rotate in place, then crop: rotate's own output cropping lands a pixel off at angle 0.
  if (motion.maxAngle > 0) chain.push(`rotate=a='${at(motion.angle, "n")}':bilinear=1`, `crop=${width}:${height}:${growX}:${growY}`);
  const leftToRight = seededRandom(seed ^ 0x5eeb)() < 0.5;
  const travel = `${width + band.bandWidth}*n/${span}`;
  const bandX = leftToRight ? `-${band.bandWidth}+${travel}` : `${width}-${travel}`;
  // Both stills are decoded once and repeated by `loop`, not re-read per frame.
  // The band repeats without end: `shortest` on overlay would drop the last frame.
  const repeat = (count: number) => `loop=loop=${count}:size=1:start=0,setpts=N/${fps}/TB`;
  const graph = `[1:v]format=yuva420p,${repeat(-1)}[band];[0:v]format=yuv420p,${repeat(frames - 1)},${chain.join(",")}[view];[view][band]overlay=x='${bandX}':y=0:eval=frame,format=yuv420p[out]`;

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
