import { ArchetypeId, type SpecFacts } from "../../contracts/spec.ts";
import { ARCHETYPES } from "./archetypes.ts";
import { sanitiseSlot } from "./prompts.ts";

/**
 * Reading the brief (the user's prompt) without a language model: which archetype fits,
 * and the slot values — product, character, setting, brand, audience, keywords — that fill
 * the beat templates. Rules are lexical and weighted; every extracted value is sanitised.
 */

interface Category {
  id: string;
  /** Nouns that name the thing being advertised. */
  products: string[];
  /** Context words that point to the category without naming the product. */
  cues: string[];
  character: string;
  setting: string;
  /** Archetype weights this category adds (a restaurant leans lifestyle, a SaaS tool leans problem/solution). */
  prior: Partial<Record<ArchetypeId, number>>;
}

const CATEGORIES: Category[] = [
  { id: "app", products: ["app", "apps", "mobile app", "application"], cues: ["ios", "android", "download", "phone"], character: "a busy young professional", setting: "a bright city apartment", prior: { problem_solution: 2 } },
  { id: "saas", products: ["software", "platform", "dashboard", "crm", "tool", "analytics"], cues: ["saas", "b2b", "workflow", "teams", "spreadsheets", "reporting", "cloud", "automates"], character: "a small team at work", setting: "a modern open-plan office", prior: { problem_solution: 2 } },
  { id: "food", products: ["pasta", "pizza", "burger", "burgers", "tacos", "sushi", "meal", "meals", "dish", "menu"], cues: ["restaurant", "trattoria", "diner", "chef", "dinner", "lunch", "food"], character: "a group of friends", setting: "a lively restaurant", prior: { lifestyle_story: 1, product_showcase: 1 } },
  { id: "coffee", products: ["coffee", "espresso", "latte", "cold brew", "cup"], cues: ["cafe", "café", "roasters", "roastery", "barista", "brewed", "beans"], character: "a barista", setting: "a cozy café", prior: { lifestyle_story: 2 } },
  { id: "bakery", products: ["sourdough", "bread", "croissants", "pastries", "cakes", "cake"], cues: ["bakery", "baker", "baked", "oven"], character: "a baker", setting: "a small neighborhood bakery", prior: { lifestyle_story: 2 } },
  { id: "fashion", products: ["jackets", "jacket", "dress", "dresses", "linen", "clothing", "apparel", "collection", "outfits", "handbag"], cues: ["fashion", "wear", "wardrobe", "atelier"], character: "a stylish young woman", setting: "a sunlit city street", prior: { product_showcase: 1, lifestyle_story: 1 } },
  { id: "fitness", products: ["coach", "workout plan", "wearable", "wearables", "protein", "membership"], cues: ["fitness", "gym", "workout", "training", "yoga", "motivated"], character: "a determined athlete", setting: "a modern gym", prior: { problem_solution: 1, lifestyle_story: 1 } },
  { id: "travel", products: ["trip", "trips", "vacation", "holiday", "flights", "tours", "hotel", "resort"], cues: ["travel", "coast", "destination", "getaway", "island"], character: "a young couple", setting: "a sunlit coastline", prior: { lifestyle_story: 2 } },
  { id: "skincare", products: ["serum", "moisturizer", "cream", "cleanser", "sunscreen", "skincare"], cues: ["skin", "glow", "beauty", "acne", "wrinkles"], character: "a woman with a natural glow", setting: "a bright bathroom", prior: { testimonial: 1, problem_solution: 1 } },
  { id: "car", products: ["sedan", "suv", "car", "truck", "electric vehicle", "coupe"], cues: ["range", "drive", "driving", "road", "horsepower"], character: "a confident driver", setting: "a winding coastal road", prior: { product_showcase: 2 } },
  { id: "game", products: ["game", "rpg", "shooter", "console", "expansion"], cues: ["gaming", "gamers", "players", "multiplayer", "open-world", "quest"], character: "a focused gamer", setting: "a neon-lit gaming room", prior: { launch_announcement: 1 } },
  { id: "bank", products: ["account", "credit card", "savings account", "loan", "mortgage", "banking"], cues: ["bank", "fees", "fintech", "budget", "money", "branch"], character: "a young professional", setting: "a bright modern apartment", prior: { problem_solution: 1, testimonial: 1 } },
  { id: "real_estate", products: ["home", "homes", "apartment", "apartments", "condo", "property", "house"], cues: ["realty", "realtor", "real estate", "move", "neighbors", "mortgage"], character: "a young family", setting: "a sunny suburban street", prior: { lifestyle_story: 1 } },
  { id: "pet", products: ["kibble", "pet food", "dog food", "cat food", "treats", "litter"], cues: ["dog", "dogs", "cat", "cats", "puppy", "pet", "pets", "pet parents"], character: "a happy dog and its owner", setting: "a cozy home kitchen", prior: { lifestyle_story: 1 } },
  { id: "education", products: ["course", "courses", "bootcamp", "degree", "classes", "tutoring", "program"], cues: ["learn", "students", "school", "university", "code", "graduates", "career"], character: "a motivated student", setting: "a bright study space", prior: { testimonial: 1, problem_solution: 1 } },
  { id: "audio", products: ["headphones", "earbuds", "speaker", "speakers", "soundbar"], cues: ["sound", "audio", "music", "noise"], character: "a music lover", setting: "a minimalist studio", prior: { product_showcase: 2 } },
  { id: "footwear", products: ["sneakers", "sneaker", "shoes", "shoe", "boots", "trainers", "runners"], cues: ["foam", "sole", "stride"], character: "a runner", setting: "a city street at dawn", prior: { product_showcase: 2 } },
  { id: "insurance", products: ["insurance", "policy", "coverage", "plan"], cues: ["insure", "claim", "claims", "floods", "accident", "covered"], character: "a homeowner", setting: "a family home", prior: { problem_solution: 2 } },
  { id: "charity", products: ["donation", "donations", "campaign", "fundraiser", "appeal"], cues: ["charity", "nonprofit", "non-profit", "donate", "volunteers", "villages", "cause"], character: "volunteers from the community", setting: "a small village", prior: { lifestyle_story: 1, testimonial: 1 } },
  { id: "tech", products: ["smartwatch", "watch", "phone", "smartphone", "laptop", "tablet", "camera", "lamp", "drone", "gadget", "device"], cues: ["battery", "screen", "smart"], character: "a young professional", setting: "a clean modern workspace", prior: { product_showcase: 2 } },
  { id: "drink", products: ["soda", "juice", "drink", "beer", "wine", "water", "tea", "kombucha"], cues: ["refreshing", "sip", "bottle"], character: "friends at a picnic", setting: "a sunny park", prior: { lifestyle_story: 1 } },
];

