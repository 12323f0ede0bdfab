import { execFile } from "node:child_process";
import { promisify } from "node:util";
import sharp from "sharp";
import { ffmpeg, run } from "../../media-node/ffmpeg.ts";

/**
 * Test support (not a test file): independent checks of a finished ad, measured on the decoded
 * output rather than taken from what the pipeline says it did — a logo found by template
 * matching, words read by OCR, speech found by silence detection, a tone's level over time.
 */

interface Gray {
  data: Float64Array;
  width: number;
  height: number;
}

async function gray(image: Buffer | string, width?: number, height?: number): Promise<Gray> {
  let pipeline = sharp(image).removeAlpha().greyscale();
  if (width && height) pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "lanczos3" });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: Float64Array.from(data), width: info.width, height: info.height };
}

/** Normalized cross-correlation of `template` with `frame` at (x, y): 1 is a perfect match. */
function ncc(frame: Gray, template: Gray, x: number, y: number): number {
  const n = template.width * template.height;
  let sf = 0, st = 0, sff = 0, stt = 0, sft = 0;
  for (let j = 0; j < template.height; j++) {
    const row = (y + j) * frame.width + x;
    for (let i = 0; i < template.width; i++) {
      const f = frame.data[row + i]!;
      const t = template.data[j * template.width + i]!;
      sf += f; st += t; sff += f * f; stt += t * t; sft += f * t;
    }
  }
  const cov = sft - (sf * st) / n;
  const vf = sff - (sf * sf) / n;
  const vt = stt - (st * st) / n;
  return vf > 0 && vt > 0 ? cov / Math.sqrt(vf * vt) : 0;
}

export interface TemplateMatch {
  score: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The best match of `template` at each given size, around `near` (within `radius` px) or anywhere. */
async function search(frame: Gray, template: Buffer, sizes: readonly { width: number; height: number }[], near: { x: number; y: number } | null, radius: number): Promise<TemplateMatch[]> {
  const found: TemplateMatch[] = [];
  for (const { width, height } of sizes) {
    if (width < 4 || height < 4 || width > frame.width || height > frame.height) continue;
    const small = await gray(template, width, height);
    const x0 = near ? Math.max(0, near.x - radius) : 0;
    const y0 = near ? Math.max(0, near.y - radius) : 0;
    const x1 = near ? Math.min(frame.width - width, near.x + radius) : frame.width - width;
    const y1 = near ? Math.min(frame.height - height, near.y + radius) : frame.height - height;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) found.push({ score: ncc(frame, small, x, y), x, y, width, height });
  }
  return found.sort((a, b) => b.score - a.score);
}

/**
 * Where `template` (an image file's bytes) appears in `frame` (a PNG), at any size from 8 % to
 * 90 % of the frame's width: coarse to fine, every size and position on 1/8-size grey images,
 * the best few refined at 1/2 size (sizes ±4 %, ±6 px), the best of those at full size.
 */
export async function findTemplate(frame: Buffer, template: Buffer): Promise<TemplateMatch> {
  const full = await gray(frame);
  const meta = await sharp(template).metadata();
  const aspect = meta.height! / meta.width!;
  const level = async (factor: number) => (factor === 1 ? full : gray(frame, Math.round(full.width / factor), Math.round(full.height / factor)));
  const size = (width: number, factor: number) => ({ width: Math.round(width / factor), height: Math.round((width * aspect) / factor) });
  const widths: number[] = [];
  for (let share = 0.08; share <= 0.9; share *= 1.06) widths.push(full.width * share);
  const coarse = (await search(await level(8), template, widths.map((w) => size(w, 8)), null, 0)).slice(0, 3);
  const half = await level(2);
  let best: { match: TemplateMatch; width: number } | null = null;
  for (const candidate of coarse) {
    const width = candidate.width * 8;
    const around = [-2, -1, 0, 1, 2].map((step) => width * 1.02 ** step);
    const refined = await search(half, template, around.map((w) => size(w, 2)), { x: candidate.x * 4, y: candidate.y * 4 }, 6);
    if (refined[0] && (!best || refined[0].score > best.match.score)) best = { match: refined[0], width: refined[0].width * 2 };
  }
  if (!best) return { score: -1, x: 0, y: 0, width: 0, height: 0 };
  const final = await search(full, template, [-1, 0, 1].map((step) => size(best.width * 1.01 ** step, 1)), { x: best.match.x * 2, y: best.match.y * 2 }, 2);
  return final[0]!;
}

