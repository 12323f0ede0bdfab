import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { z } from "zod";
import { CameraMove, TransitionType, voiceWordBudget, type VideoSpec } from "../../contracts/spec.ts";
import { ARCHETYPES } from "./archetypes.ts";
import { BEATS, BEAT_IDS } from "./beats.ts";
import { composeSpec, type DraftBeat } from "./compose.ts";
import { COPY_LIMITS, finishOptions, sanitiseCopy, shorterForms } from "./copy.ts";
import { MAX_BEATS, planLocally } from "./local.ts";
import { BEAT_PROMPT_MAX_WORDS, limitWords, sanitiseSlot } from "./prompts.ts";
import { PlanRequest, type PlanEvent, type PlanRequestInput, type PlanResult, type PlanUsage, type Planner } from "./request.ts";
import { planSeed } from "./seed.ts";

/**
 * The OpenAI planner. The language model writes the creative part only — which library
 * beats, their names, prompts, cameras, transitions, the look and the music — through a
 * strict JSON schema; the local code then times every beat so the frames always add up.
 * A reply that is not JSON, breaks the schema or is incoherent gets one repair round with
 * the errors fed back; after that, or on an API error or timeout, the local planner's
 * spec is used and the reason is recorded in the events.
 */

export const CreativeBeat = z.object({
  beat_id: z.enum(BEAT_IDS),
  name: z.string(),
  prompt: z.string(),
  camera: CameraMove,
  mood: z.string(),
  transition_out: TransitionType,
  /** The voiceover over this beat; empty for silence. */
  voice_line: z.string(),
});

/** What the model returns. Every field is required, as strict structured outputs demand. */
export const CreativePlan = z.object({
  title: z.string(),
  style: z.string(),
  facts: z.object({
    product: z.string(),
    character: z.string(),
    setting: z.string(),
    brand: z.string(),
    audience: z.string(),
    keywords: z.array(z.string()).max(12),
  }),
  beats: z.array(CreativeBeat).min(1).max(24),
  music: z.object({ mood: z.string(), tempo_bpm: z.number().int().min(50).max(200), prompt: z.string() }),
  /** `offer` is empty when the brief states none. */
  copy: z.object({ headline: z.string(), offer: z.string(), cta: z.string() }),
});
export type CreativePlan = z.infer<typeof CreativePlan>;

/** JSON schema sent as the response format (draft 2020-12 without the `$schema` marker). */
export function creativeJsonSchema(): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(CreativePlan) as Record<string, unknown>;
  return schema;
}

export interface OpenAIPlannerOptions {
  apiKey: string;
  /** Default gpt-4.1-mini. */
  model?: string;
  baseURL?: string;
  /** Injected for tests and for Workers' service bindings. */
  fetch?: typeof fetch;
  /** Budget for the whole plan, repair round included (default 30 s). */
  timeoutMs?: number;
  /** HTTP retries inside the SDK for 408/429/5xx and dropped connections (default 1). */
  maxRetries?: number;
  /** Reasoning models refuse a temperature; set false for them. */
  sendTemperature?: boolean;
}

type Reading = { ok: true; plan: CreativePlan } | { ok: false; errors: string[] };

export class OpenAIPlanner implements Planner {
  private readonly model: string;
  private readonly timeoutMs: number;
  private readonly options: OpenAIPlannerOptions;