const PEOPLE = [
  "young couple", "couple", "family", "families", "friends", "mom", "dad", "parents", "pet parents", "kids", "students", "student",
  "graduates", "team", "teams", "chef", "baker", "bakers", "barista", "runner", "runners", "athlete", "gamer", "gamers", "driver",
  "traveler", "travelers", "woman", "man", "nurse", "founder", "founders", "entrepreneur", "retailers", "neighbors", "homeowner",
  "homeowners", "commuters", "professionals", "designers", "developers", "teachers", "farmers", "volunteers", "grandparents",
];

const SETTINGS = [
  "kitchen", "city", "street", "streets", "beach", "coast", "coastline", "mountains", "mountain", "office", "gym", "cafe", "café",
  "bakery", "home", "studio", "park", "road", "apartment", "classroom", "campus", "restaurant", "trattoria", "bar", "forest",
  "desert", "lake", "stadium", "track", "store", "shop", "village", "villages", "farm", "garden", "living room", "bedroom",
  "bathroom", "hotel", "pool", "arena", "downtown", "countryside", "trail", "highway", "counter", "warehouse", "lab", "suburbs",
];

const STOPWORDS = new Set(
  ("a an the and or but of for to in on at by with from into onto over under about as is are was were be been being it its this that these " +
    "those our your their my his her we you they them i me us who whom which what when where why how all any each every no not only own " +
    "so than too very can will just dont doesnt should now new has have had do does did get gets make makes up out off via per more most " +
    "one two three four five six seven eight nine ten first last next week weeks day days year years since until").split(" "),
);

/** Verbs that sit right before a product noun ("share fresh pasta") and must not become modifiers. */
const VERBS = new Set(
  ("share shares sharing gives give builds build tracks track brew brewed bake baked grew grow love loves enjoy enjoys try tries buy " +
    "get meet discover find order use uses using makes make taste tastes wear wears drive drives play plays launches launch introducing " +
    "announcing review reviews has have").split(" "),
);

