import { COPY_FORBIDDEN, type ArchetypeId, type CaptionsMode, type SpecFacts } from "../../contracts/spec.ts";
import type { BeatId } from "./beats.ts";
import type { PlanRequest } from "./request.ts";

/**
 * The local copywriter: headline, offer, call to action and a voice line per beat, written
 * from the brief's facts without a language model. Phrases the brief itself contains win
 * ("Pre-order now", "20% off your first box", "…, the app that tracks every expense"); the
 * rest comes from short templates per archetype, category and beat. Every value is cleaned
 * for the renderers (`sanitiseCopy`) and capped to the AdCopy limits.
 */

/** Limits of the AdCopy schema (contracts/spec.ts). */
export const COPY_LIMITS = { brand: 40, headline: 60, offer: 60, cta: 40, line: 200 } as const;

/**
 * Text fit for the screen and the voice: control and markup characters removed (quotes and
 * apostrophes kept, unlike prompt slots: "Luigi's" must read as written), whitespace folded,
 * capped at a word boundary.
 */
export function sanitiseCopy(value: string, maxChars: number): string {
  const cleaned = value
    .normalize("NFKC")
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .split("")
    .map((char) => (COPY_FORBIDDEN.test(char) ? " " : char))
    .join("")
    .replace(/\s+/g, " ")
    .trim();
  if (cleaned.length <= maxChars) return cleaned;
  const cut = cleaned.slice(0, maxChars + 1);
  const space = cut.lastIndexOf(" ");
  return (space > maxChars / 2 ? cut.slice(0, space) : cleaned.slice(0, maxChars)).replace(/[\s,;:-]+$/, "");
}

export interface DraftCopy {
  brand: string;
  headline: string;
  offer: string | null;
  cta: string;
}

/** What the brief says in so many words, when it does. */
export interface BriefPhrases {
  /** "Tired of juggling receipts?": an opening question of at most 8 words. */
  question: string | null;
  /** "tracks every expense for you": what the product does, from "… that/which …". */
  claim: string | null;
  offer: string | null;
  cta: string | null;
}

const MONTH = "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const DAY = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|this (?:week|weekend|fall|autumn|spring|summer|winter))";

/** Deals and dates a brief may state, in the order they are looked for; group 1 is the offer. */
const OFFERS: RegExp[] = [
  /\b(\d{1,3}\s?% off\b[^.!?;:,]*)/i,
  /\b((?:save|get) (?:up to )?[$€£]?\d[\d.,]*\s?%?(?: off)?[^.!?;:,]*)/i,
  /\b((?:your )?(?:first|1st) (?:month|week|box|order|class|lesson)s? (?:is )?free\b)/i,
  /\b(free (?:shipping|delivery|returns|trial|consultation|first (?:month|week|box|class|lesson))[^.!?;:,]*)/i,
  /\b(buy one,? get one(?: free)?)/i,
  new RegExp(`\\b((?:launch(?:es|ing)?|available|drops|arrives|opens|out) (?:on )?(?:${MONTH} \\d{1,2}(?:st|nd|rd|th)?|${DAY}))\\b`, "i"),
  /\b(limited (?:release|edition|time only))\b/i,
];

/** Calls to action a brief may already contain; group 1 is the call. */
const CTAS: RegExp[] = [
  /\b((?:pre-?order|order|shop|buy|book|reserve|download|subscribe|register|enroll|donate|join|apply) (?:now|today|online|yours|it|the app|your (?:table|trip|stay|spot|seat|copy|pair|box)))\b/i,
  /\b(sign up(?: (?:now|today|free|for free))?)\b/i,
  /\b(start (?:your|a) free trial)\b/i,
  /\b(get started(?: today| now)?)\b/i,
  /\b(visit (?:us|[A-Z][\w'-]*(?: [A-Z][\w'-]*)?) (?:today|now|this weekend))\b/,
];

/** Verbs that start a claim after the brand name ("FlowDesk automates reporting …"). */
const CLAIM_VERBS = "automates|gives|builds|tracks|makes|helps|brings|keeps|turns|lets|delivers|adapts|cuts|saves|finds|plans|protects|covers";

