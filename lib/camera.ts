import type { CameraMove } from "../contracts/spec.ts";

/**
 * How far each planned camera move travels over one shot (a beat): the one definition the
 * Worker uses to derive a beat's end frame from its storyboard frame (worker/chunks/conditioning.ts)
 * and the draft video model uses to move its camera (draft/video.ts), so a draft beat that is
 * split into chunks ends where its end frame says.
 *
 * Amounts grow with the shot's length at a steady speed and are capped per shot: a push-in
 * closes in 6 % a second up to 25 %, a pan travels 4 % of the frame a second up to 12 %.
 */

const ZOOM_PER_SECOND = 0.06;
const ZOOM_MAX = 0.25;
const PAN_PER_SECOND = 0.04;
const PAN_MAX = 0.12;

/**
 * Where the camera looks at the end of a shot, relative to its first frame: `zoom` > 1 is closer,
 * (`dx`, `dy`) the view centre's shift as a share of the frame's width and height.
 */
export interface CameraView {
  zoom: number;
  dx: number;
  dy: number;
}

export const STILL_VIEW: CameraView = { zoom: 1, dx: 0, dy: 0 };

/** The camera's travel over a whole shot of `seconds`. Static and handheld shots end where they began. */
export function shotTravel(camera: CameraMove, seconds: number): CameraView {
  const zoom = 1 + Math.min(ZOOM_PER_SECOND * seconds, ZOOM_MAX);
  const pan = Math.min(PAN_PER_SECOND * seconds, PAN_MAX);
  switch (camera) {
    case "static":
    case "handheld":
      return STILL_VIEW;
    case "push_in":
      return { zoom, dx: 0, dy: 0 };
    case "pull_out":
      return { zoom: 1 / zoom, dx: 0, dy: 0 };
    case "pan_left":
      return { zoom: 1, dx: -pan, dy: 0 };
    case "pan_right":
      return { zoom: 1, dx: pan, dy: 0 };
    case "tilt_up":
      return { zoom: 1, dx: 0, dy: -pan };
    case "tilt_down":
      return { zoom: 1, dx: 0, dy: pan };
    case "orbit":
      // An arc: sideways travel while closing in a little.
      return { zoom: Math.sqrt(zoom), dx: 0.75 * pan, dy: 0 };
  }
}

/** One of `parts` equal chained pieces of a shot's travel (zoom compounds, shifts add). */
export function partOfTravel(view: CameraView, parts: number): CameraView {
  return { zoom: Math.pow(view.zoom, 1 / parts), dx: view.dx / parts, dy: view.dy / parts };
}

/**
 * Whether the view at the end of the travel lies inside the first frame: only then can that
 * view be cut from the first frame without inventing pixels, and only when it differs from
 * the first frame does it move the shot anywhere.
 */
export function viewInsideFrame(view: CameraView, tolerance = 1e-9): boolean {
  if (view.zoom <= 1) return false;
  const half = 0.5 / view.zoom;
  return Math.abs(view.dx) + half <= 0.5 + tolerance && Math.abs(view.dy) + half <= 0.5 + tolerance;
}
