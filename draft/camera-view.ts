/**
 * The draft video model's camera as ffmpeg filters: a still canvas (the picture with blurred
 * mirror margins, draft/video.ts) repeated and looked at through `zoompan`, one view per frame.
 */

/**
 * One camera move as ffmpeg expressions of time `{t}` (seconds) and progress `{p}` (0..1 over
 * the clip): zoom relative to the picture and view-centre shift in pixels.
 */
export interface Motion {
  zoom: string;
  dx: string;
  dy: string;
}

export const f = (value: number) => value.toFixed(6);

export interface CanvasShape {
  /** The picture (the output frame). */
  width: number;
  height: number;
  /** The picture with its margins. */
  canvasWidth: number;
  canvasHeight: number;
  fps: number;
  /** Frames of the clip. */
  frames: number;
  /** How RGB becomes YUV (see `ClipColour`). */
  colour: ClipColour;
}

/**
 * The YUV a clip is coded in. `bt709`: BT.709 coefficients, limited range, and the stream
 * says so — what the pipeline normalizes every chunk to, so its scaler has nothing to convert
 * (an untagged 1024×576 clip costs it ≈ 17 ms of CPU per frame in a BT.601 → BT.709 pass,
 * more than the x264 encode). `untagged`: swscale's default (BT.601) with no colour
 * description, what a plain `ffmpeg -pix_fmt yuv420p` writes.
 */
export type ClipColour = "bt709" | "untagged";

/** The colour description ffmpeg writes into the stream for `colour` (H.264 VUI). */
export function colourTags(colour: ClipColour): string[] {
  return colour === "bt709" ? ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"] : [];
}

/** RGB → yuv420p in the clip's coding. */
export function toYuv(colour: ClipColour, alpha = false): string {
  const format = alpha ? "yuva420p" : "yuv420p";
  return colour === "bt709" ? `scale=out_color_matrix=bt709:out_range=tv,format=${format}` : `format=${format}`;
}

/** A still decoded once and shown `count` times (or without end) by `loop`, not re-read per frame. */
export function repeat(count: number | "forever", fps: number): string {
  return `loop=loop=${count === "forever" ? -1 : count - 1}:size=1:start=0,setpts=N/${fps}/TB`;
}

/**
 * Filters from a canvas still to `count` frames seen through `motion`; the first is clip frame
 * `first` (`{p}` and `{t}` count from the clip's start, so a stream that joins late stays in step).
 */
export function cameraFilters(shape: CanvasShape, motion: Motion, count: number, first = 0): string {
  const { width, height, canvasWidth, fps, frames, colour } = shape;
  const span = Math.max(1, frames - 1);
  const frame = first === 0 ? "in" : `(in+${first})`;
  const at = (expression: string) => `(${expression.replaceAll("{t}", `(${frame}/${fps})`).replaceAll("{p}", `(${frame}/${span})`)})`;
  // zoompan's zoom is relative to the whole canvas; 1e-9 keeps iw/zoom from rounding one pixel short.
  const zoom = `${f((canvasWidth / width) * (1 - 1e-9))}*${at(motion.zoom)}`;
  // zoompan truncates the crop origin; round it, or 31.9999 lands a pixel off.
  const view = `zoompan=z='${zoom}':x='floor((iw-iw/zoom)/2+${at(motion.dx)}+0.5)':y='floor((ih-ih/zoom)/2+${at(motion.dy)}+0.5)':d=1:s=${width}x${height}:fps=${fps}`;
  return `${toYuv(colour)},${repeat(count, fps)},${view}`;
}