function sentenceCase(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function words(text: string): number {
  return text.trim().split(/\s+/).filter(Boolean).length;
}

export function readBriefPhrases(prompt: string, brand: string | undefined): BriefPhrases {
  const question = /^\s*([^.!?]{3,80}\?)/.exec(prompt)?.[1] ?? null;
  let claim = /\b(?:that|which)\s+([^.!?;:,]{6,80})/i.exec(prompt)?.[1] ?? null;
  if (!claim && brand) {
    const escaped = brand.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    claim = new RegExp(`${escaped}(?:'s)?(?: [a-z-]+){0,2}? ((?:${CLAIM_VERBS})\\b[^.!?;:,]{3,70})`, "i").exec(prompt)?.[1] ?? null;
  }
  const offer = OFFERS.map((re) => re.exec(prompt)?.[1]).find(Boolean) ?? null;
  const cta = CTAS.map((re) => re.exec(prompt)?.[1]).find(Boolean) ?? null;
  const clean = (text: string | null, max: number, maxWords: number) => {
    if (!text) return null;
    const value = sanitiseCopy(text, max);
    return value && words(value) <= maxWords ? value : null;
  };
  return {
    question: clean(question, COPY_LIMITS.line, 8),
    claim: clean(claim, COPY_LIMITS.headline, 8),
    offer: clean(offer ? sentenceCase(offer) : null, COPY_LIMITS.offer, 8),
    cta: clean(cta ? sentenceCase(cta.toLowerCase()) : null, COPY_LIMITS.cta, 6),
  };
}

/** What to tell the viewer to do when the brief does not say, by the brief's category. */
const CATEGORY_CTAS: Record<string, string> = {
  app: "Download {brand} today",
  saas: "Try {brand} today",
  food: "Book your table today",
  coffee: "Visit {brand} today",
  bakery: "Visit {brand} today",
  fashion: "Shop the collection",
  fitness: "Start training today",
  travel: "Book your escape",
  skincare: "Shop {brand} now",
  car: "Book a test drive",
  game: "Pre-order {brand} now",
  bank: "Open your account today",
  real_estate: "Find your home today",
  pet: "Try {brand} today",
  education: "Enroll today",
  audio: "Shop {brand} now",
  footwear: "Shop {brand} now",
  insurance: "Get your quote today",
  charity: "Donate today",
  tech: "Get yours today",
  drink: "Grab one today",
};

const ARCHETYPE_HEADLINES: Record<ArchetypeId, string> = {
  problem_solution: "There is a better way",
  product_showcase: "Meet {brand}",
  lifestyle_story: "Made for moments like these",
  testimonial: "Real people. Real results.",
  launch_announcement: "Introducing {brand}",
};

/** How the words name the advertised thing: the brand, else "the <product>". */
function nameOf(facts: SpecFacts): string {
  if (facts.brand) return facts.brand;
  return /^(a|an|the) /i.test(facts.product) ? facts.product.replace(/^(a|an) /i, "the ") : `the ${facts.product}`;
}

function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => slots[name] ?? "");
}

/** Headline, offer and call to action for a brief (the overrides are applied by the caller). */
export function writeCopy(facts: SpecFacts, category: string | null, archetype: ArchetypeId, phrases: BriefPhrases): DraftCopy {
  const brand = sanitiseCopy(facts.brand ?? sentenceCase(facts.product), COPY_LIMITS.brand) || "Our brand";
  const claim = phrases.claim && words(phrases.claim) <= 7 ? sentenceCase(phrases.claim) : null;
  const headline = archetype === "launch_announcement" || !claim ? sentenceCase(fill(ARCHETYPE_HEADLINES[archetype], { brand: nameOf(facts) })) : claim;
  let cta = phrases.cta ?? sentenceCase(fill(CATEGORY_CTAS[category ?? ""] ?? "Discover {brand} today", { brand: nameOf(facts) }));
  // A long brand name would crowd the button: the category's words without it read as well.
  if (cta.length > 28) cta = "Find out more today";
  return {
    brand,
    headline: sanitiseCopy(headline, COPY_LIMITS.headline),
    offer: phrases.offer,
    cta: sanitiseCopy(cta, COPY_LIMITS.cta),
  };
}

/**
 * Voice line templates per beat, longest first: the planner takes the first one that fits the
 * beat's word budget and whose slots are all known (`{question}`, `{claim}`, `{offer}` only
 * exist when the brief has them). A beat with no fitting line stays silent.
 */