  constructor(options: OpenAIPlannerOptions) {
    this.options = options;
    if (!options.apiKey) throw new Error("the openai planner needs an API key");
    this.model = options.model ?? "gpt-4.1-mini";
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async plan(input: PlanRequestInput): Promise<PlanResult> {
    const request = PlanRequest.parse(input);
    const events: PlanEvent[] = [];
    const usage: PlanUsage = { input_tokens: 0, output_tokens: 0 };
    // The template the model starts from: the archetype exactly as written (creativity 0).
    const template = planLocally({ ...request, creativity_level: 0 }).spec;
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const baseFetch = this.options.fetch ?? ((url: RequestInfo | URL, init?: RequestInit) => fetch(url, init));
    const client = new OpenAI({
      apiKey: this.options.apiKey,
      baseURL: this.options.baseURL,
      maxRetries: this.options.maxRetries ?? 1,
      timeout: this.timeoutMs,
      fetch: async (url: RequestInfo | URL, init?: RequestInit) => {
        const response = await baseFetch(url, init);
        if (!response.ok) events.push({ type: "openai_http_error", message: `HTTP ${response.status} from the chat completions API` });
        return response;
      },
    });
    const messages: ChatCompletionMessageParam[] = [
      { role: "system", content: systemPrompt(template, request.creativity_level) },
      { role: "user", content: userMessage(request, template) },
    ];

    let reason: string;
    try {
      for (let attempt = 1; ; attempt++) {
        const completion = await client.chat.completions.create(
          {
            model: this.model,
            messages,
            response_format: { type: "json_schema", json_schema: { name: "ad_plan", strict: true, schema: creativeJsonSchema() } },
            ...(this.options.sendTemperature === false ? {} : { temperature: Math.round((0.2 + 0.8 * request.creativity_level) * 100) / 100 }),
            seed: planSeed(request),
          },
          { signal: deadline },
        );
        usage.input_tokens += completion.usage?.prompt_tokens ?? 0;
        usage.output_tokens += completion.usage?.completion_tokens ?? 0;
        const message = completion.choices[0]?.message;
        if (message?.refusal) {
          reason = `the model refused: ${sanitiseSlot(message.refusal, 300)}`;
          break;
        }
        const reading = readCreativePlan(message?.content ?? null, template, request.creativity_level);
        if (reading.ok) {
          const built = buildSpec(reading.plan, template, request);
          events.push({ type: "openai_plan", message: `planned by ${this.model} in ${attempt} attempt${attempt > 1 ? "s" : ""}` });
          return { spec: built.spec, events: [...events, ...built.events], usage };
        }
        const errors = reading.errors.slice(0, 12).join("; ");
        if (attempt >= 2) {
          reason = `the reply was still unusable after a repair: ${errors}`;
          break;
        }
        events.push({ type: "openai_repair", message: `asked for a repair: ${errors}` });
        messages.push(
          { role: "assistant", content: message?.content ?? "" },
          { role: "user", content: `That reply cannot be used: ${errors}. Reply again with the complete corrected JSON object only.` },
        );
      }
    } catch (error) {
      reason = deadline.aborted
        ? `timed out after ${this.timeoutMs} ms`
        : error instanceof OpenAI.APIError
          ? `OpenAI API error${error.status ? ` ${error.status}` : ""}: ${sanitiseSlot(error.message, 300)}`
          : `planning failed: ${sanitiseSlot(error instanceof Error ? error.message : String(error), 300)}`;
    }
    const local = planLocally(request);
    return {
      spec: local.spec,
      events: [...events, { type: "openai_fallback", message: `used the local planner: ${reason}` }, ...local.events],
      ...(usage.input_tokens + usage.output_tokens > 0 ? { usage } : {}),
    };
  }
}

/** Parses and checks a reply; errors are phrased for the model to fix. */
export function readCreativePlan(content: string | null, template: VideoSpec, creativity: number): Reading {
  if (!content) return { ok: false, errors: ["the reply was empty"] };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    return { ok: false, errors: [`the reply is not valid JSON (${error instanceof Error ? error.message : "parse error"})`] };
  }
  const parsed = CreativePlan.safeParse(json);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((issue) => `${issue.path.join(".") || "reply"}: ${issue.message}`) };
  }
  const errors = coherenceErrors(parsed.data, template, creativity);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, plan: parsed.data };
}

/** Beats the model may add beyond the template, by creativity. */
export function extraBeatsAllowed(creativity: number): number {
  return creativity === 0 ? 0 : creativity < 0.5 ? 1 : 2;
}

function coherenceErrors(plan: CreativePlan, template: VideoSpec, creativity: number): string[] {
  const errors: string[] = [];
  const expected = template.beats.length;
  const most = Math.min(MAX_BEATS[template.duration_s], expected + extraBeatsAllowed(creativity));
  const ids = plan.beats.map((b) => b.beat_id as string);
  if (ids.length < expected || ids.length > most) {
    errors.push(most === expected ? `expected exactly ${expected} beats, got ${ids.length}` : `expected ${expected} to ${most} beats, got ${ids.length}`);
  }
  const unknown = ids.filter((id) => !(BEAT_IDS as readonly string[]).includes(id));
  if (unknown.length > 0) errors.push(`unknown beat ids: ${unknown.join(", ")}`);
  if (ids[0] !== "hook") errors.push(`the first beat must be hook, got ${ids[0] ?? "none"}`);
  if (ids[ids.length - 1] !== "call_to_action") errors.push(`the last beat must be call_to_action, got ${ids[ids.length - 1] ?? "none"}`);
  if (creativity === 0 && ids.join(",") !== template.beats.map((b) => b.beat_id).join(",")) {
    errors.push(`at creativity 0 the beats must be exactly: ${template.beats.map((b) => b.beat_id).join(", ")}`);
  }
  plan.beats.forEach((beat, i) => {
    if (sanitiseSlot(beat.prompt, 700) === "") errors.push(`beats.${i}.prompt is empty`);
  });
  return errors;
}