/** Frame `n` of a video as PNG (BT.709 decode, as a player shows it). */
export async function framePng(video: string, n: number): Promise<Buffer> {
  const { stdout } = await ffmpeg(["-i", video, "-vf", `select='eq(n,${n})',scale=in_color_matrix=bt709:in_range=tv,format=rgb24`, "-frames:v", "1", "-c:v", "png", "-f", "image2pipe", "-"]);
  return stdout;
}

/**
 * Words tesseract reads in a region of an image (lower case, letters, digits and %). The region
 * is greyed and doubled in size first, the usual preparation for OCR of screen text; tesseract's
 * page layout analysis is not made for text over a busy picture, so the region is the button's.
 */
export async function readWords(png: Buffer, region: { left: number; top: number; width: number; height: number }, path: string): Promise<string[]> {
  // Padded with the region's own background: tesseract misreads text that touches the image's
  // edge ("Missing borders", tesseract-ocr.github.io/tessdoc/ImproveQuality.html, read
  // 2026-12-05): a mark box cut tight under "shoe" read "Saver" on one encoding of the frame.
  const { data } = await sharp(png).extract({ ...region, width: 1, height: 1 }).greyscale().raw().toBuffer({ resolveWithObject: true });
  const background = { r: data[0]!, g: data[0]!, b: data[0]! };
  await sharp(png).extract(region).greyscale().resize({ width: region.width * 2 }).extend({ top: 16, bottom: 16, left: 16, right: 16, background }).toFile(path);
  // A single block of text.
  const { stdout } = await promisify(execFile)("tesseract", [path, "stdout", "--psm", "6"], { timeout: 60_000 });
  return stdout.toLowerCase().split(/[^a-z0-9%]+/).filter(Boolean);
}

/**
 * Spans of speech in an audio track, from ffmpeg's silencedetect: what is not silence. Quiet of
 * 50 ms or more counts as a break (so an onset is found to within that), and spans closer than
 * `joinGapS` are one phrase (a pause between sentences is not a new line).
 */
export async function speechSpans(audio: string, options: { noiseDb: number; joinGapS: number }): Promise<{ start: number; end: number }[]> {
  const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostdin", "-i", audio, "-map", "0:a:0", "-af", `silencedetect=n=${options.noiseDb}dB:d=0.05`, "-f", "null", "-"]);
  const starts = [...stderr.matchAll(/silence_start: (-?[\d.]+)/g)].map((m) => Number(m[1]));
  const ends = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  const duration = Number(/Duration: (\d+):(\d+):([\d.]+)/.exec(stderr)!.slice(1).reduce((s, v) => s * 60 + Number(v), 0));
  // Speech runs from each silence's end to the next silence's start (or the end of the track).
  const raw: { start: number; end: number }[] = [];
  if (starts.length === 0 || starts[0]! > 0.01) raw.push({ start: 0, end: starts[0] ?? duration });
  ends.forEach((end, i) => {
    const next = starts[i + 1] ?? duration;
    if (next - end > 0.01) raw.push({ start: end, end: next });
  });
  const spans: { start: number; end: number }[] = [];
  for (const span of raw) {
    const last = spans.at(-1);
    if (last && span.start - last.end < options.joinGapS) last.end = span.end;
    else spans.push({ ...span });
  }
  return spans;
}

/**
 * The level (dBFS RMS) over each window of what a steep low-pass at `cutoffHz` lets through:
 * the level of a low tone in a mix whose other sounds all sit above the cut-off.
 */
export function lowToneLevels(audio: string, cutoffHz: number, windows: readonly { start: number; end: number }[]): Promise<number[]> {
  return windowLevels(audio, windows, Array.from({ length: 4 }, () => `lowpass=f=${cutoffHz}`).join(",") + ",");
}

/** The level (dBFS RMS, mono) of a whole track over each window. */
export function trackLevels(audio: string, windows: readonly { start: number; end: number }[]): Promise<number[]> {
  return windowLevels(audio, windows, "");
}

async function windowLevels(audio: string, windows: readonly { start: number; end: number }[], filters: string): Promise<number[]> {
  const rate = 4000;
  const { stdout } = await ffmpeg(["-i", audio, "-map", "0:a:0", "-af", `${filters}aresample=${rate},aformat=sample_fmts=flt:channel_layouts=mono`, "-f", "f32le", "-"]);
  const samples = new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
  return windows.map(({ start, end }) => {
    let sum = 0;
    const from = Math.round(start * rate);
    const to = Math.min(samples.length, Math.round(end * rate));
    for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
    return 10 * Math.log10(sum / Math.max(1, to - from));
  });
}
