import { assScript } from "../finish/captions.ts";
import { FONT_FILES } from "../finish/type.ts";
import type { FrameRange } from "../../lib/stitch-plan.ts";
import { dirname } from "node:path";

/**
 * What the stitch draws over the footage: overlay layers (full-frame RGBA PNGs: the headline,
 * the end card) and burned captions (libass), each on a range of output frames. The frames
 * they cover are encoded (stitch-plan.ts `marked`); this module turns the decorations that
 * fall in one ffmpeg batch of encode spans into filters on that batch's stream, whose frame n
 * is its n-th encoded frame.
 */

export interface OverlayLayer {
  path: string;
  /** Output frames [from, to). */
  from: number;
  to: number;
}

export interface BurnedCue extends FrameRange {
  text: string;
}

export interface Decorations {
  overlays: readonly OverlayLayer[];
  cues: readonly BurnedCue[];
}

export const NO_DECORATIONS: Decorations = { overlays: [], cues: [] };

/** Output frames that carry a decoration. */
export function decoratedRanges(decorations: Decorations): FrameRange[] {
  return [...decorations.overlays, ...decorations.cues].map(({ from, to }) => ({ from, to }));
}

/** Where output range `range` lands in a batch that renders `spans` back to back (starting at `starts`). */
function batchRanges(range: FrameRange, spans: readonly FrameRange[], starts: readonly number[]): FrameRange[] {
  const out: FrameRange[] = [];
  spans.forEach((span, k) => {
    const from = Math.max(range.from, span.from);
    const to = Math.min(range.to, span.to);
    if (from < to) out.push({ from: starts[k]! + from - span.from, to: starts[k]! + to - span.from });
  });
  return out;
}

export interface DecorationGraph {
  filters: string[];
  output: string;
  /** The ASS script to write at `assPath` before running ffmpeg, when captions fall in this batch. */
  ass: string | null;
}

/**
 * Filters drawing the decorations on `[input]`. Each layer is converted to Y'CbCr with the BT.709
 * matrix our video is encoded with (the overlay filter's own conversion would use BT.601 and shift
 * the brand's colours).
 *
 * A layer's PNG is read by the graph itself (a `movie` source), not as an ffmpeg input: ffmpeg
 * 5.1 reads an input only when a filter's request for it failed, and a chunk's normalize pass
 * whose `[last]` branch pulls the clip through a `select` never asked for the overlay's input
 * until the clip ended, so every decoded frame waited at the overlay: 200 MiB against 122 MiB
 * without the `[last]` output for a 132-frame chunk (/usr/bin/time, ffmpeg 5.1), the very same
 * bytes written either way. decoration-memory.test.ts fails if that pass grows with the chunk again.
 */
export function decorationGraph(
  decorations: Decorations,
  spans: readonly FrameRange[],
  starts: readonly number[],
  input: string,
  size: { width: number; height: number; fps: number },
  assPath: string,
): DecorationGraph {
  const filters: string[] = [];
  let current = input;
  decorations.overlays.forEach((layer, i) => {
    const ranges = batchRanges(layer, spans, starts);
    if (ranges.length === 0) return;
    const converted = `ov${i}`;
    const next = `${input}o${i}`;
    filters.push(`movie=filename='${layer.path}',format=rgba,scale=out_color_matrix=bt709:out_range=tv,format=yuva420p[${converted}]`);
    const enable = ranges.map((r) => `between(n,${r.from},${r.to - 1})`).join("+");
    filters.push(`[${current}][${converted}]overlay=x=0:y=0:format=yuv420:eof_action=repeat:enable='${enable}'[${next}]`);
    current = next;
  });
  const cues = decorations.cues.flatMap((cue) => batchRanges(cue, spans, starts).map((r) => ({ ...r, text: cue.text })));
  let ass: string | null = null;
  if (cues.length > 0) {
    ass = assScript(cues, size.width, size.height, size.fps);
    const next = `${input}c`;
    // Frames are numbered from 0 at 1/fps: libass places events by these timestamps.
    filters.push(`[${current}]ass=filename='${assPath}':fontsdir='${dirname(FONT_FILES.regular)}'[${next}]`);
    current = next;
  }
  return { filters, output: current, ass };
}
