import { hashText, type PlaceShape, type ProductShape, readPrompt } from "./prompt-cues.ts";

/**
 * Shot grammar: which composition a prompt asks for. A storyboard prompt is
 * "Storyboard frame, <beat name>: <beat prompt> Consistency: CHARACTER APPEARANCE: … PRODUCT
 * FEATURES: … COLOR PALETTE: … VISUAL STYLE: … ENVIRONMENTAL CONTEXT: …". Only the part before
 * "Consistency:" says what this shot is; the context says who and what recurs (the same for
 * every beat), so framing is read from the first part and identity from the second. Reading
 * framing from the whole prompt is what made every beat the same picture.
 */

export type ShotKind =
  | "wide" // small subject, big environment
  | "medium" // figure and product in their setting
  | "close" // a face fills the frame
  | "detail" // product and hands fill the frame
  | "craft" // hands at work on the product, on a bench
  | "hero" // centred product on a pedestal with a glow
  | "reveal" // product arriving in a burst of light, figure reacting
  | "portrait" // figure centred mid-shot, lower-third band
  | "montage" // a grid of small vignettes
  | "lifestyle" // a small group in the setting, sunlit
  | "steps" // three panels left to right
  | "split" // before | after
  | "hook" // figure in a spotlight, product teased at the frame edge
  | "offer" // end card: product in a starburst with a badge
  | "logo" // end card: emblem space on brand colour
  | "cta"; // end card: brand shapes and a banner

export interface CameraFraming {
  /** Scale of the subject group (>1 tighter). */
  zoom: number;
  /** Shift of the subject group, as a share of width / height. */
  shiftX: number;
  shiftY: number;
  /** Roll in degrees. */
  roll: number;
  /** Horizontal skew in degrees: an orbit sees the subject three-quarter on. */
  skew: number;
}

export interface Shot {
  kind: ShotKind;
  /** Problem / frustration: darker, desaturated, tilted, clutter. */
  troubled: boolean;
  /** The shot's own words (before the consistency context), lower case. */
  text: string;
  person: boolean;
  /** Several people: plural character words. */
  crowd: boolean;
  product: ProductShape;
  /** Whether the product is in this shot at all. */
  showsProduct: boolean;
  place: PlaceShape | null;
  camera: CameraFraming;
  /** Stable per character description: the same person looks the same in every beat. */
  characterStyle: number;
  /** Light words of the whole prompt, -1 dark … +1 bright. */
  light: number;
  /** Colours named by colour words in the shot's own words (hex). */
  ownColours: string[];
  /** Colours named by colour words in the consistency context (hex). */
  contextColours: string[];
  /** #hex codes of the context's COLOR PALETTE line: the references' colours, as text. */
  paletteLine: string[];
}

const SECTION_HEADINGS = ["CHARACTER APPEARANCE", "PRODUCT FEATURES", "COLOR PALETTE", "VISUAL STYLE", "ENVIRONMENTAL CONTEXT"] as const;
type Section = (typeof SECTION_HEADINGS)[number];

