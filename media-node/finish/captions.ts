import type { Cue } from "../../contracts/media.ts";
import { safeArea, typeSizes } from "./layout.ts";

/**
 * Captions from the placed voice phrases: each phrase becomes one or more cues that start
 * where its speech starts and end where it ends. Long phrases are split for reading: at most
 * CAPTION_LINE_CHARS characters a line (the BBC's subtitle guidelines allow about 37 for
 * 16:9; we keep to fewer so a line also fits a 9:16 frame's safe width at a readable size) and
 * CAPTION_MAX_LINES lines a cue; a phrase longer than that is cut at sentence ends first, then
 * between words, and its time shared out by characters.
 * Two renderings: the WebVTT sidecar, and an ASS script for libass to burn into the picture.
 */

export const CAPTION_LINE_CHARS = 32;
export const CAPTION_MAX_LINES = 2;

export interface PlacedPhrase {
  text: string;
  start_s: number;
  duration_s: number;
}

/** Words into lines of at most `max` characters (a longer single word gets a line of its own). */
function wrap(words: readonly string[], max: number): string[] {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= max) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** One cue's text: one line, or two lines as even as the words allow. */
function balance(words: readonly string[]): string {
  const text = words.join(" ");
  if (text.length <= CAPTION_LINE_CHARS) return text;
  let best = { split: 1, longest: Number.POSITIVE_INFINITY };
  for (let split = 1; split < words.length; split++) {
    const longest = Math.max(words.slice(0, split).join(" ").length, words.slice(split).join(" ").length);
    if (longest < best.longest) best = { split, longest };
  }
  return `${words.slice(0, best.split).join(" ")}\n${words.slice(best.split).join(" ")}`;
}

/** The phrase's text in pieces that each fit one cue. */
function pieces(text: string): string[][] {
  const sentences = text.match(/[^.!?]+[.!?]+|[^.!?]+$/g)?.map((s) => s.trim().split(/\s+/)) ?? [text.split(/\s+/)];
  const out: string[][] = [];
  for (const words of sentences) {
    const last = out.at(-1);
    if (last && wrap([...last, ...words], CAPTION_LINE_CHARS).length <= CAPTION_MAX_LINES) {
      last.push(...words);
      continue;
    }
    let rest = words;
    while (rest.length > 0) {
      let take = rest.length;
      while (take > 1 && wrap(rest.slice(0, take), CAPTION_LINE_CHARS).length > CAPTION_MAX_LINES) take--;
      out.push(rest.slice(0, take));
      rest = rest.slice(take);
    }
  }
  return out;
}

const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Cues in time order; times rounded to the millisecond WebVTT carries. */
export function buildCues(phrases: readonly PlacedPhrase[]): Cue[] {
  const cues: Cue[] = [];
  for (const phrase of [...phrases].sort((a, b) => a.start_s - b.start_s)) {
    const parts = pieces(phrase.text.trim());
    const total = parts.reduce((sum, p) => sum + p.join(" ").length, 0);
    let at = phrase.start_s;
    for (const part of parts) {
      const length = (phrase.duration_s * part.join(" ").length) / total;
      cues.push({ start_s: ms(at), end_s: ms(at + length), text: balance(part) });
      at += length;
    }
  }
  return cues;
}

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