/** Words that often start a sentence capitalised but are not names. */
const NOT_NAMES = new Set(
  ("introducing announcing meet discover find learn see hear real tired stop escape slow morning mornings banking worried the a an our " +
    "your this new sleek studio-grade behind summer get try say join make feel start why what how who when where here there every " +
    "friday monday tuesday wednesday thursday saturday sunday january february march april may june july august september october " +
    "november december coming launching now available ai tv usa uk eu diy faq").split(" "),
);

export interface Token {
  /** Lower-cased word. */
  word: string;
  /** As written. */
  raw: string;
  /** True if this token starts a sentence. */
  sentenceStart: boolean;
  /** Punctuation right after the token (`,` `.` `?` `!` `:` `;` `—`) or "". */
  after: string;
}

export function tokenise(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /([\p{L}\p{N}][\p{L}\p{N}'’.&-]*[\p{L}\p{N}]|[\p{L}\p{N}])|([.,!?;:—–()"])/gu;
  let sentenceStart = true;
  for (const m of text.matchAll(re)) {
    if (m[1]) {
      const raw = m[1].replace(/’/g, "'");
      tokens.push({ word: raw.toLowerCase(), raw, sentenceStart, after: "" });
      sentenceStart = false;
    } else if (m[2]) {
      const last = tokens[tokens.length - 1];
      if (last && last.after === "") last.after = m[2];
      if (/[.!?:—–]/.test(m[2])) sentenceStart = true;
    }
  }
  return tokens;
}

/** Finds a phrase ("no more", "struggl*") in the token list; returns the index of its first word or -1. */
function findPhrase(tokens: readonly Token[], phrase: string, from = 0): number {
  const parts = phrase.split(" ");
  outer: for (let i = from; i + parts.length <= tokens.length; i++) {
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k]!;
      const word = tokens[i + k]!.word.replace(/'s$/, "");
      const ok = part.endsWith("*") ? word.startsWith(part.slice(0, -1)) : word === part;
      if (!ok) continue outer;
      // A multi-word phrase must not straddle punctuation.
      if (k < parts.length - 1 && tokens[i + k]!.after !== "") continue outer;
    }
    return i;
  }
  return -1;
}

export interface ArchetypeInference {
  archetype: ArchetypeId;
  scores: Record<ArchetypeId, number>;
  category: string | null;
}

/** When scores tie, the archetype that asks least of the brief wins. */
const TIE_ORDER: ArchetypeId[] = ["product_showcase", "lifestyle_story", "problem_solution", "launch_announcement", "testimonial"];

export function inferArchetype(prompt: string): ArchetypeInference {
  const tokens = tokenise(prompt);
  const scores = Object.fromEntries(ArchetypeId.options.map((id) => [id, 0])) as Record<ArchetypeId, number>;
  for (const id of ArchetypeId.options) {
    for (const [cue, weight] of Object.entries(ARCHETYPES[id].cues)) {
      if (findPhrase(tokens, cue) >= 0) scores[id] += weight;
    }
  }
  const category = detectCategory(tokens);
  if (category) for (const [id, w] of Object.entries(category.category.prior)) scores[id as ArchetypeId] += w ?? 0;
  let best: ArchetypeId = TIE_ORDER[0]!;
  for (const id of TIE_ORDER) if (scores[id] > scores[best]) best = id;
  return { archetype: best, scores, category: category?.category.id ?? null };
}

/**
 * The advertised category: a product noun right after the brand name ("SafeHarbor
 * insurance") wins, else the first product noun outside the brand, else the category with
 * the most context cues.
 */
function detectCategory(tokens: readonly Token[], brand: ReadonlySet<number> = new Set()): { category: Category; productAt: number; productLength: number } | null {
  const brandEnd = brand.size > 0 ? Math.max(...brand) + 1 : -10;
  const rank = (at: number) => (at >= brandEnd && at - brandEnd <= 2 && !tokens.slice(brandEnd - 1, at).some((t) => t.after !== "") ? -1 : at);
  let found: { category: Category; productAt: number; productLength: number } | null = null;
  for (const category of CATEGORIES) {
    for (const product of category.products) {
      const length = product.split(" ").length;
      let at = findPhrase(tokens, product);
      while (at >= 0 && brand.has(at)) at = findPhrase(tokens, product, at + 1);
      if (at < 0) continue;
      if (!found || rank(at) < rank(found.productAt) || (at === found.productAt && length > found.productLength)) {
        found = { category, productAt: at, productLength: length };
      }
    }
  }
  if (found) return found;
  let best: Category | null = null;
  let bestHits = 0;
  for (const category of CATEGORIES) {
    const hits = category.cues.filter((cue) => findPhrase(tokens, cue) >= 0).length;
    if (hits > bestHits) { best = category; bestHits = hits; }
  }
  return best ? { category: best, productAt: -1, productLength: 0 } : null;
}

/** Up to `max` modifier words directly before index `at` (no stopwords, names or punctuation). */
function modifiersBefore(tokens: readonly Token[], at: number, max: number, exclude: Set<number>): number {
  let start = at;
  while (start > 0 && at - start < max) {
    const prev = tokens[start - 1]!;
    if (prev.after !== "" || STOPWORDS.has(prev.word) || VERBS.has(prev.word) || exclude.has(start - 1) || /^\d/.test(prev.word) || prev.word.endsWith("'s")) break;
    start--;
  }
  return start;
}

/** Words as written, minus possessives; a capitalised sentence opener is lower-cased. */
function phraseText(tokens: readonly Token[], from: number, to: number): string {
  return tokens
    .slice(from, to)
    .map((t) => (t.sentenceStart && !/^\p{Lu}{2,}/u.test(t.raw) ? t.word : t.raw).replace(/'s$/, ""))
    .join(" ");
}

const LEXICON = new Set([
  ...CATEGORIES.flatMap((c) => [...c.products, ...c.cues]),
  ...PEOPLE,
  ...SETTINGS,
].flatMap((phrase) => phrase.split(" ")));

/** Capitalised runs that look like a name; scored by where they sit in the sentence. */
function findBrand(tokens: readonly Token[]): { text: string; indexes: Set<number> } | null {
  const cueBefore = new Set(["with", "from", "by", "at", "called", "named", "meet", "introducing", "announcing", "to", "for", "try"]);
  let best: { text: string; indexes: Set<number>; score: number } | null = null;
  for (let i = 0; i < tokens.length; i++) {
    if (!/^\p{Lu}/u.test(tokens[i]!.raw)) continue;
    let j = i;
    while (j < tokens.length && /^[\p{Lu}\p{N}]/u.test(tokens[j]!.raw) && (j === i || (tokens[j - 1]!.after === "" && !tokens[j - 1]!.raw.endsWith("'s")))) j++;
    const run = tokens.slice(i, j);
    i = j - 1;
    // Drop capitalised sentence openers that are ordinary words.
    while (run.length > 0 && (NOT_NAMES.has(run[0]!.word.replace(/'s$/, "")) || !/^\p{Lu}/u.test(run[0]!.raw))) run.shift();
    if (run.length === 0 || run.every((t) => LEXICON.has(t.word) || STOPWORDS.has(t.word))) continue;
    const first = tokens.indexOf(run[0]!);
    let score = 1;
    if (!run[0]!.sentenceStart) score += 2;
    if (first > 0 && cueBefore.has(tokens[first - 1]!.word)) score += 2;
    if (run[run.length - 1]!.after === ",") score += 1;
    if (run[run.length - 1]!.raw.endsWith("'s")) score += 2;
    if (!best || score > best.score) {
      const text = run.map((t) => t.raw.replace(/'s$/, "")).join(" ");
      best = { text, indexes: new Set(run.map((t) => tokens.indexOf(t))), score };
    }
  }
  return best ? { text: best.text, indexes: best.indexes } : null;
}

/** First occurrence of any phrase outside `skip`, and not used as a modifier of a following noun. */
function findFirst(tokens: readonly Token[], phrases: readonly string[], skip: ReadonlySet<number>, nouns: ReadonlySet<string>): { at: number; length: number } | null {
  let found: { at: number; length: number } | null = null;
  for (const phrase of phrases) {
    const length = phrase.split(" ").length;
    let at = findPhrase(tokens, phrase);
    while (at >= 0) {
      const next = tokens[at + length];
      const modifier = next !== undefined && tokens[at + length - 1]!.after === "" && nouns.has(next.word);
      if (!skip.has(at) && !modifier) break;
      at = findPhrase(tokens, phrase, at + 1);
    }
    if (at >= 0 && (!found || at < found.at || (at === found.at && length > found.length))) found = { at, length };
  }
  return found;
}

function withArticle(phrase: string): string {
  if (/^(a|an|the|our|your)\s/i.test(phrase)) return phrase;
  if (/\p{Lu}/u.test(phrase)) return `the ${phrase}`;
  const last = phrase.split(" ").pop() ?? "";
  if (/[^s]s$/i.test(last) || /people|children|staff|crew/i.test(last)) return phrase;
  return `${/^[aeiou]/i.test(phrase) ? "an" : "a"} ${phrase}`;
}

export interface BriefReading extends ArchetypeInference {
  facts: SpecFacts;
  /** The category of the product named in `facts` (brand-aware, unlike the archetype's `category`). */
  productCategory: string | null;
}

/** Facts for the spec, every value sanitised and capped to the SpecFacts limits. */
export function readBrief(prompt: string): BriefReading {
  const inference = inferArchetype(prompt);
  const tokens = tokenise(prompt);
  const brand = findBrand(tokens);
  const taken = new Set(brand?.indexes ?? []);
  const category = detectCategory(tokens, taken);

  let product = "";
  if (category && category.productAt >= 0) {
    const end = category.productAt + category.productLength;
    const start = modifiersBefore(tokens, category.productAt, 2, taken);
    product = phraseText(tokens, start, end);
  } else if (brand) {
    // "Lumen, the smart desk lamp that …": the appositive after the name names the product.
    const last = Math.max(...brand.indexes);
    if (tokens[last]?.after === "," && ["the", "a", "an"].includes(tokens[last + 1]?.word ?? "")) {
      let end = last + 2;
      while (end < tokens.length && end < last + 6 && !STOPWORDS.has(tokens[end]!.word)) {
        end++;
        if (tokens[end - 1]!.after !== "") break;
      }
      product = phraseText(tokens, last + 2, end);
    }
    if (!product) product = brand.text;
  }
  if (!product) product = "the product";

  const nouns = new Set([...SETTINGS, ...CATEGORIES.flatMap((c) => c.products)]);
  const person = findFirst(tokens, PEOPLE, taken, nouns);
  const character = person
    ? withArticle(phraseText(tokens, modifiersBefore(tokens, person.at, 1, taken), person.at + person.length))
    : (category?.category.character ?? "a confident young adult");

  const place = findFirst(tokens, SETTINGS, taken, new Set());
  const setting = place
    ? withArticle(phraseText(tokens, modifiersBefore(tokens, place.at, 2, taken), place.at + place.length))
    : (category?.category.setting ?? "a bright modern space");

  const audienceMatch = prompt.match(/\b(?:for|aimed at|targeting|designed for|made for)\s+((?:busy|small|young|new|first-time|local|working|modern|active|growing)?\s*[a-z-]+(?:\s+(?:teams|owners|parents|businesses|professionals|students|families|travelers|gamers|runners))?)/i);
  const audienceWord = audienceMatch?.[1]?.trim().toLowerCase() ?? "";
  const audience = audienceWord && PEOPLE.some((p) => audienceWord.endsWith(p.split(" ").pop()!)) || /teams|owners|businesses|professionals|families/.test(audienceWord)
    ? audienceWord
    : undefined;

  const keywords: string[] = [];
  for (const token of tokens) {
    const word = sanitiseSlot(token.word.replace(/'s$/, ""), 40);
    if (word.length < 3 || STOPWORDS.has(word) || /^\d+$/.test(word) || keywords.includes(word)) continue;
    keywords.push(word);
    if (keywords.length === 12) break;
  }

  const facts: SpecFacts = {
    product: sanitiseSlot(product, 60) || "the product",
    character: sanitiseSlot(character, 60) || "a confident young adult",
    setting: sanitiseSlot(setting, 60) || "a bright modern space",
    keywords,
  };
  const brandText = brand ? sanitiseSlot(brand.text, 40) : "";
  if (brandText) facts.brand = brandText;
  if (audience) facts.audience = sanitiseSlot(audience, 60);
  return { ...inference, facts, productCategory: category?.category.id ?? inference.category };
}
