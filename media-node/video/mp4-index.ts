import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/**
 * Reads an MP4's sample tables directly (moov → video trak → stbl) for what the stitcher
 * needs: frame count, keyframes, frame rate, size and the avcC parameter sets. The same
 * facts ffprobe would report, for a few ms instead of an ~80 ms process per chunk — that
 * is ~1 s of CPU on the critical path for a 15-chunk ad. Returns null for anything it does
 * not fully understand (not MP4, not H.264, edit lists that shift media), so the caller
 * falls back to ffprobe.
 */

/** The same facts ffprobe gives (chunk-probe.ts's ChunkProbe), read from the MP4's sample tables. */
export interface Mp4VideoIndex {
  codec: "h264";
  width: number;
  height: number;
  /** r_frame_rate as a number (e.g. 24). */
  fps: number;
  /** One packet per frame for H.264 in MP4, so this is the frame count. */
  frames: number;
  /** Indexes (decode order) of keyframe packets. */
  keyframes: number[];
  /** `SHA256:<hex>` of the codec extradata (avcC: SPS + PPS), empty if none. */
  parameterSetsHash: string;
}

const MAX_MOOV_BYTES = 64 * 1024 * 1024;

interface Box {
  type: string;
  start: number;
  end: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  for (const box of boxes(buf, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
}

function path(buf: Buffer, parent: Box, ...types: string[]): Box | undefined {
  let box: Box | undefined = parent;
  for (const type of types) {
    box = box && child(buf, box, type);
  }
  return box;
}

/** The moov box of the file at `filePath`, wherever it sits (front with +faststart, else end). */
async function readMoov(filePath: string): Promise<Buffer | null> {
  const file = await open(filePath, "r");
  try {
    const size = (await file.stat()).size;
    const header = Buffer.alloc(16);
    let at = 0;
    while (at + 8 <= size) {
      await file.read(header, 0, 16, at);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString("latin1", 4, 8);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - at;
      if (boxSize < 8) return null;
      if (type === "moov") {
        if (boxSize > MAX_MOOV_BYTES) return null;
        const moov = Buffer.alloc(boxSize);
        await file.read(moov, 0, boxSize, at);
        return moov;
      }
      at += boxSize;
    }
    return null;
  } finally {
    await file.close();
  }
}

/** The first track of the file's moov whose handler is `handler` (`vide`, `soun`), with the moov's bytes; null when unreadable or absent. */
async function firstTrack(filePath: string, handler: string): Promise<{ buf: Buffer; trak: Box } | null> {
  let buf: Buffer | null;
  try {
    buf = await readMoov(filePath);
  } catch {
    return null;
  }
  if (!buf) return null;
  const moov = [...boxes(buf, 0, buf.length)][0];
  if (!moov || moov.type !== "moov") return null;
  for (const trak of boxes(buf, moov.start, moov.end)) {
    if (trak.type !== "trak") continue;
    const hdlr = path(buf, trak, "mdia", "hdlr");
    if (hdlr && buf.toString("latin1", hdlr.start + 8, hdlr.start + 12) === handler) return { buf, trak };
  }
  return null;
}

export async function readMp4VideoIndex(filePath: string): Promise<Mp4VideoIndex | null> {
  const track = await firstTrack(filePath, "vide");
  return track && videoTrack(track.buf, track.trak);
}

/** MPEG-4 systems' object types that ffmpeg decodes as `aac`: MPEG-4 audio, MPEG-2 AAC Main, LC and SSR. */
const AAC_OBJECT_TYPES = new Set([0x40, 0x66, 0x67, 0x68]);

/**
 * Whether the file's first audio track is AAC (an `mp4a` entry whose decoder configuration names
 * an AAC object type), read from its sample description: the prepared soundtrack's codec for the
 * final mux without an ffprobe process. Null when that cannot be told this way (the caller probes).
 */
export async function readMp4AudioIsAac(filePath: string): Promise<boolean | null> {
  const track = await firstTrack(filePath, "soun");
  if (!track) return null;
  const { buf, trak } = track;
  const stsd = path(buf, trak, "mdia", "minf", "stbl", "stsd");
  const entry = stsd && [...boxes(buf, stsd.start + 8, stsd.end)][0];
  if (!entry) return null;
  if (entry.type !== "mp4a") return false;
  // A version 0 sound sample entry is 28 bytes before its child boxes.
  const esds = [...boxes(buf, entry.start + 28, entry.end)].find((b) => b.type === "esds");
  if (!esds) return null;
  // Inside the full box header: ES_Descriptor (tag 3), then its DecoderConfigDescriptor (tag 4),
  // whose first byte is the object type. Descriptor lengths take one to four bytes.
  let at = esds.start + 4;
  const descriptor = (tag: number): boolean => {
    if (at >= esds.end || buf.readUInt8(at) !== tag) return false;
    at++;
    for (let i = 0; i < 4 && at < esds.end; i++) if ((buf.readUInt8(at++) & 0x80) === 0) break;
    return true;
  };
  if (!descriptor(3)) return null;
  const flags = buf.readUInt8(at + 2);
  at += 3 + (flags & 0x80 ? 2 : 0);
  if (flags & 0x40) at += 1 + buf.readUInt8(at);
  if (flags & 0x20) at += 2;
  if (!descriptor(4) || at >= esds.end) return null;
  return AAC_OBJECT_TYPES.has(buf.readUInt8(at));
}

function videoTrack(buf: Buffer, trak: Box): Mp4VideoIndex | null {
  // An edit list that starts the media anywhere but 0 changes which samples are shown.
  const elst = path(buf, trak, "edts", "elst");
  if (elst) {
    const version = buf.readUInt8(elst.start);
    const entries = buf.readUInt32BE(elst.start + 4);
    const mediaTime = version === 1 ? Number(buf.readBigInt64BE(elst.start + 16)) : buf.readInt32BE(elst.start + 12);
    if (entries !== 1 || mediaTime !== 0) return null;
  }
  const mdhd = path(buf, trak, "mdia", "mdhd");
  const stbl = path(buf, trak, "mdia", "minf", "stbl");
  if (!mdhd || !stbl) return null;
  const { timescale } = timing(buf, mdhd);

  const stsd = child(buf, stbl, "stsd");
  const entry = stsd && [...boxes(buf, stsd.start + 8, stsd.end)][0];
  if (!entry || entry.type !== "avc1") return null;
  const width = buf.readUInt16BE(entry.start + 24);
  const height = buf.readUInt16BE(entry.start + 26);
  const avcC = [...boxes(buf, entry.start + 78, entry.end)].find((b) => b.type === "avcC");
  if (!avcC) return null;

  const stsz = child(buf, stbl, "stsz");
  const stts = child(buf, stbl, "stts");
  if (!stsz || !stts || buf.readUInt32BE(stts.start + 4) === 0) return null;
  const frames = buf.readUInt32BE(stsz.start + 8);
  const firstDelta = buf.readUInt32BE(stts.start + 12);
  if (firstDelta === 0) return null;

  const stss = child(buf, stbl, "stss");
  let keyframes: number[];
  if (stss) {
    const count = buf.readUInt32BE(stss.start + 4);
    keyframes = Array.from({ length: count }, (_, i) => buf.readUInt32BE(stss.start + 8 + i * 4) - 1);
  } else {
    // No sync sample table: every sample is a sync sample.
    keyframes = Array.from({ length: frames }, (_, i) => i);
  }
  const hash = createHash("sha256").update(buf.subarray(avcC.start, avcC.end)).digest("hex");
  return { codec: "h264", width, height, fps: timescale / firstDelta, frames, keyframes, parameterSetsHash: `SHA256:${hash}` };
}

/**
 * Seconds of the file (its movie header) and of its first audio track as played: its edit
 * list's length where it has one (an AAC track's priming samples are cut there), else its
 * media's. What ffprobe reports as the format's and the audio stream's durations, to the movie
 * timescale's precision (ms in ffmpeg's files), without its process on the final assembly's
 * path. Null when there is no audio track or its boxes are not understood (the caller probes).
 */
export async function readMp4Durations(filePath: string): Promise<{ durationS: number; audioDurationS: number } | null> {
  const track = await firstTrack(filePath, "soun");
  if (!track) return null;
  const { buf, trak } = track;
  const mvhd = child(buf, [...boxes(buf, 0, buf.length)][0]!, "mvhd");
  if (!mvhd) return null;
  const movie = timing(buf, mvhd);
  if (movie.timescale === 0) return null;
  let audio: number;
  const elst = path(buf, trak, "edts", "elst");
  if (elst) {
    const version = buf.readUInt8(elst.start);
    const entries = buf.readUInt32BE(elst.start + 4);
    let total = 0;
    for (let i = 0; i < entries; i++) {
      const at = elst.start + 8 + i * (version === 1 ? 20 : 12);
      total += version === 1 ? Number(buf.readBigUInt64BE(at)) : buf.readUInt32BE(at);
    }
    audio = total / movie.timescale;
  } else {
    const mdhd = path(buf, trak, "mdia", "mdhd");
    const media = mdhd && timing(buf, mdhd);
    if (!media || media.timescale === 0) return null;
    audio = media.duration / media.timescale;
  }
  return { durationS: movie.duration / movie.timescale, audioDurationS: audio };
}

/** A movie or media header's (mvhd, mdhd: the same layout up to here) timescale and duration, in either version. */
function timing(buf: Buffer, header: Box): { timescale: number; duration: number } {
  const v1 = buf.readUInt8(header.start) === 1;
  return {
    timescale: buf.readUInt32BE(header.start + (v1 ? 20 : 12)),
    duration: v1 ? Number(buf.readBigUInt64BE(header.start + 24)) : buf.readUInt32BE(header.start + 16),
  };
}
