import type { Cue } from "../contracts/media.ts";

/**
 * The voiceover's timing, shared by media-node's soundtrack mix and the Worker: each line placed
 * where the plan puts it (fitted before the next one), and the captions' cues from the placed
 * lines. The Worker times the cues from each line's measured speech as soon as every line is
 * stored (worker/steps/voice.ts), seconds before the mix is done, so the chunks' normalize
 * passes can draw them; the mix places the lines with this same code, so its cues are the same.
 *
 * Captions from the placed voice phrases: each phrase becomes one or more cues that start
 * where its speech starts and end where it ends. Long phrases are split for reading: at most
 * CAPTION_LINE_CHARS characters a line (the BBC's subtitle guidelines allow about 37 for
 * 16:9; we keep to fewer so a line also fits a 9:16 frame's safe width at a readable size) and
 * CAPTION_MAX_LINES lines a cue; a phrase longer than that is cut at sentence ends first, then
 * between words, and its time shared out by characters.
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

/** At least this much quiet between one line's end and the next line (or the ad's end). */
const MIN_GAP_S = 0.2;
/** A line too long for its slot is sped up, but no more than this (beyond it speech sounds hurried). */
export const MAX_TEMPO = 1.25;

export interface TimedLine {
  text: string;
  /** The script line's start frame: the first sample of speech lands here. */
  atFrame: number;
  /** Seconds of speech once its leading and trailing quiet are trimmed (media-node audio/soundtrack.ts). */
  speechS: number;
}

/** A line placed in the mix: where its speech starts, how long it runs, and how much it was sped up to fit. */
export interface PlacedLine extends PlacedPhrase {
  tempo: number;
}

/** Lines in time order, each fitted before the next one (or the end), sped up a little if it must; an Error naming the line that cannot fit. */
export function placeLines(lines: readonly TimedLine[], frames: number, fps: number): PlacedLine[] | { index: number; error: string } {
  const seconds = frames / fps;
  const placed: PlacedLine[] = [];
  for (const [i, line] of lines.entries()) {
    const start = line.atFrame / fps;
    const limit = (i + 1 < lines.length ? lines[i + 1]!.atFrame / fps : seconds) - MIN_GAP_S;
    const room = limit - start;
    const tempo = line.speechS > room ? line.speechS / room : 1;
    if (!(room > 0) || tempo > MAX_TEMPO) {
      return {
        index: i,
        error: `${line.speechS.toFixed(2)} s of speech does not fit the ${Math.max(0, room).toFixed(2)} s before ${i + 1 < lines.length ? "the next line" : "the end"}, even at ${MAX_TEMPO}x`,
      };
    }
    placed.push({ text: line.text, start_s: start, duration_s: line.speechS / tempo, tempo });
  }
  return placed;
}