function buildSpec(plan: CreativePlan, template: VideoSpec, request: PlanRequest): { spec: VideoSpec; events: PlanEvent[] } {
  const exact = request.creativity_level === 0;
  const beats = plan.beats.map<DraftBeat>((beat, i) => {
    const def = BEATS[beat.beat_id];
    const same = template.beats[i]?.beat_id === beat.beat_id ? template.beats[i] : undefined;
    const elsewhere = template.beats.find((b) => b.beat_id === beat.beat_id);
    return {
      beat_id: beat.beat_id,
      name: sanitiseSlot(beat.name, 80) || def.name,
      purpose: def.purpose,
      prompt: limitWords(sanitiseSlot(beat.prompt, 700), BEAT_PROMPT_MAX_WORDS),
      // At creativity 0 the template decides cameras and transitions; the model only writes.
      camera: exact && same ? same.camera : beat.camera,
      mood: sanitiseSlot(beat.mood, 60) || def.mood,
      transition: exact && same ? same.transition_out.type : beat.transition_out,
      target: (same ?? elsewhere)?.frames ?? def.defaultFrames,
      voice: shorterForms(beat.voice_line),
    };
  });
  // Same rule as the local planner: no more blends than the template or half the joins,
  // since each overlap is extra video to render and pay for.
  const events: PlanEvent[] = [];
  const blends = (list: readonly { transition: string }[]) => list.slice(0, -1).filter((b) => b.transition !== "cut").length;
  const limit = Math.max(template.beats.slice(0, -1).filter((b) => b.transition_out.type !== "cut").length, Math.ceil((beats.length - 1) / 2));
  for (let i = beats.length - 2; i >= 0 && blends(beats) > limit; i--) {
    if (beats[i]!.transition === "cut" || beats[i]!.transition === "fade" || beats[i]!.transition === "dissolve") continue;
    events.push({ type: "transition_limited", message: `beat ${i} (${beats[i]!.beat_id}): ${beats[i]!.transition} became a cut` });
    beats[i]!.transition = "cut";
  }
  for (let i = beats.length - 2; i >= 0 && blends(beats) > limit; i--) {
    if (beats[i]!.transition === "cut") continue;
    events.push({ type: "transition_limited", message: `beat ${i} (${beats[i]!.beat_id}): ${beats[i]!.transition} became a cut` });
    beats[i]!.transition = "cut";
  }
  const facts = {
    product: sanitiseSlot(plan.facts.product, 60) || template.facts.product,
    character: sanitiseSlot(plan.facts.character, 60) || template.facts.character,
    setting: sanitiseSlot(plan.facts.setting, 60) || template.facts.setting,
    keywords: plan.facts.keywords.map((k) => sanitiseSlot(k, 40)).filter(Boolean).slice(0, 12),
  } as VideoSpec["facts"];
  const brand = sanitiseSlot(plan.facts.brand, 40);
  const audience = sanitiseSlot(plan.facts.audience, 60);
  if (brand) facts.brand = brand;
  if (audience) facts.audience = audience;
  if (facts.keywords.length === 0) facts.keywords = template.facts.keywords;
  const finish = finishOptions(request, {
    brand: sanitiseCopy(plan.facts.brand, COPY_LIMITS.brand) || template.copy.brand,
    headline: sanitiseCopy(plan.copy.headline, COPY_LIMITS.headline) || template.copy.headline,
    offer: sanitiseCopy(plan.copy.offer, COPY_LIMITS.offer) || null,
    cta: sanitiseCopy(plan.copy.cta, COPY_LIMITS.cta) || template.copy.cta,
  });
  // A call to action the user wrote is also the one spoken.
  if (request.copy?.cta) {
    const last = beats[beats.length - 1]!;
    last.voice = [`${finish.copy.cta.replace(/[.!]+$/, "")}.`, ...last.voice];
  }
  const archetype = ARCHETYPES[template.archetype];
  const composed = composeSpec({
    archetype: template.archetype,
    title: sanitiseSlot(plan.title, 120) || template.title,
    duration_s: request.duration_s,
    aspect_ratio: request.aspect_ratio,
    creativity_level: request.creativity_level,
    seed: planSeed(request),
    pacing: archetype.pacing,
    style: sanitiseSlot(plan.style, 200) || template.style,
    facts,
    music: {
      mood: sanitiseSlot(plan.music.mood, 60) || template.music.mood,
      tempo_bpm: Math.min(200, Math.max(50, Math.round(plan.music.tempo_bpm))),
      energy_curve: template.music.energy_curve,
      prompt: sanitiseSlot(plan.music.prompt, 400) || template.music.prompt,
    },
    planner: "openai",
    clip: request.clip,
    beats,
    ...finish,
  });
  return { spec: composed.spec, events: [...events, ...composed.events] };
}

