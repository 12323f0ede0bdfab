/**
 * ffconcat lists (ffmpeg's concat demuxer) that select exact frame ranges of our chunks.
 * Valid only for files in CHUNK_ENCODING: no B-frames, so DTS = PTS, and `from` must be a
 * keyframe (the demuxer seeks to the keyframe at or before `inpoint`).
 */

export interface FfconcatRange {
  path: string;
  /** First frame (a keyframe). */
  from: number;
  /** One past the last frame. */
  to: number;
  /** Frames in the file; no outpoint is needed when `to` reaches it. */
  fileFrames: number;
}

/** Seconds for frame `n`, rounded up to the microsecond so a backward seek lands on frame n itself. */
export function seekSeconds(n: number, fps: number): string {
  return (Math.ceil((n * 1e6) / fps) / 1e6).toFixed(6);
}

function quote(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

export function ffconcatList(ranges: readonly FfconcatRange[], fps: number): string {
  const lines = ["ffconcat version 1.0"];
  for (const { path, from, to, fileFrames } of ranges) {
    lines.push(`file ${quote(path)}`);
    if (from > 0) lines.push(`inpoint ${seekSeconds(from, fps)}`);
    // The demuxer stops at the first packet with DTS >= outpoint: half a frame early is unambiguous.
    if (to < fileFrames) lines.push(`outpoint ${((to - 0.5) / fps).toFixed(6)}`);
  }
  return `${lines.join("\n")}\n`;
}
