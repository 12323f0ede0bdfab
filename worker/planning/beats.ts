import type { CameraMove, TransitionType } from "../../contracts/spec.ts";

/**
 * The beat library: the 15 shot types an ad is assembled from. Archetypes are ordered
 * templates over these ids; creativity lets the planner substitute within an act, reorder
 * inside an act, or add body beats. Timing is in frames at 24 fps.
 */

export const BEAT_IDS = [
  "hook",
  "problem",
  "agitation",
  "solution_reveal",
  "product_hero",
  "feature_demo",
  "how_it_works",
  "social_proof",
  "testimonial",
  "lifestyle_moment",
  "transformation",
  "behind_the_scenes",
  "offer",
  "brand_moment",
  "call_to_action",
] as const;
export type BeatId = (typeof BEAT_IDS)[number];

/**
 * Where a beat sits in the ad's arc. Substitution and reordering stay inside an act so a
 * varied plan still reads open → setup → turn → body → close.
 */
export type BeatAct = "open" | "setup" | "turn" | "body" | "close";

export interface BeatDefinition {
  id: BeatId;
  name: string;
  purpose: string;
  act: BeatAct;
  /** On-screen length bounds in frames (24 fps). */
  minFrames: number;
  maxFrames: number;
  /** Length used when the beat is added by the planner rather than taken from a template. */
  defaultFrames: number;
  /** Visual prompt with slots {product} {character} {setting} {action} {brand}. */
  template: string;
  /** Values for {action}; the first is the template's, the others are creative variants. */
  actions: readonly string[];
  /** Camera moves that suit the beat; the first is the default. */
  cameras: readonly CameraMove[];
  /** How subjects move inside the frame; added to chunk prompts next to the camera move. */
  motion: string;
  mood: string;
  /** Default transition into the next beat; the others are creative variants. */
  transitions: readonly TransitionType[];
}

/** Overlap in frames for each transition type (a cut has none). */
export const TRANSITION_FRAMES: Record<TransitionType, number> = {
  cut: 0,
  fade: 12,
  dissolve: 12,
  fadeblack: 12,
  fadewhite: 12,
  wipeleft: 8,
  wiperight: 8,
  slideleft: 8,
  slideright: 8,
  circleopen: 10,
  smoothleft: 8,
};

