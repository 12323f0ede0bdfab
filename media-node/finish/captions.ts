import type { Cue } from "../../contracts/media.ts";
import { safeArea, typeSizes } from "./layout.ts";

/**
 * The captions' two renderings, from the cues lib/voice-cues.ts times: the WebVTT sidecar, and
 * an ASS script for libass to burn into the picture.
 */

function vttTime(seconds: number): string {
  const total = Math.round(seconds * 1000);
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(total % 1000).padStart(3, "0")}`;
}

/** The WebVTT sidecar (W3C WebVTT: cue text escapes &, < and >). */
export function webvtt(cues: readonly Cue[]): string {
  const blocks = cues.map((cue, i) => `${i + 1}\n${vttTime(cue.start_s)} --> ${vttTime(cue.end_s)}\n${cue.text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")}`);
  return `WEBVTT\n\n${blocks.join("\n\n")}\n`;
}

function assTime(seconds: number): string {
  const cs = Math.max(0, Math.round(seconds * 100));
  const h = Math.floor(cs / 360_000);
  const m = Math.floor((cs % 360_000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(cs % 100).padStart(2, "0")}`;
}

/**
 * An ASS script that burns `cues` (given as frame ranges of the video it is applied to) in
 * DejaVu Sans at the caption size, white on a translucent black box, centred at the bottom of
 * the safe area. Event times sit half a frame before each range's first and last frame, so
 * libass's centisecond clock cannot put a cue on a frame it does not own.
 */
export function assScript(cues: readonly { from: number; to: number; text: string }[], width: number, height: number, fps: number): string {
  const safe = safeArea(width, height);
  const size = typeSizes(width, height).caption;
  const marginV = height - (safe.top + safe.height);
  const marginR = width - (safe.left + safe.width);
  const box = Math.max(2, Math.round(size * 0.18));
  const events = cues.map(
    (cue) => `Dialogue: 0,${assTime((cue.from - 0.5) / fps)},${assTime((cue.to - 0.5) / fps)},Caption,,0,0,0,,${cue.text.replace(/\n/g, "\\N")}`,
  );
  return [
    "[Script Info]",
    "ScriptType: v4.00+",
    `PlayResX: ${width}`,
    `PlayResY: ${height}`,
    "WrapStyle: 0",
    "ScaledBorderAndShadow: yes",
    "YCbCr Matrix: TV.709",
    "",
    "[V4+ Styles]",
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
    // BorderStyle 3: an opaque box behind each line, in OutlineColour (AABBGGRR, alpha 0x50 ≈ 69 % opaque).
    `Style: Caption,DejaVu Sans,${size},&H00FFFFFF,&H00FFFFFF,&H50000000,&H50000000,0,0,0,0,100,100,0,0,3,${box},0,2,${safe.left},${marginR},${marginV},1`,
    "",
    "[Events]",
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ...events,
    "",
  ].join("\n");
}