const FREEDOM: [number, string][] = [
  [0, "Creativity 0: keep the template's beats, order, cameras and transitions exactly; write clear, literal prompts."],
  [0.34, "Low creativity: keep the template's structure; you may swap one middle beat for a library beat with a similar purpose and add at most one beat; write concrete prompts."],
  [0.67, "Medium creativity: you may substitute, reorder or add middle beats (at most two more than the template), vary cameras and transitions, and write vivid prompts."],
  [1.01, "High creativity: treat the template as a starting point; substitute, reorder and add middle beats (at most two more), make bold camera and transition choices, and write imaginative, cinematic prompts."],
];

function systemPrompt(template: VideoSpec, creativity: number): string {
  const library = BEAT_IDS.map((id) => `- ${id}: ${BEATS[id].purpose}`).join("\n");
  const freedom = creativity === 0 ? FREEDOM[0]![1] : FREEDOM.find(([limit]) => creativity < limit)![1];
  const most = Math.min(MAX_BEATS[template.duration_s], template.beats.length + extraBeatsAllowed(creativity));
  return [
    "You plan short video ads as a sequence of beats (shots) and reply with one JSON object matching the schema.",
    `Beat library (use only these ids):\n${library}`,
    "Rules:",
    `- ${most === template.beats.length ? `Exactly ${most}` : `Between ${template.beats.length} and ${most}`} beats; the first is hook, the last is call_to_action.`,
    `- Each prompt describes one visual shot in at most ${BEAT_PROMPT_MAX_WORDS - 5} words: subject, action, setting, light. No on-screen text, captions or logos as text. Do not repeat the brief verbatim.`,
    "- The last beat's transition_out is cut. Durations are set by the system; do not mention seconds.",
    "- facts: product, character, setting, brand and audience as short noun phrases from the brief (brand and audience may be empty strings); up to 12 keywords.",
    "- music: mood, tempo_bpm and a short instrumental music prompt that fits the ad.",
    "- copy: a headline of at most 6 words shown on screen; offer: a deal or date only if the brief states one, else an empty string (never invent one); cta: what the viewer should do, an imperative of at most 5 words.",
    "- voice_line: the voiceover spoken over that beat, at most the beat's voice_words words (beats you add: 2.5 words a second of the beat), or an empty string for a silent beat. The last beat speaks the call to action. Plain words only, no stage directions.",
    `- ${freedom}`,
  ].join("\n");
}

/** The brief travels JSON-encoded, as data, never spliced into the instructions. */
function userMessage(request: PlanRequest, template: VideoSpec): string {
  const archetype = ARCHETYPES[template.archetype];
  return JSON.stringify({
    brief: request.prompt,
    duration_s: request.duration_s,
    aspect_ratio: request.aspect_ratio,
    creativity_level: request.creativity_level,
    archetype: { id: archetype.id, name: archetype.name, description: archetype.description },
    template: template.beats.map((b) => ({ beat_id: b.beat_id, purpose: b.purpose, seconds: b.frames / 24, voice_words: voiceWordBudget(b.frames), camera: b.camera, transition_out: b.transition_out.type })),
    hints: { facts: template.facts, look: template.style, music: template.music.prompt, copy: { headline: template.copy.headline, offer: template.copy.offer ?? "", cta: template.copy.cta } },
  });
}