export const BEATS: Record<BeatId, BeatDefinition> = {
  hook: {
    id: "hook",
    name: "Hook",
    purpose: "Stop the scroll in the first seconds with a striking, curious image.",
    act: "open",
    minFrames: 24,
    maxFrames: 72,
    defaultFrames: 48,
    template: "Striking opening shot in {setting}: {character} {action}, {product} teased at the edge of frame.",
    actions: ["freezing as something catches the eye", "turning sharply toward the camera", "stepping into a sudden pool of light"],
    cameras: ["push_in", "handheld", "tilt_down", "orbit"],
    motion: "quick, energetic movement",
    mood: "intriguing",
    transitions: ["cut", "fadewhite", "slideleft"],
  },
  problem: {
    id: "problem",
    name: "The problem",
    purpose: "Show the everyday pain point the audience recognises.",
    act: "setup",
    minFrames: 36,
    maxFrames: 120,
    defaultFrames: 72,
    template: "{character} in {setting} {action}, clearly frustrated by the everyday problem {product} solves.",
    actions: ["struggling with a clumsy old routine", "sighing at a mess that will not go away", "checking the time again, stuck and stressed"],
    cameras: ["handheld", "static", "pan_left"],
    motion: "restless, awkward gestures",
    mood: "frustrated",
    transitions: ["cut", "wipeleft"],
  },
  agitation: {
    id: "agitation",
    name: "Agitation",
    purpose: "Raise the stakes: the problem gets worse if nothing changes.",
    act: "setup",
    minFrames: 24,
    maxFrames: 96,
    defaultFrames: 48,
    template: "Close on {character} in {setting} as things get worse: {action}, tension building.",
    actions: ["one small mishap piles onto another", "a clock ticks loudly while nothing works", "the clutter closes in around them"],
    cameras: ["handheld", "push_in", "static"],
    motion: "jittery, mounting pressure",
    mood: "tense",
    transitions: ["fadeblack", "cut", "fade"],
  },
  solution_reveal: {
    id: "solution_reveal",
    name: "Solution reveal",
    purpose: "Introduce the product as the answer; the mood turns.",
    act: "turn",
    minFrames: 36,
    maxFrames: 120,
    defaultFrames: 72,
    template: "{product} enters the scene in {setting}, {character} {action}, the mood lifting at once.",
    actions: ["picking it up with a spark of relief", "finding it on the table with a smile", "watching it fix the problem in one move"],
    cameras: ["pull_out", "push_in", "orbit"],
    motion: "a calm, decisive reveal",
    mood: "relieved",
    transitions: ["cut", "dissolve", "circleopen"],
  },
  product_hero: {
    id: "product_hero",
    name: "Product hero",
    purpose: "A beauty shot that makes the product itself desirable.",
    act: "turn",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 84,
    template: "Hero shot of {product} {action}, crisp detail, clean premium lighting, no people.",
    actions: ["rotating slowly on a reflective surface", "resting center frame as light sweeps across it", "rising into frame against a clean backdrop"],
    cameras: ["orbit", "push_in", "tilt_up", "static"],
    motion: "slow, graceful motion",
    mood: "premium",
    transitions: ["dissolve", "fade", "cut"],
  },
  feature_demo: {
    id: "feature_demo",
    name: "Feature demo",
    purpose: "Show one standout feature working, concretely.",
    act: "body",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 96,
    template: "Close-up of {character} with {product} in {setting}: {action}, the key feature shown clearly.",
    actions: ["a single touch makes it work instantly", "hands demonstrate the standout detail", "it responds smoothly in real time"],
    cameras: ["push_in", "static", "pan_right", "handheld"],
    motion: "precise, deliberate hand movement",
    mood: "clever",
    transitions: ["cut", "wiperight", "smoothleft"],
  },
  how_it_works: {
    id: "how_it_works",
    name: "How it works",
    purpose: "Make using the product look simple, step by step.",
    act: "body",
    minFrames: 48,
    maxFrames: 144,
    defaultFrames: 96,
    template: "Simple step-by-step view in {setting}: {character} {action} with {product}, every step clear.",
    actions: ["setting it up in seconds", "moving through three quick steps", "reaching the finished result with ease"],
    cameras: ["static", "pan_right", "push_in"],
    motion: "clear, unhurried steps",
    mood: "clear",
    transitions: ["cut", "slideleft", "dissolve"],
  },
  social_proof: {
    id: "social_proof",
    name: "Social proof",
    purpose: "Show that many people already use and love it.",
    act: "body",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 72,
    template: "Quick montage in {setting} of different people enjoying {product}, {action}.",
    actions: ["smiling and nodding to each other", "friends passing it along with a grin", "a crowd turning to look, impressed"],
    cameras: ["pan_right", "static", "handheld"],
    motion: "lively, varied movement",
    mood: "warm",
    transitions: ["cut", "fade", "dissolve"],
  },
  testimonial: {
    id: "testimonial",
    name: "Testimonial",
    purpose: "A real-feeling customer speaks to camera about the difference it made.",
    act: "body",
    minFrames: 48,
    maxFrames: 168,
    defaultFrames: 96,
    template: "{character} speaking warmly to camera in {setting} about {product}, {action}, natural and sincere.",
    actions: ["nodding with genuine enthusiasm", "holding it up while recalling the difference it made", "laughing at how easy it became"],
    cameras: ["static", "push_in", "handheld"],
    motion: "natural, relaxed gestures",
    mood: "sincere",
    transitions: ["dissolve", "cut", "fade"],
  },
  lifestyle_moment: {
    id: "lifestyle_moment",
    name: "Lifestyle moment",
    purpose: "The product woven into a life the audience wants.",
    act: "body",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 96,
    template: "{character} enjoying {product} in {setting}, {action}, natural light, candid and joyful.",
    actions: ["sharing the moment with friends", "savoring a quiet pause in the day", "moving with easy confidence"],
    cameras: ["handheld", "pan_left", "orbit", "tilt_up"],
    motion: "easy, flowing movement",
    mood: "joyful",
    transitions: ["dissolve", "cut", "fade"],
  },
  transformation: {
    id: "transformation",
    name: "Transformation",
    purpose: "Before and after: the visible change the product makes.",
    act: "body",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 96,
    template: "Before-and-after in {setting}: {character} {action}, the change {product} makes unmistakable.",
    actions: ["stepping from a dull, cluttered scene into a bright one", "looking in the mirror, visibly renewed", "comparing the old way with the new side by side"],
    cameras: ["static", "push_in", "pan_left"],
    motion: "a clear change from before to after",
    mood: "uplifting",
    transitions: ["fadewhite", "dissolve", "wipeleft"],
  },
  behind_the_scenes: {
    id: "behind_the_scenes",
    name: "Behind the scenes",
    purpose: "Craft and care: how the product is made.",
    act: "body",
    minFrames: 36,
    maxFrames: 144,
    defaultFrames: 84,
    template: "Behind the scenes of {product}: skilled hands {action} in {setting}, warm close detail.",
    actions: ["shaping it with care", "checking every detail up close", "preparing it in small batches"],
    cameras: ["handheld", "push_in", "pan_right"],
    motion: "careful, skilled hand work",
    mood: "authentic",
    transitions: ["dissolve", "cut", "fade"],
  },
  offer: {
    id: "offer",
    name: "Offer",
    purpose: "The reason to act now: price, launch date or deal.",
    act: "close",
    minFrames: 24,
    maxFrames: 96,
    defaultFrames: 48,
    template: "{product} centered in {setting} for a bold, celebratory reveal: {action}.",
    actions: ["a spotlight snaps on", "bursts of light sparkle around it", "it slides forward toward the viewer"],
    cameras: ["push_in", "static", "orbit"],
    motion: "punchy, celebratory motion",
    mood: "urgent",
    transitions: ["cut", "fadewhite", "slideright"],
  },
  brand_moment: {
    id: "brand_moment",
    name: "Brand moment",
    purpose: "Leave the brand in memory: logo space, colours, signature image.",
    act: "close",
    minFrames: 24,
    maxFrames: 96,
    defaultFrames: 48,
    template: "Clean brand moment for {brand}: {product} {action}, simple backdrop, open space for a logo.",
    actions: ["settling into a calm final composition", "framed by the brand colors", "gleaming as the light softens"],
    cameras: ["pull_out", "static", "orbit"],
    motion: "calm, settled stillness",
    mood: "memorable",
    transitions: ["fade", "dissolve", "cut"],
  },
  call_to_action: {
    id: "call_to_action",
    name: "Call to action",
    purpose: "Tell the viewer exactly what to do next.",
    act: "close",
    minFrames: 36,
    maxFrames: 120,
    defaultFrames: 72,
    template: "Final shot in {setting}: {character} {action}, {product} in clear view, inviting the viewer to act.",
    actions: ["turning to the camera with a confident smile", "reaching toward the viewer", "gesturing proudly toward it"],
    cameras: ["static", "push_in", "pull_out"],
    motion: "confident, direct movement",
    mood: "confident",
    transitions: ["cut"],
  },
};

export function isBeatId(id: string): id is BeatId {
  return (BEAT_IDS as readonly string[]).includes(id);
}

/** Beats that can stand in for `id` (same act, not itself); the hook and the CTA have none. */
export function substitutesFor(id: BeatId): BeatId[] {
  if (id === "hook" || id === "call_to_action") return [];
  const act = BEATS[id].act;
  return BEAT_IDS.filter((other) => other !== id && other !== "hook" && other !== "call_to_action" && BEATS[other].act === act);
}