const LINES: Record<BeatId, readonly string[]> = {
  hook: ["{question}", "Look closer.", "Watch this."],
  problem: ["{question} There has to be a better way.", "{question}", "There has to be a better way.", "Sound familiar?"],
  agitation: ["And it only gets harder from here.", "It only gets worse."],
  solution_reveal: ["Meet {brand}, the {product} that {claim}.", "Meet {brand}, the {product}.", "Meet {brand}."],
  product_hero: ["This is {brand}. It {claim}.", "This is {brand}, the {product}.", "This is {brand}."],
  feature_demo: ["{Claim}, in a single move.", "{Claim}.", "See it in action."],
  how_it_works: ["Set it up in seconds, and you are done.", "Simple from the start."],
  social_proof: ["People everywhere already love {brand}.", "Loved everywhere."],
  testimonial: ["Honestly, {brand} changed everything for me.", "It changed everything."],
  lifestyle_moment: ["Made for moments like these.", "Moments like these."],
  transformation: ["See the difference {brand} makes.", "See the difference."],
  behind_the_scenes: ["Made with care, every single time.", "Made with care."],
  offer: ["{Offer}. Do not miss it.", "{Offer}."],
  brand_moment: ["Only from {brand}.", "{brand}."],
  call_to_action: ["{Cta}.", "{brand}."],
};

/** Candidate voice lines for one beat, in order of preference. */
export function voiceLines(beat: BeatId, copy: DraftCopy, facts: SpecFacts, phrases: BriefPhrases): string[] {
  const product = facts.product.replace(/^(a|an|the) /i, "");
  const slots: Record<string, string | null> = {
    brand: nameOf(facts),
    // "Meet FlowDesk, the FlowDesk": no apposition when the product is only known by its name.
    product: facts.brand && product.toLowerCase() !== facts.brand.toLowerCase() && product !== "product" ? product : null,
    question: phrases.question,
    claim: phrases.claim?.replace(/[.!]+$/, "") ?? null,
    Claim: phrases.claim ? sentenceCase(phrases.claim.replace(/[.!]+$/, "")) : null,
    offer: copy.offer,
    Offer: copy.offer ? sentenceCase(copy.offer.replace(/[.!]+$/, "")) : null,
    Cta: sentenceCase(copy.cta.replace(/[.!]+$/, "")),
  };
  const lines: string[] = [];
  for (const template of LINES[beat]) {
    const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    if (names.some((name) => !slots[name])) continue;
    const filled = fill(template, slots as Record<string, string>).replace(/\?\./g, "?").replace(/\.\./g, ".");
    const line = sanitiseCopy(filled.replace(/(^|[.!?] )(\p{Ll})/gu, (_, before: string, letter: string) => before + letter.toUpperCase()), COPY_LIMITS.line);
    if (line && !lines.includes(line)) lines.push(line);
  }
  return lines;
}

/** A line and its shorter forms (its first sentences), for a line written elsewhere (the language model). */
export function shorterForms(line: string): string[] {
  const cleaned = sanitiseCopy(line, COPY_LIMITS.line);
  if (!cleaned) return [];
  const sentences = cleaned.match(/[^.!?]+[.!?]+|[^.!?]+$/g)?.map((s) => s.trim()) ?? [cleaned];
  const forms = [cleaned];
  for (let n = sentences.length - 1; n >= 1; n--) forms.push(sentences.slice(0, n).join(" "));
  return forms;
}

/** How the ad is finished: its copy, its voice and its captions. */
export interface FinishOptions {
  copy: DraftCopy;
  voiceover: { enabled: boolean; voice: string | null };
  captions: CaptionsMode;
}

/** The request's finishing choices, with their defaults (see GenerateRequest). */
export function finishOptions(request: Pick<PlanRequest, "copy" | "voiceover" | "captions">, copy: DraftCopy): FinishOptions {
  const enabled = request.voiceover?.enabled ?? true;
  return {
    copy: { ...copy, headline: request.copy?.headline ?? copy.headline, cta: request.copy?.cta ?? copy.cta },
    voiceover: { enabled, voice: request.voiceover?.voice ?? null },
    captions: enabled ? (request.captions ?? "burned") : "none",
  };
}
