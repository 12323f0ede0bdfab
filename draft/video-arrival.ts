import sharp from "sharp";
import { Levels, REGISTRATION_WIDTH, explained, registerCamera, registrationPlane } from "../media-node/video/camera-registration.ts";
import { type CanvasShape, type Motion, cameraFilters, f } from "./camera-view.ts";

/**
 * How the draft video model gets from its start image to an end image (a first-and-last-frame
 * model's `last_image`), never by crossfading two different pictures:
 *
 * - `camera`: the end image is the start image's scene seen from elsewhere (one camera move
 *   explains at least SAME_SCENE_EXPLAINED of it, registered as in camera-registration.ts), so
 *   the camera travels that move. Two layers follow it, the start image seen from the camera's
 *   pose of each frame and the end image seen from the same pose, and the second fades in from
 *   CORRECTION_FROM of the clip to its last frame. Both layers show the same scene in the same
 *   place at every frame, so their mix is one picture (it only trades the start image's
 *   resampling and light for the end image's), and the last frame is the end image exactly.
 * - `slide`: the end image is another scene. The camera runs its planned move, then a fast
 *   slide (a whip pan: every pixel from one picture or the other) lands on the end image on the
 *   last frame.
 */

/** Share of the end image one camera move from the start image must explain for the two to be one scene. */
export const SAME_SCENE_EXPLAINED = 0.9;
/** Where in the clip the end image's layer starts to fade in (its camera travel runs from frame 0). */
const CORRECTION_FROM = 0.4;
/** Frames the slide to an unrelated end image takes: a whip pan of about 0.3 s. */
const SLIDE_FRAMES = 7;

export type Arrival =
  /** The end image is the start image seen through this camera move: zoom and view-centre shift (share of the frame). */
  | { kind: "camera"; zoom: number; dx: number; dy: number; explained: number }
  | { kind: "slide"; explained: number };

async function planeOf(rgb: Buffer, width: number, height: number) {
  const small = { width: REGISTRATION_WIDTH, height: 2 * Math.max(8, Math.round((REGISTRATION_WIDTH * height) / width / 2)) };
  const raw = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(small.width, small.height, { fit: "fill", kernel: "cubic" }).raw().toBuffer();
  return registrationPlane(raw, small.width, small.height);
}

/** `start` and `end` are the two pictures as width×height RGB. */
export async function arrivalOf(start: Buffer, end: Buffer, width: number, height: number): Promise<Arrival> {
  const [from, to] = await Promise.all([planeOf(start, width, height), planeOf(end, width, height)]);
  const registration = registerCamera(new Levels(to), new Levels(from));
  const share = explained(to, registration.residual);
  if (share < SAME_SCENE_EXPLAINED) return { kind: "slide", explained: share };
  const { logZoom, tx, ty } = registration.warp;
  return { kind: "camera", zoom: Math.exp(logZoom), dx: tx, dy: ty, explained: share };
}

/**
 * Filters from the start canvas `[0:v]` and the end canvas `[2:v]` to the clip's pictures
 * `[pic]` (the light band goes on after). `planned` is the camera's own move, used before a slide.
 */
export function arrivalFilters(shape: CanvasShape, arrival: Arrival, planned: Motion): string {
  const { frames, fps, width, height } = shape;
  const last = frames - 1;
  if (arrival.kind === "slide") {
    const from = Math.max(0, last - SLIDE_FRAMES);
    const still: Motion = { zoom: "1", dx: "0", dy: "0" };
    return [
      `[0:v]${cameraFilters(shape, planned, frames)}[from]`,
      `[2:v]${cameraFilters(shape, still, frames - from, from)}[to]`,
      `[from][to]xfade=transition=slideleft:duration=${f((last - from) / fps)}:offset=${f(from / fps)}[pic]`,
    ].join(";");
  }
  // The start layer travels from the identity to the arrival's move; the end layer shows the
  // end image from the same pose, i.e. through the inverse of the travel still to come.
  const { zoom, dx, dy } = arrival;
  const fromStart: Motion = { zoom: `pow(${f(zoom)},{p})`, dx: `${f(dx * width)}*{p}`, dy: `${f(dy * height)}*{p}` };
  const fromEnd: Motion = { zoom: `pow(${f(zoom)},{p}-1)`, dx: `${f(dx * width * zoom)}*({p}-1)`, dy: `${f(dy * height * zoom)}*({p}-1)` };
  const from = Math.min(last - 1, Math.round(last * CORRECTION_FROM));
  return [
    `[0:v]${cameraFilters(shape, fromStart, frames)}[from]`,
    `[2:v]${cameraFilters(shape, fromEnd, frames - from, from)}[to]`,
    `[from][to]xfade=transition=fade:duration=${f((last - from) / fps)}:offset=${f(from / fps)}[pic]`,
  ].join(";");
}
