import { FPS, type CameraMove, type MusicBrief, type SpecFacts, type TransitionType } from "../../contracts/spec.ts";
import { ARCHETYPES, type Archetype } from "./archetypes.ts";
import { BEATS, BEAT_IDS, substitutesFor, type BeatId } from "./beats.ts";
import { readBrief } from "./brief.ts";
import { composeSpec, type DraftBeat } from "./compose.ts";
import { finishOptions, readBriefPhrases, voiceLines, writeCopy, type BriefPhrases, type DraftCopy } from "./copy.ts";
import { fillTemplate, sanitiseSlot } from "./prompts.ts";
import { PlanRequest, type PlanEvent, type PlanRequestInput, type PlanResult, type Planner } from "./request.ts";
import { PlanRandom, planSeed } from "./seed.ts";

/**
 * The local planner: deterministic, offline, free. It reads the brief with lexical rules,
 * takes the archetype's template for the duration and, in proportion to the creativity
 * level, varies it (see `CREATIVITY` below and docs/PLANNING.md).
 */

/**
 * What creativity c ∈ [0, 1] does. At 0 every probability is 0 and the template is used
 * exactly. Probabilities scale linearly with c; the first hook and the final CTA are
 * never substituted or moved.
 */
export const CREATIVITY = {
  /** Per middle beat: swap for another library beat of the same act (signature beats stay). */
  substitute: 0.3,
  /** Once: swap two adjacent middle beats of the same act (body or close only). */
  reorder: 0.5,
  /** Add one body beat from the library; a second with half this probability. */
  add: 0.6,
  /** Per beat: ± this fraction of the target length. */
  timingJitter: 0.25,
  /** Per beat: an alternative camera move from the beat's list. */
  camera: 0.6,
  /** Per beat: an alternative transition from the beat's list. */
  transition: 0.45,
  /** Per beat: a different action variant. */
  action: 1,
  /** An alternative look line. */
  look: 0.5,
  /** Music tempo: ± this many BPM. */
  tempoBpm: 12,
} as const;

/** Most beats an ad of each length may have (short beats read as flicker). */
export const MAX_BEATS: Record<15 | 30 | 60, number> = { 15: 6, 30: 10, 60: 16 };

interface WorkingBeat {
  beat: BeatId;
  target: number;
  camera: CameraMove;
  transition: TransitionType;
  action: number;
}

export class LocalPlanner implements Planner {
  async plan(request: PlanRequestInput): Promise<PlanResult> {
    return planLocally(request);
  }
}

export function planLocally(input: PlanRequestInput): PlanResult {
  const request = PlanRequest.parse(input);
  const events: PlanEvent[] = [];
  const reading = readBrief(request.prompt);
  const archetypeId = request.archetype ?? reading.archetype;
  if (request.archetype) {
    events.push({ type: "archetype_forced", message: `archetype ${archetypeId} requested` });
  } else {
    const scores = Object.entries(reading.scores).map(([id, s]) => `${id}=${s}`).join(", ");
    events.push({ type: "archetype_inferred", message: `${archetypeId} from the brief (${scores}; category ${reading.category ?? "none"})` });
  }
  const archetype = ARCHETYPES[archetypeId];
  const seed = planSeed(request);
  const rng = new PlanRandom(seed);
  const c = request.creativity_level;

  const beats: WorkingBeat[] = archetype.templates[request.duration_s].map((entry) => ({
    beat: entry.beat,
    target: entry.seconds * FPS,
    camera: entry.camera ?? BEATS[entry.beat].cameras[0]!,
    transition: entry.transition ?? BEATS[entry.beat].transitions[0]!,
    action: entry.action ?? 0,
  }));
  const changes = varyStructure(beats, archetype, rng, c, MAX_BEATS[request.duration_s]);
  if (changes.length > 0) events.push({ type: "creative_variation", message: changes.join("; ") });
  // Variation may not make the cut more blended than the template or half of the joins:
  // a reel of dissolves looks mushy, and every overlap adds frames to render.
  const blendLimit = Math.max(blendCount(beats), Math.ceil((beats.length - 1) / 2));
  for (const [i, b] of beats.entries()) {
    const def = BEATS[b.beat];
    b.target *= 1 + CREATIVITY.timingJitter * c * rng.signed();
    if (rng.chance(CREATIVITY.camera * c)) b.camera = pickOther(rng, def.cameras, b.camera);
    if (rng.chance(CREATIVITY.transition * c) && i < beats.length - 1) {
      const next = pickOther(rng, def.transitions, b.transition);
      if (next === "cut" || b.transition !== "cut" || blendCount(beats) < blendLimit) b.transition = next;
    }
    if (rng.chance(CREATIVITY.action * c)) b.action = Math.floor(rng.float() * def.actions.length);
  }
  const style = rng.chance(CREATIVITY.look * c) ? rng.pick(archetype.looks.slice(1)) : archetype.looks[0]!;
  const tempo = Math.round(archetype.music.tempo_bpm + CREATIVITY.tempoBpm * c * rng.signed());

  const facts = reading.facts;
  const phrases = readBriefPhrases(request.prompt, facts.brand);
  const finish = finishOptions(request, writeCopy(facts, reading.productCategory, archetypeId, phrases));
  const { spec, events: composeEvents } = composeSpec({
    archetype: archetypeId,
    title: titleFor(facts, archetype),
    duration_s: request.duration_s,
    aspect_ratio: request.aspect_ratio,
    creativity_level: c,
    seed,
    pacing: archetype.pacing,
    style,
    facts,
    music: musicBrief(archetype, tempo, request.duration_s),
    planner: "local",
    clip: request.clip,
    beats: beats.map((b) => draftBeat(b, facts, beats, finish.copy, phrases)),
    ...finish,
  });
  return { spec, events: [...events, ...composeEvents] };
}

