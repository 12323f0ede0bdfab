import { countWords, type CameraMove, type SpecBeat } from "../../contracts/spec.ts";
import { BEATS, isBeatId } from "./beats.ts";

/**
 * Prompt hygiene. Video and image models follow short prompts best (SPEC §4.3: ~50–100
 * words), so every prompt has a word budget. Text from the user's brief only ever enters a
 * prompt as a sanitised, length-capped slot value: never the raw brief.
 */

/** A beat's own prompt (the part that is never cut). */
export const BEAT_PROMPT_MAX_WORDS = 45;
/** A chunk prompt: beat prompt + camera and motion + look + consistency context. */
export const CHUNK_PROMPT_MAX_WORDS = 100;

export const CAMERA_PHRASES: Record<CameraMove, string> = {
  static: "locked-off static camera",
  push_in: "slow push-in toward the subject",
  pull_out: "slow pull-back revealing the scene",
  pan_left: "smooth pan to the left",
  pan_right: "smooth pan to the right",
  tilt_up: "slow tilt upward",
  tilt_down: "slow tilt downward",
  orbit: "gentle orbit around the subject",
  handheld: "subtle handheld movement",
};

/**
 * Makes user- or model-supplied text safe to place in a prompt or a structured field:
 * strips control characters, quotes, braces, brackets, angle brackets and backslashes,
 * folds newlines and runs of whitespace, then caps the length at a word boundary.
 */
export function sanitiseSlot(value: string, maxChars: number): string {
  const cleaned = value
    .normalize("NFKC")
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ")
    .replace(/["'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb{}[\]<>\\|$]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (cleaned.length <= maxChars) return cleaned;
  const cut = cleaned.slice(0, maxChars + 1);
  const space = cut.lastIndexOf(" ");
  return (space > maxChars / 2 ? cut.slice(0, space) : cleaned.slice(0, maxChars)).replace(/[\s,;:.-]+$/, "");
}

export { countWords } from "../../contracts/spec.ts";

/** The first `maxWords` words of `text`, without a dangling comma or colon. */
export function limitWords(text: string, maxWords: number): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length <= maxWords) return words.join(" ");
  return words.slice(0, Math.max(0, maxWords)).join(" ").replace(/[,;:\s-]+$/, "");
}

export interface TemplateSlots {
  product: string;
  character: string;
  setting: string;
  action: string;
  brand: string;
}

/** Slot word caps: together with the longest template they stay within BEAT_PROMPT_MAX_WORDS. */
const SLOT_WORDS: Record<keyof TemplateSlots, number> = { product: 5, character: 5, setting: 5, action: 10, brand: 4 };

/**
 * Fills a library template in one pass, so a slot value can never introduce another slot.
 * Values are sanitised and word-capped here whatever their source.
 */
export function fillTemplate(template: string, slots: TemplateSlots): string {
  const filled = template.replace(/\{(product|character|setting|action|brand)\}/g, (_, name: keyof TemplateSlots) =>
    limitWords(sanitiseSlot(slots[name], 120), SLOT_WORDS[name]),
  );
  const sentence = filled.charAt(0).toUpperCase() + filled.slice(1);
  return limitWords(sentence, BEAT_PROMPT_MAX_WORDS);
}

export interface ChunkPromptOptions {
  /** Shared description of characters, product and palette (from the references phase). */
  consistencyContext?: string;
  /** The spec's look line. */
  style?: string;
  /** Position of the chunk inside its beat, for continuous shots. */
  part?: { index: number; count: number };
  maxWords?: number;
}

/**
 * The prompt for one video chunk, within a word budget. Sections in priority order: the
 * beat's own prompt (never cut, whatever the budget), camera + motion, continuity note,
 * look, consistency context. When over budget the context is truncated first, then the
 * look; camera and continuity are dropped whole rather than cut mid-phrase.
 */
export function chunkPrompt(beat: Pick<SpecBeat, "prompt" | "camera"> & { beat_id?: string }, options: ChunkPromptOptions = {}): string {
  const maxWords = options.maxWords ?? CHUNK_PROMPT_MAX_WORDS;
  const own = limitWords(sanitiseSlot(beat.prompt, 700), BEAT_PROMPT_MAX_WORDS * 2);
  const motion = beat.beat_id && isBeatId(beat.beat_id) ? `, ${BEATS[beat.beat_id].motion}` : "";
  const sections: { text: string; cuttable: boolean }[] = [
    { text: `Camera: ${CAMERA_PHRASES[beat.camera]}${motion}.`, cuttable: false },
  ];
  if (options.part && options.part.count > 1 && options.part.index > 0) {
    sections.push({ text: `Continuous shot, part ${options.part.index + 1} of ${options.part.count}.`, cuttable: false });
  }
  const style = sanitiseSlot(options.style ?? "", 300);
  if (style) sections.push({ text: `Look: ${style}.`, cuttable: true });

  const parts = [own];
  let left = maxWords - countWords(own);
  for (const section of sections) {
    const words = countWords(section.text);
    if (words <= left) {
      parts.push(section.text);
      left -= words;
    } else if (section.cuttable && left >= 4) {
      parts.push(limitWords(section.text, left));
      left = 0;
    }
  }
  return composePrompt(parts.join(" "), options.consistencyContext ?? "", maxWords);
}

/**
 * Appends the consistency context to a finished prompt, giving the context only the words
 * the budget has left: the prompt itself is never cut. Used when the context becomes known
 * after planning (chunk and storyboard jobs), and by `chunkPrompt`.
 */
export function composePrompt(prompt: string, consistencyContext: string, maxWords = CHUNK_PROMPT_MAX_WORDS): string {
  const own = sanitiseSlot(prompt, 1400);
  const context = sanitiseSlot(consistencyContext, 2000);
  const left = maxWords - countWords(own) - 1;
  if (!context || left < 3) return own;
  return `${own} Consistency: ${limitWords(context, left)}`;
}