/** The prompt split into the shot's own words and the consistency sections. */
export function splitPrompt(prompt: string): { own: string; sections: Partial<Record<Section, string>> } {
  const at = prompt.search(/\bConsistency:/);
  const own = at >= 0 ? prompt.slice(0, at) : prompt;
  const context = at >= 0 ? prompt.slice(at + "Consistency:".length) : prompt;
  const sections: Partial<Record<Section, string>> = {};
  const pattern = new RegExp(`(${SECTION_HEADINGS.join("|")}):`, "g");
  const marks = [...context.matchAll(pattern)];
  marks.forEach((mark, i) => {
    const start = mark.index + mark[0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index : context.length;
    sections[mark[1] as Section] = context.slice(start, end).trim();
  });
  // Without any heading there is no context: the whole prompt is the shot.
  return { own: marks.length > 0 || at >= 0 ? own : prompt, sections };
}

/** Kinds and the phrases that ask for them, in priority order: the first kind with a hit wins. */
const KIND_PHRASES: [ShotKind, string[]][] = [
  ["cta", ["call to action", "end card", "endcard", "inviting the viewer", "sign up", "shop now", "order now", "buy now", "download now", "cta"]],
  ["offer", ["offer", "deal", "discount", "sale", "price", "limited time", "promo", "coupon"]],
  ["logo", ["brand moment", "logo", "brand mark", "emblem", "signature image"]],
  ["split", ["before-and-after", "before and after", "before/after", "side by side", "side-by-side", "transformation", "comparison"]],
  ["steps", ["step-by-step", "step by step", "how it works", "steps", "tutorial", "instructions"]],
  ["montage", ["montage", "collage", "social proof", "different people", "grid of", "split screen of"]],
  // A character reference asks for the whole person, not a head-and-shoulders portrait.
  ["medium", ["full figure", "full body", "full-length", "full length", "neutral pose"]],
  ["portrait", ["testimonial", "interview", "portrait", "speaking", "talking head", "to camera about"]],
  ["craft", ["behind the scenes", "behind-the-scenes", "craft", "handmade", "workshop", "skilled hands", "artisan"]],
  ["hero", ["product hero", "hero shot", "packshot", "pack shot", "product shot", "beauty shot", "hero angle", "product reference"]],
  ["reveal", ["reveal", "unveil", "enters the scene", "solution", "appears"]],
  ["detail", ["macro", "hands", "detail", "close-up of", "closeup of", "feature", "demo", "touch"]],
  ["close", ["close-up", "closeup", "close on", "extreme close", "tight shot", "face"]],
  ["lifestyle", ["lifestyle", "candid", "enjoying", "friends", "joyful", "everyday life"]],
  ["wide", ["wide", "establishing", "skyline", "landscape", "aerial", "panorama", "vista", "environment reference"]],
  ["hook", ["striking", "opening shot", "hook", "teased", "scroll", "attention"]],
];

const TROUBLE_STEMS = ["problem", "frustrat", "stress", "struggl", "worse", "tension", "mess", "clutter", "sigh", "stuck", "mishap", "chaos", "annoy", "pain point", "agitat", "overwhelm", "tired", "broken"];
const CROWD_WORDS = ["people", "friends", "family", "team", "crowd", "professionals", "couple", "kids", "children", "women", "men", "customers", "users", "group", "everyone"];

/** Camera words shift the framing the way a director's note would. */
const CAMERA_PHRASES: [string[], Partial<CameraFraming>][] = [
  [["push-in", "push in", "pushes in", "dolly in", "zoom in", "moving closer"], { zoom: 1.18 }],
  [["pull-back", "pull back", "pull-out", "pull out", "pulls back", "zoom out", "dolly out"], { zoom: 0.82 }],
  [["pan to the left", "pan left", "pans left"], { shiftX: 0.1 }],
  [["pan to the right", "pan right", "pans right"], { shiftX: -0.1 }],
  [["tilt upward", "tilt up", "tilts up", "low angle", "looking up"], { shiftY: 0.08, zoom: 1.06 }],
  [["tilt downward", "tilt down", "tilts down", "high angle", "overhead", "top-down"], { shiftY: -0.08 }],
  [["orbit", "orbiting", "rotating", "turntable"], { skew: -5 }],
  [["handheld", "hand-held", "shaky"], { roll: 2.5 }],
  [["dutch angle", "canted"], { roll: 9 }],
];

/** Whole-word (or whole-phrase) match: "sale" must not fire inside "wholesale". */
function has(text: string, phrase: string): boolean {
  for (let at = text.indexOf(phrase); at >= 0; at = text.indexOf(phrase, at + 1)) {
    const before = text[at - 1] ?? " ";
    const after = text[at + phrase.length] ?? " ";
    if (!/[a-z]/.test(before) && !/[a-z]/.test(after)) return true;
  }
  return false;
}

export function kindOf(own: string, subjects: { person: boolean; product: boolean; place: boolean }): ShotKind {
  for (const [kind, phrases] of KIND_PHRASES) if (phrases.some((p) => has(own, p))) return kind;
  if (subjects.person) return "medium";
  if (subjects.product) return "hero";
  return "wide";
}

function cameraOf(own: string): CameraFraming {
  const framing: CameraFraming = { zoom: 1, shiftX: 0, shiftY: 0, roll: 0, skew: 0 };
  for (const [phrases, effect] of CAMERA_PHRASES) {
    if (!phrases.some((p) => has(own, p))) continue;
    framing.zoom *= effect.zoom ?? 1;
    framing.shiftX += effect.shiftX ?? 0;
    framing.shiftY += effect.shiftY ?? 0;
    framing.roll += effect.roll ?? 0;
    framing.skew += effect.skew ?? 0;
  }
  return framing;
}

/** The subject named first in a context section ("matte-black smart water, colours …" → "matte-black smart water"). */
const headOf = (section: string | undefined) => (section ?? "").split(/[,;]/)[0]!.trim().toLowerCase();

const PRODUCT_SHAPES: ProductShape[] = ["bottle", "box", "device"];

/** Kinds whose picture a troubled mood can change; the others carry their own mood. */
const MOODY_KINDS: ShotKind[] = ["medium", "close", "wide", "portrait", "hook", "detail"];
const RELIEF_WORDS = ["relief", "lifting", "smile", "fix", "solves it", "joy"];

export function readShot(prompt: string): Shot {
  const { own: ownRaw, sections } = splitPrompt(prompt);
  const own = ownRaw.toLowerCase();
  const ownCues = readPrompt(ownRaw);
  const allCues = readPrompt(prompt);
  const productName = headOf(sections["PRODUCT FEATURES"]);
  const characterName = headOf(sections["CHARACTER APPEARANCE"]);
  const settingName = headOf(sections["ENVIRONMENTAL CONTEXT"]);
  const named = (name: string) => name.length > 2 && !/^(no |the product|the main|consistent)/.test(name) && own.includes(name);
  // Slot values (a product called "Deal Finder", a "close-knit team") must not pick the framing.
  let framing = own;
  for (const name of [productName, characterName, settingName]) if (named(name)) framing = framing.replaceAll(name, " ");

  // Identity comes from the context when there is one: the same product shape in every beat.
  const productCue = readPrompt(sections["PRODUCT FEATURES"] ?? "").product ?? ownCues.product;
  const product = productCue ?? PRODUCT_SHAPES[hashText(productName || "product") % PRODUCT_SHAPES.length]!;
  const place = readPrompt(sections["ENVIRONMENTAL CONTEXT"] ?? "").place ?? ownCues.place ?? allCues.place;

  const noPeople = /\bno (people|person|one|humans)\b/.test(own);
  const person = !noPeople && (ownCues.person || named(characterName) || /\b(someone|somebody|customer|character|hands)\b/.test(own));
  const showsProduct = ownCues.product !== null || named(productName) || /\bproduct\b/.test(own);
  const kind = kindOf(framing, { person, product: showsProduct, place: place !== null });
  const troubled = MOODY_KINDS.includes(kind) && TROUBLE_STEMS.some((stem) => framing.includes(stem)) && !RELIEF_WORDS.some((w) => framing.includes(w));
  const palette = (sections["COLOR PALETTE"] ?? "").match(/#[0-9a-fA-F]{6}\b/g) ?? [];
  return {
    kind,
    troubled,
    text: framing,
    person,
    crowd: CROWD_WORDS.some((w) => has(`${own} ${characterName}`, w)),
    product,
    showsProduct,
    place,
    camera: cameraOf(framing),
    characterStyle: hashText(characterName || (ownCues.person ? "person" : "")),
    light: allCues.light,
    ownColours: ownCues.colours,
    contextColours: allCues.colours.filter((c) => !ownCues.colours.includes(c)),
    paletteLine: [...new Set(palette.map((hex) => hex.toUpperCase()))],
  };
}
