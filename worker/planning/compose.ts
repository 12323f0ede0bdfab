import {
  FPS,
  RESOLUTIONS,
  VOICE_LEAD_IN_FRAMES,
  VideoSpec,
  countWords,
  voiceWordBudget,
  type AdCopy,
  type ClipContract,
  type ArchetypeId,
  type AspectRatio,
  type CameraMove,
  type DurationSeconds,
  type MusicBrief,
  type SpecFacts,
  type TransitionType,
} from "../../contracts/spec.ts";
import { BEATS, TRANSITION_FRAMES, type BeatId } from "./beats.ts";
import type { FinishOptions } from "./copy.ts";
import type { PlanEvent } from "./request.ts";
import { allocateFrames, clipBounds, lowerBounds, type TimingSlot } from "./timing.ts";

/**
 * Turning a draft (beats chosen, words written, durations only as targets) into a valid
 * VideoSpec. Both planners end here, so the timing rules live in one place: whatever a
 * planner or a language model proposes, the totals add up to duration_s × 24 frames.
 */

export interface DraftBeat {
  beat_id: BeatId;
  name: string;
  purpose: string;
  prompt: string;
  camera: CameraMove;
  mood: string;
  transition: TransitionType;
  /** Desired on-screen frames; the final length is fitted to the total. */
  target: number;
  /** Voice lines for this beat in order of preference; the first that fits its word budget is spoken. */
  voice: string[];
}

export interface DraftSpec extends FinishOptions {
  archetype: ArchetypeId;
  title: string;
  duration_s: DurationSeconds;
  aspect_ratio: AspectRatio;
  creativity_level: number;
  seed: number;
  pacing: string;
  style: string;
  facts: SpecFacts;
  music: MusicBrief;
  planner: "local" | "openai";
  /** The video model's clip contract: beats are timed so each renders in whole clips it pays for (timing.ts clipBounds). */
  clip?: ClipContract;
  beats: DraftBeat[];
}

const SOFT: readonly TransitionType[] = ["fade", "dissolve"];

/** Drop order when beats cannot fit: body beats first (latest first), then setup, turn, close. */
const DROP_ORDER = ["body", "setup", "turn", "close"] as const;

export function composeSpec(draft: DraftSpec): { spec: VideoSpec; events: PlanEvent[] } {
  const events: PlanEvent[] = [];
  const total = draft.duration_s * FPS;
  const beats = draft.beats.map((beat) => ({ ...beat }));
  if (beats.length === 0) throw new RangeError("a plan needs at least one beat");

  // The last beat has nothing to blend into.
  beats[beats.length - 1]!.transition = "cut";
  // Every ad keeps at least one soft transition so it does not read as a hard-cut reel.
  if (beats.length > 1 && !beats.some((b) => SOFT.includes(b.transition))) {
    const blended = beats.findIndex((b, i) => i < beats.length - 1 && b.transition !== "cut");
    const at = blended >= 0 ? blended : beats.length - 2;
    beats[at]!.transition = blended >= 0 ? "dissolve" : "fade";
    events.push({ type: "soft_transition", message: `beat ${at} (${beats[at]!.beat_id}) now leaves with a ${beats[at]!.transition}` });
  }

  // With a clip contract the model sets the pacing: every beat is one clip long enough to use
  // what it pays for, whatever the library's lengths (written for 2 s chunks) say.
  const clip = draft.clip ? clipBounds(draft.clip) : null;
  const slotsOf = () =>
    beats.map<TimingSlot>((b) => {
      const out = TRANSITION_FRAMES[b.transition];
      const library = { min: BEATS[b.beat_id].minFrames, max: BEATS[b.beat_id].maxFrames };
      const min = clip ? Math.max(library.min, clip.minRendered - out) : library.min;
      return { target: b.target, min, max: clip ? Math.max(min, clip.maxRendered - out) : library.max, out };
    });
  while (lowerBounds(slotsOf()).reduce((a, b) => a + b, 0) > total && beats.length > 2) {
    const drop = dropCandidate(beats);
    const [removed] = beats.splice(drop, 1);
    events.push({ type: "beat_dropped", message: `dropped ${removed!.beat_id} at ${drop}: the beats did not fit in ${draft.duration_s} s` });
  }

  const frames = allocateFrames(slotsOf(), total, clip ? { chunkFrames: clip.maxRendered } : {});
  let start = 0;
  const specBeats = beats.map((b, index) => {
    const beat = {
      index,
      beat_id: b.beat_id,
      name: b.name,
      purpose: b.purpose,
      start_frame: start,
      frames: frames[index]!,
      prompt: b.prompt,
      camera: b.camera,
      mood: b.mood,
      transition_out: { type: b.transition, frames: TRANSITION_FRAMES[b.transition] },
    };
    start += beat.frames;
    return beat;
  });

  const copy = placeCopy(draft, beats, specBeats, events);
  const { width, height } = RESOLUTIONS[draft.aspect_ratio];
  const spec = VideoSpec.parse({
    version: 1,
    archetype: draft.archetype,
    title: draft.title,
    duration_s: draft.duration_s,
    total_frames: total,
    fps: FPS,
    aspect_ratio: draft.aspect_ratio,
    width,
    height,
    creativity_level: draft.creativity_level,
    seed: draft.seed,
    pacing: draft.pacing,
    style: draft.style,
    facts: draft.facts,
    beats: specBeats,
    music: draft.music,
    copy,
    planner: draft.planner,
    ...(draft.clip ? { clip: draft.clip } : {}),
  });
  return { spec, events };
}

