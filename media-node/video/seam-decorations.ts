import { join } from "node:path";
import sharp from "sharp";
import { type SeamsRequest, cueFrames } from "../../contracts/media.ts";
import { CAPTION_BAND, safeArea } from "../finish/layout.ts";
import { concerning, downloadTo } from "../io.ts";
import type { AnalysisSize } from "./frames.ts";

/**
 * Where the stitch's decorations sit in the analysis frames, so the seam measures judge the
 * pictures and not the ad's finish (docs/SEAMS.md, "Decorations"). A decoration covers whole
 * rows: an overlay the rows where its layer has any opacity, a burned cue the caption band
 * (finish/layout.ts: the bottom CAPTION_BAND of the safe area and the margin under it, where
 * finish/captions.ts draws every cue). Rows are widened by one macroblock either side, as the
 * encoder smears a sharp edge over the 16×16 block around it.
 */

const MACROBLOCK = 16;
const OVERLAY_MAX_BYTES = 32 * 1024 * 1024;

export interface DecoratedRows {
  from_frame: number;
  to_frame: number;
  /** Analysis rows [top, bottom). */
  top: number;
  bottom: number;
}

/** Rows [top, bottom) of the full-size frame, widened and mapped to the analysis size; null for nothing. */
function analysisRows(top: number, bottom: number, height: number, size: AnalysisSize): { top: number; bottom: number } | null {
  if (bottom <= top) return null;
  const scale = size.height / height;
  return { top: Math.max(0, Math.floor((top - MACROBLOCK) * scale)), bottom: Math.min(size.height, Math.ceil((bottom + MACROBLOCK) * scale)) };
}

async function overlayRows(path: string, width: number, height: number): Promise<{ top: number; bottom: number }> {
  const alpha = await sharp(path).resize(width, height, { fit: "fill" }).ensureAlpha().extractChannel(3).raw().toBuffer();
  let top = height;
  let bottom = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (alpha[y * width + x]! === 0) continue;
      top = Math.min(top, y);
      bottom = y + 1;
      break;
    }
  }
  return { top, bottom };
}

export async function decoratedRows(decorations: SeamsRequest["decorations"], request: Pick<SeamsRequest, "width" | "height" | "fps">, size: AnalysisSize, dir: string): Promise<DecoratedRows[]> {
  const { width, height, fps } = request;
  const overlays = await Promise.all(
    decorations.overlays.map(async (overlay, i) => {
      const path = join(dir, `overlay-${i}.png`);
      await concerning(`decorations.overlays.${i}`, downloadTo(overlay.url, path, { maxBytes: OVERLAY_MAX_BYTES }));
      const opaque = await overlayRows(path, width, height);
      const rows = analysisRows(opaque.top, opaque.bottom, height, size);
      return rows ? [{ from_frame: overlay.from_frame, to_frame: overlay.to_frame, ...rows }] : [];
    }),
  );
  const safe = safeArea(width, height);
  const band = analysisRows(Math.floor(safe.top + safe.height * (1 - CAPTION_BAND)), height, height, size)!;
  const cues = (decorations.captions?.cues ?? []).map((cue) => {
    const frames = cueFrames(cue, fps);
    return { from_frame: frames.from, to_frame: frames.to, ...band };
  });
  return [...overlays.flat(), ...cues];
}

/**
 * The largest band of whole rows that no decoration on screen in frames [from, to) covers: the
 * rows every measure of a seam reads, the same on both sides of it, so a decoration appearing
 * or leaving inside the seam's frames changes nothing measured.
 */
export function clearBand(decorated: readonly DecoratedRows[], from: number, to: number, size: AnalysisSize): { from: number; to: number } {
  const covered = new Uint8Array(size.height);
  for (const d of decorated) if (d.from_frame < to && d.to_frame > from) covered.fill(1, d.top, d.bottom);
  let best = { from: 0, to: 0 };
  for (let y = 0; y < size.height; ) {
    if (covered[y]) {
      y++;
      continue;
    }
    let end = y;
    while (end < size.height && !covered[end]) end++;
    if (end - y > best.to - best.from) best = { from: y, to: end };
    y = end;
  }
  return best;
}