/** Substitute, reorder and add beats; returns a description of each change. */
function varyStructure(beats: WorkingBeat[], archetype: Archetype, rng: PlanRandom, c: number, maxBeats: number): string[] {
  const changes: string[] = [];
  const present = () => new Set(beats.map((b) => b.beat));
  for (let i = 1; i < beats.length - 1; i++) {
    const current = beats[i]!;
    if (!rng.chance(CREATIVITY.substitute * c) || archetype.signature.includes(current.beat)) continue;
    const options = substitutesFor(current.beat).filter((id) => !present().has(id));
    if (options.length === 0) continue;
    const next = rng.pick(options);
    changes.push(`beat ${i}: ${current.beat} → ${next}`);
    beats[i] = { beat: next, target: current.target, camera: BEATS[next].cameras[0]!, transition: BEATS[next].transitions[0]!, action: 0 };
  }
  if (rng.chance(CREATIVITY.reorder * c)) {
    const pairs: number[] = [];
    for (let i = 1; i + 1 < beats.length - 1; i++) {
      const a = beats[i]!.beat;
      const b = beats[i + 1]!.beat;
      // Only body and closing beats are interchangeable; setup → turn order carries the story.
      if (a !== b && BEATS[a].act === BEATS[b].act && (BEATS[a].act === "body" || BEATS[a].act === "close")) pairs.push(i);
    }
    if (pairs.length > 0) {
      const i = rng.pick(pairs);
      changes.push(`swapped ${beats[i]!.beat} and ${beats[i + 1]!.beat}`);
      [beats[i], beats[i + 1]] = [beats[i + 1]!, beats[i]!];
    }
  }
  for (const p of [CREATIVITY.add * c, (CREATIVITY.add / 2) * c]) {
    if (!rng.chance(p) || beats.length >= maxBeats) continue;
    const options = BEAT_IDS.filter((id) => BEATS[id].act === "body" && !present().has(id));
    if (options.length === 0) continue;
    const added = rng.pick(options);
    // Insert among the body: after the opening/setup/turn beats, before the closing ones.
    const firstBody = Math.max(1, beats.findIndex((b) => BEATS[b.beat].act === "body" || BEATS[b.beat].act === "close"));
    const firstClose = beats.findIndex((b, i) => i > 0 && BEATS[b.beat].act === "close");
    const lastSlot = firstClose > 0 ? firstClose : beats.length - 1;
    const at = Math.min(lastSlot, firstBody + Math.floor(rng.float() * (lastSlot - firstBody + 1)));
    const def = BEATS[added];
    beats.splice(at, 0, { beat: added, target: def.defaultFrames, camera: def.cameras[0]!, transition: def.transitions[0]!, action: 0 });
    changes.push(`added ${added} at beat ${at}`);
  }
  return changes;
}

function blendCount(beats: readonly WorkingBeat[]): number {
  return beats.slice(0, -1).filter((b) => b.transition !== "cut").length;
}

function pickOther<T>(rng: PlanRandom, options: readonly T[], current: T): T {
  const others = options.filter((o) => o !== current);
  return others.length > 0 ? rng.pick(others) : current;
}

function draftBeat(b: WorkingBeat, facts: SpecFacts, all: readonly WorkingBeat[], copy: DraftCopy, phrases: BriefPhrases): DraftBeat {
  const def = BEATS[b.beat];
  const occurrence = all.filter((x) => x.beat === b.beat).indexOf(b);
  return {
    beat_id: b.beat,
    name: occurrence > 0 ? `${def.name} ${occurrence + 1}` : def.name,
    purpose: def.purpose,
    prompt: fillTemplate(def.template, {
      product: facts.product,
      character: facts.character,
      setting: facts.setting,
      action: def.actions[b.action % def.actions.length]!,
      brand: facts.brand ?? facts.product,
    }),
    camera: b.camera,
    mood: def.mood,
    transition: b.transition,
    target: b.target,
    voice: voiceLines(b.beat, copy, facts, phrases),
  };
}

export function titleFor(facts: SpecFacts, archetype: Archetype): string {
  const subject = facts.brand ?? facts.product;
  const name = subject.charAt(0).toUpperCase() + subject.slice(1);
  return sanitiseSlot(`${name}: ${archetype.name} ad`, 120);
}

export function musicBrief(archetype: Archetype, tempo: number, duration: number): MusicBrief {
  const tempo_bpm = Math.min(200, Math.max(50, tempo));
  const { mood, genre, arc, energy_curve } = archetype.music;
  const prompt = `${genre}, ${mood}, ${arc}, ${tempo_bpm} BPM, instrumental, no vocals, ${duration} seconds`;
  return { mood, tempo_bpm, energy_curve: [...energy_curve], prompt: sanitiseSlot(prompt, 400) };
}