/** Words in a row that make a phrase: a script that says a phrase this long twice sounds like a loop. */
const REPEATED_PHRASE_WORDS = 4;

/** Whether `line` says again a phrase of `said` (REPEATED_PHRASE_WORDS words in a row, case and punctuation aside). */
export function repeats(line: string, said: string): boolean {
  const words = (text: string) => text.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter(Boolean);
  const phrases = (ws: string[]) => new Set(ws.slice(0, Math.max(0, ws.length - REPEATED_PHRASE_WORDS + 1)).map((_, i) => ws.slice(i, i + REPEATED_PHRASE_WORDS).join(" ")));
  const a = words(line);
  const b = phrases(words(said));
  if (a.length < REPEATED_PHRASE_WORDS) return a.join(" ") === words(said).join(" ");
  return [...phrases(a)].some((phrase) => b.has(phrase));
}

/** Beats that lead into the end card rather than carry the headline: the logo gets their open space too. */
const END_CARD_LEAD: readonly BeatId[] = ["brand_moment"];
/** Where the headline lands: the turn of the story, where the product is first shown. */
const HEADLINE_BEATS: readonly BeatId[] = ["solution_reveal", "product_hero"];

/**
 * The copy on the timed beats: the end card on the last beat (from a brand moment just before
 * it, when there is one), the headline on the first reveal before it, and on each beat the
 * first voice line that fits the beat's word budget and says nothing already said.
 */
function placeCopy(draft: DraftSpec, beats: readonly DraftBeat[], timed: readonly { start_frame: number; frames: number }[], events: PlanEvent[]): AdCopy {
  const last = beats.length - 1;
  const end_card_beat = last > 0 && END_CARD_LEAD.includes(beats[last - 1]!.beat_id) ? last - 1 : last;
  const reveal = beats.findIndex((b, i) => i < end_card_beat && HEADLINE_BEATS.includes(b.beat_id));
  const headline_beat = reveal >= 0 ? reveal : Math.max(0, Math.min(1, end_card_beat - 1));
  const spoken: string[] = [];
  const lines: AdCopy["voiceover"]["lines"] = [];
  beats.forEach((beat, index) => {
    const { start_frame, frames } = timed[index]!;
    const max_words = voiceWordBudget(frames);
    const fitting = beat.voice.filter((line) => !spoken.some((said) => repeats(line, said)));
    const text = fitting.find((line) => countWords(line) <= max_words);
    // The local copywriter's candidates are meant to be tried in turn; a language model's line
    // that had to be shortened or dropped is worth telling.
    const note = (message: string) => draft.planner === "openai" && events.push({ type: "copy_fitted", message: `beat ${index} (${beat.beat_id}) ${message}` });
    if (text === undefined) {
      if (fitting.length > 0) note(`is silent: its voice line has ${countWords(fitting.at(-1)!)} words, over the ${max_words}-word budget`);
      return;
    }
    if (text !== fitting[0]) note(`speaks the first sentence of its line, to fit its ${max_words}-word budget`);
    spoken.push(text);
    lines.push({ beat_index: index, text, start_frame: start_frame + VOICE_LEAD_IN_FRAMES, max_words });
  });
  return {
    ...draft.copy,
    headline_beat,
    end_card_beat,
    voiceover: { enabled: draft.voiceover.enabled, voice: draft.voiceover.voice, lines },
    captions: draft.voiceover.enabled ? draft.captions : "none",
  };
}

function dropCandidate(beats: readonly DraftBeat[]): number {
  for (const act of DROP_ORDER) {
    for (let i = beats.length - 2; i >= 1; i--) if (BEATS[beats[i]!.beat_id].act === act) return i;
  }
  return beats.length - 2;
}
