/**
 * What a draft renderer reads from a prompt: colour words, the kind of subject, the light.
 * A keyword reading, deliberately: drafts must be fast, offline and deterministic, and still
 * visibly follow the text.
 */

export const COLOUR_WORDS: Readonly<Record<string, string>> = {
  red: "#D7263D",
  crimson: "#B0122B",
  scarlet: "#FF2400",
  orange: "#F28C28",
  amber: "#FFB000",
  gold: "#D4AF37",
  golden: "#E6B422",
  yellow: "#F7D51D",
  lime: "#9BD52A",
  green: "#2E9E4F",
  emerald: "#1F8A5B",
  olive: "#707C2F",
  mint: "#8FE3C0",
  teal: "#12807F",
  turquoise: "#2EC4B6",
  cyan: "#1FC8E3",
  sky: "#7CC6F2",
  blue: "#1E5EFF",
  cobalt: "#0047AB",
  navy: "#14213D",
  indigo: "#3F2D8F",
  purple: "#7B2CBF",
  violet: "#8F5CE0",
  lavender: "#B8A6E6",
  magenta: "#D6249F",
  pink: "#F48FB1",
  rose: "#E75480",
  coral: "#FF6F61",
  peach: "#FFB38A",
  brown: "#7B4A2A",
  chocolate: "#4B2A1A",
  tan: "#C8A47E",
  beige: "#E8D8B8",
  cream: "#F5EBD0",
  white: "#F4F4F2",
  silver: "#BFC5CC",
  grey: "#8A8F98",
  gray: "#8A8F98",
  charcoal: "#2F3238",
  black: "#101114",
  sunset: "#F46B45",
  neon: "#39FF88",
};

export type Subject = "product" | "person" | "place";
export type ProductShape = "bottle" | "box" | "device";
export type PlaceShape = "hills" | "city" | "water" | "interior" | "studio";

const PRODUCT_WORDS: Record<ProductShape, string[]> = {
  bottle: ["bottle", "perfume", "fragrance", "drink", "beverage", "wine", "beer", "soda", "juice", "serum", "shampoo", "lotion", "cosmetic", "skincare", "coffee", "cup", "jar", "water", "flask", "tumbler", "can", "tea", "oil", "sauce", "cream", "spray", "candle", "mug"],
  box: ["box", "package", "packaging", "snack", "cereal", "gift", "chocolate", "bar", "pack", "shoe", "sneaker", "sneakers", "bag", "book"],
  device: ["phone", "smartphone", "laptop", "watch", "smartwatch", "headphones", "earbuds", "camera", "device", "gadget", "app", "tablet", "speaker", "console"],
};
const PERSON_WORDS = ["person", "man", "woman", "men", "women", "people", "girl", "boy", "child", "kid", "kids", "athlete", "runner", "model", "customer", "chef", "family", "friends", "team", "founder", "dancer", "couple", "student", "worker", "mother", "father", "character", "hero", "user"];
const PLACE_WORDS: Record<PlaceShape, string[]> = {
  city: ["city", "street", "skyline", "downtown", "urban", "building", "buildings", "rooftop", "town"],
  interior: ["office", "kitchen", "home", "room", "bedroom", "bathroom", "cafe", "restaurant", "gym", "apartment", "house", "shop", "store", "indoors", "interior", "lab", "classroom", "workshop", "bakery", "salon"],
  studio: ["studio", "backdrop", "tabletop", "seamless"],
  water: ["beach", "ocean", "sea", "lake", "river", "coast", "shore", "pool", "waves", "island"],
  hills: ["mountain", "mountains", "forest", "landscape", "desert", "park", "field", "fields", "countryside", "valley", "hills", "outdoors", "nature", "garden", "road", "horizon"],
};
const DARK_WORDS = ["dark", "night", "midnight", "moody", "noir", "dramatic", "shadow", "shadows", "dusk", "low-key", "cinematic"];
const BRIGHT_WORDS = ["bright", "sunny", "airy", "fresh", "clean", "light", "daylight", "morning", "pastel", "white", "minimal", "high-key"];

export interface PromptCues {
  /** Colours named in the prompt, in order of appearance (hex). */
  colours: string[];
  product: ProductShape | null;
  person: boolean;
  place: PlaceShape | null;
  /** -1 dark … +1 bright. */
  light: number;
}

function wordsOf(prompt: string): string[] {
  return prompt.toLowerCase().match(/[a-z][a-z-]*/g) ?? [];
}

function firstKind<K extends string>(words: string[], table: Record<K, string[]>): K | null {
  for (const word of words) {
    for (const [kind, list] of Object.entries(table) as [K, string[]][]) if (list.includes(word)) return kind;
  }
  return null;
}

export function readPrompt(prompt: string): PromptCues {
  // "speaking to camera" is a direction, not a camera for sale.
  const words = wordsOf(prompt.replace(/\b(to|toward|towards|at|into)( the)? camera\b/gi, " "));
  const colours: string[] = [];
  for (const word of words) {
    const hex = COLOUR_WORDS[word];
    if (hex && !colours.includes(hex)) colours.push(hex);
  }
  const dark = words.filter((w) => DARK_WORDS.includes(w)).length;
  const bright = words.filter((w) => BRIGHT_WORDS.includes(w)).length;
  return {
    colours,
    product: firstKind(words, PRODUCT_WORDS),
    person: words.some((w) => PERSON_WORDS.includes(w)),
    place: firstKind(words, PLACE_WORDS),
    light: Math.max(-1, Math.min(1, (bright - dark) / 2)),
  };
}

export { fnv1a as hashText, mulberry32 as seededRandom } from "../lib/random.ts";
