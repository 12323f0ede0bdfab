import type { ChunkProbe } from "./chunk-probe.ts";
import { type FfconcatRange, ffconcatList } from "./ffconcat.ts";
import type { Piece, Span } from "../../lib/stitch-plan.ts";

/**
 * The ffmpeg inputs and filtergraph that render a plan's encode spans, one after another, as
 * a single video stream (so one encoder serves every seam).
 *
 * Decoding goes through two "lanes": concat-demuxer inputs that list, in order, the frame
 * ranges the pieces need (from the keyframe before each piece). Consecutive pieces sit on
 * different lanes, so the two sides of a transition decode side by side, and a `segment`
 * filter hands each piece its frames. ffmpeg opens every `-i` input up front with its own
 * decoder and reads ahead, which for one input per piece costs ~10 MB and a full chunk
 * decode per piece; the lanes keep that to two decoders and only the frames needed.
 * Chunks we cannot seek in (not our encoding) get a plain input of their own instead.
 *
 * Timestamps are rewritten as frame numbers after every step: xfade offsets are then exact
 * frame counts, not drifting seconds.
 */

export interface GraphChunk {
  path: string;
  probe: Pick<ChunkProbe, "keyframes" | "frames">;
  /** In CHUNK_ENCODING (no B-frames, known keyframes): may be cut by the concat demuxer. */
  seekable: boolean;
}

export interface SpanGraph {
  inputArgs: string[];
  /** ffconcat lists the inputs refer to; write them before running ffmpeg. */
  lists: { path: string; content: string }[];
  filterGraph: string;
  /** Label of the rendered stream. */
  output: string;
  /** Output frame index where each span starts (keyframes for the splitter). */
  spanStarts: number[];
  frames: number;
}

const LANES = 2;

export function spanGraph(spans: readonly Span[], chunks: readonly GraphChunk[], fps: number, listPath: (lane: number) => string): SpanGraph {
  const encodeSpans = spans.filter((s): s is Extract<Span, { kind: "encode" }> => s.kind === "encode");
  if (encodeSpans.length === 0) throw new Error("no encode spans to render");
  const canonical = `settb=1/${fps},setpts=N`;
  let label = 0;
  const fresh = () => `v${label++}`;

  // Where every piece's frames come from: a lane slot (after a keyframe seek) or its own input.
  type Source = { lane: number; slot: number; skip: number } | { dedicated: number };
  const lanes: FfconcatRange[][] = Array.from({ length: LANES }, () => []);
  const dedicated: string[] = [];
  const sources = new Map<Piece, Source>();
  let pieceIndex = 0;
  for (const span of encodeSpans) {
    for (const piece of span.pieces) {
      const chunk = chunks[piece.chunk]!;
      const lane = pieceIndex++ % LANES;
      if (chunk.seekable) {
        const seek = Math.max(0, ...chunk.probe.keyframes.filter((k) => k <= piece.from));
        lanes[lane]!.push({ path: chunk.path, from: seek, to: piece.to, fileFrames: chunk.probe.frames });
        sources.set(piece, { lane, slot: lanes[lane]!.length - 1, skip: piece.from - seek });
      } else {
        dedicated.push(chunk.path);
        sources.set(piece, { dedicated: dedicated.length - 1 });
      }
    }
  }

  const inputArgs: string[] = [];
  const lists: SpanGraph["lists"] = [];
  const filters: string[] = [];
  const laneInput = new Map<number, number>();
  let inputs = 0;
  lanes.forEach((ranges, lane) => {
    if (ranges.length === 0) return;
    const path = listPath(lane);
    lists.push({ path, content: ffconcatList(ranges, fps) });
    // One decoding thread per lane: frame threads would each hold their own reference frames.
    inputArgs.push("-threads", "1", "-f", "concat", "-safe", "0", "-i", path);
    laneInput.set(lane, inputs++);
  });
  const dedicatedBase = inputs;
  for (const path of dedicated) inputArgs.push("-i", path);

  // Split each lane into one stream per piece, by frame count.
  const slotLabels = new Map<number, string[]>();
  lanes.forEach((ranges, lane) => {
    if (ranges.length === 0) return;
    const labels = ranges.map(() => fresh());
    const input = `[${laneInput.get(lane)}:v:0]`;
    if (ranges.length === 1) {
      filters.push(`${input}null[${labels[0]}]`);
    } else {
      let at = 0;
      const splits = ranges.slice(0, -1).map((r) => (at += r.to - r.from));
      filters.push(`${input}segment=frames=${splits.join("|")}${labels.map((l) => `[${l}]`).join("")}`);
    }
    slotLabels.set(lane, labels);
  });

  const pieceStream = (piece: Piece): string => {
    const source = sources.get(piece)!;
    const out = fresh();
    if ("lane" in source) {
      const frames = piece.to - piece.from;
      filters.push(`[${slotLabels.get(source.lane)![source.slot]}]trim=start_frame=${source.skip}:end_frame=${source.skip + frames},${canonical},format=yuv420p[${out}]`);
    } else {
      filters.push(`[${dedicatedBase + source.dedicated}:v:0]trim=start_frame=${piece.from}:end_frame=${piece.to},${canonical},format=yuv420p[${out}]`);
    }
    return out;
  };

  const spanLabels: string[] = [];
  const spanStarts: number[] = [];
  let frames = 0;
  for (const span of encodeSpans) {
    spanStarts.push(frames);
    let acc = "";
    let length = 0;
    for (const piece of span.pieces) {
      const next = pieceStream(piece);
      if (!acc) {
        acc = next;
      } else if (!piece.join || piece.join.frames === 0) {
        const out = fresh();
        filters.push(`[${acc}][${next}]concat=n=2:v=1:a=0,${canonical}[${out}]`);
        acc = out;
      } else {
        const overlap = piece.join.frames;
        const out = fresh();
        filters.push(
          `[${acc}][${next}]xfade=transition=${piece.join.type}:duration=${(overlap / fps).toFixed(6)}:offset=${((length - overlap) / fps).toFixed(6)},${canonical}[${out}]`,
        );
        acc = out;
        length -= overlap;
      }
      length += piece.to - piece.from;
    }
    if (length !== span.to - span.at) throw new Error(`span at ${span.at} renders ${length} frames, planned ${span.to - span.at}`);
    spanLabels.push(acc);
    frames += length;
  }
  let output = spanLabels[0]!;
  if (spanLabels.length > 1) {
    output = fresh();
    filters.push(`${spanLabels.map((l) => `[${l}]`).join("")}concat=n=${spanLabels.length}:v=1:a=0,${canonical}[${output}]`);
  }
  return { inputArgs, lists, filterGraph: filters.join(";"), output, spanStarts, frames };
}
