import type { ArchetypeId, CameraMove, DurationSeconds, TransitionType } from "../../contracts/spec.ts";
import type { BeatId } from "./beats.ts";

/**
 * The five ad archetypes: an ordered beat template per duration, a music brief, a pacing
 * style and a look. Template lengths are chosen so that each beat's rendered frames
 * (on-screen + outgoing overlap) land on or just under a multiple of the 48-frame chunk,
 * which keeps the number of paid video predictions near its minimum.
 */

export interface TemplateBeat {
  beat: BeatId;
  /** On-screen seconds; a multiple of 0.5 so it is a whole number of frames at 24 fps. */
  seconds: number;
  /** Overrides the beat library's default transition out. */
  transition?: TransitionType;
  camera?: CameraMove;
  /** Index into the beat's actions (a repeated beat shows a different moment). */
  action?: number;
}

export interface MusicStyle {
  mood: string;
  tempo_bpm: number;
  /** Energy per quarter of the ad, 0..1. */
  energy_curve: number[];
  genre: string;
  arc: string;
}

export interface Archetype {
  id: ArchetypeId;
  name: string;
  description: string;
  /**
   * Words and phrases in a brief that point to this archetype, with weights. A trailing `*`
   * matches any word starting with the stem. Used by the local planner's inference.
   */
  cues: Record<string, number>;
  templates: Record<DurationSeconds, TemplateBeat[]>;
  /** Beats that make the archetype what it is; creativity never substitutes them away. */
  signature: readonly BeatId[];
  music: MusicStyle;
  pacing: string;
  /** The first look is the template's; the others are creative variants. */
  looks: readonly string[];
}

export const ARCHETYPES: Record<ArchetypeId, Archetype> = {
  problem_solution: {
    id: "problem_solution",
    name: "Problem / solution",
    description: "Name a pain the audience knows, make it sting, then show the product ending it.",
    cues: {
      "tired of": 3, "struggl*": 3, problem: 3, problems: 3, hassle: 3, "no more": 3, "solve*": 3, "fix*": 2,
      pain: 2, "stress*": 2, "never again": 3, "frustrat*": 3, "wast*": 2, "save time": 2, "saves time": 2, "effortless*": 1,
      finally: 2, "worr*": 2, "mess*": 2, complicated: 2, "fed up": 3, "simplif*": 2, stop: 2, "automat*": 2,
      "hidden fees": 2, "sick of": 3, "instead of": 1, "without the": 1,
    },
    templates: {
      15: [
        { beat: "hook", seconds: 2 },
        { beat: "problem", seconds: 4 },
        { beat: "solution_reveal", seconds: 3.5, transition: "dissolve" },
        { beat: "feature_demo", seconds: 2 },
        { beat: "call_to_action", seconds: 3.5 },
      ],
      30: [
        { beat: "hook", seconds: 2 },
        { beat: "problem", seconds: 4 },
        { beat: "agitation", seconds: 3.5 },
        { beat: "solution_reveal", seconds: 4 },
        { beat: "product_hero", seconds: 3.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "social_proof", seconds: 4 },
        { beat: "call_to_action", seconds: 3 },
      ],
      60: [
        { beat: "hook", seconds: 2 },
        { beat: "problem", seconds: 4 },
        { beat: "agitation", seconds: 3.5 },
        { beat: "solution_reveal", seconds: 4 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "how_it_works", seconds: 6 },
        { beat: "transformation", seconds: 5.5 },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "social_proof", seconds: 6 },
        { beat: "offer", seconds: 4 },
        { beat: "brand_moment", seconds: 3.5 },
        { beat: "call_to_action", seconds: 4.5 },
      ],
    },
    signature: ["problem", "solution_reveal"],
    music: {
      mood: "tense to uplifting",
      tempo_bpm: 104,
      energy_curve: [0.35, 0.45, 0.8, 0.9],
      genre: "modern electronic pop",
      arc: "muted, uneasy opening that resolves into bright, driving synths",
    },
    pacing: "brisk, escalating",
    looks: [
      "clean contemporary commercial look, naturalistic color, crisp focus",
      "cool desaturated problem scenes turning warm and saturated after the reveal",
      "punchy high-contrast commercial look with bold color accents",
    ],
  },
  product_showcase: {
    id: "product_showcase",
    name: "Product showcase",
    description: "Let the product be the star: beauty shots, details and one or two features in use.",
    cues: {
      showcase: 4, "design*": 2, "crafted": 2, premium: 2, sleek: 3, "detail*": 2, features: 2, "close-up": 2, "up close": 2,
      luxury: 2, "elegan*": 2, precision: 2, materials: 2, finish: 1, "engineer*": 2, performance: 1, "colorway*": 2,
      "colourway*": 2, "product shot*": 3, "sculpted": 2, "minimalist": 2, aluminum: 1, leather: 1, "studio-grade": 2,
      "handmade": 1, "beautiful*": 1, "iconic": 1,
    },
    templates: {
      15: [
        { beat: "hook", seconds: 2 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 4 },
        { beat: "brand_moment", seconds: 1.5 },
        { beat: "call_to_action", seconds: 2 },
      ],
      30: [
        { beat: "hook", seconds: 2 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "behind_the_scenes", seconds: 3.5 },
        { beat: "lifestyle_moment", seconds: 4, transition: "cut" },
        { beat: "offer", seconds: 2 },
        { beat: "brand_moment", seconds: 3.5 },
        { beat: "call_to_action", seconds: 3.5 },
      ],
      60: [
        { beat: "hook", seconds: 2 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "behind_the_scenes", seconds: 5.5 },
        { beat: "how_it_works", seconds: 6 },
        { beat: "product_hero", seconds: 3.5, camera: "tilt_up", action: 1 },
        { beat: "lifestyle_moment", seconds: 6, transition: "cut" },
        { beat: "feature_demo", seconds: 4, camera: "static", action: 1 },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "social_proof", seconds: 4 },
        { beat: "offer", seconds: 4 },
        { beat: "brand_moment", seconds: 3.5 },
        { beat: "call_to_action", seconds: 4.5 },
      ],
    },
    signature: ["product_hero"],
    music: {
      mood: "sleek and confident",
      tempo_bpm: 96,
      energy_curve: [0.5, 0.65, 0.8, 0.85],
      genre: "minimal deep house",
      arc: "polished pulse that gains layers with every reveal",
    },
    pacing: "measured, deliberate",
    looks: [
      "premium studio product look, soft gradient backdrop, controlled reflections",
      "dark moody studio, rim light tracing every edge",
      "bright airy high-key look, soft shadows, clean whites",
    ],
  },
  lifestyle_story: {
    id: "lifestyle_story",
    name: "Lifestyle story",
    description: "A small story of a life the audience wants, with the product woven through it.",
    cues: {
      lifestyle: 4, journey: 2, "adventure*": 2, weekend: 2, "weekends": 2, "morning*": 1, everyday: 2, moments: 2,
      "famil*": 2, friends: 2, together: 2, community: 2, "feel*": 1, story: 2, life: 1, local: 1, "neighbo*": 2,
      memories: 2, "escape": 2, "explor*": 2, summer: 1, "day in the life": 4, "cozy": 2, "sun-soaked": 2, "slow": 1,
      "chapter": 1, "every dawn": 1, "since": 1, "laughter": 2, "share": 1,
    },
    templates: {
      15: [
        { beat: "hook", seconds: 2 },
        { beat: "lifestyle_moment", seconds: 5.5 },
        { beat: "product_hero", seconds: 3.5, transition: "fade" },
        { beat: "call_to_action", seconds: 4 },
      ],
      30: [
        { beat: "hook", seconds: 2 },
        { beat: "lifestyle_moment", seconds: 5.5 },
        { beat: "feature_demo", seconds: 4 },
        { beat: "lifestyle_moment", seconds: 5.5, action: 1, camera: "orbit" },
        { beat: "social_proof", seconds: 4 },
        { beat: "product_hero", seconds: 3.5, transition: "fade" },
        { beat: "brand_moment", seconds: 1.5 },
        { beat: "call_to_action", seconds: 4 },
      ],
      60: [
        { beat: "hook", seconds: 2 },
        { beat: "lifestyle_moment", seconds: 5.5 },
        { beat: "behind_the_scenes", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "lifestyle_moment", seconds: 5.5, action: 1, camera: "orbit" },
        { beat: "transformation", seconds: 5.5, transition: "dissolve" },
        { beat: "social_proof", seconds: 6 },
        { beat: "lifestyle_moment", seconds: 5.5, action: 2, camera: "tilt_up" },
        { beat: "product_hero", seconds: 5.5, transition: "fade" },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "brand_moment", seconds: 3.5 },
        { beat: "call_to_action", seconds: 4 },
      ],
    },
    signature: ["lifestyle_moment"],
    music: {
      mood: "warm and carefree",
      tempo_bpm: 112,
      energy_curve: [0.4, 0.6, 0.75, 0.7],
      genre: "sunny indie folk pop with acoustic guitar and hand claps",
      arc: "light start that opens into a singalong lift, then settles warmly",
    },
    pacing: "flowing, relaxed",
    looks: [
      "warm natural light, golden hour tones, soft film grain",
      "bright candid documentary look, true-to-life color",
      "nostalgic pastel palette, gentle haze, soft highlights",
    ],
  },
  testimonial: {
    id: "testimonial",
    name: "Testimonial",
    description: "Real-feeling customers tell how the product changed things, backed by proof.",
    cues: {
      testimonial: 4, testimonials: 4, "review*": 3, "customer*": 2, "real people": 3, "real customers": 3,
      "in their own words": 3, "says": 1, "loved by": 2, "trusted": 2, "results": 1, "rated": 2, "five-star": 2,
      "5-star": 2, "hear from": 3, "their story": 3, "share their": 2, "graduates": 2, "members": 1, "clients": 2,
      "patients": 2, "tell": 1, "changed their": 2, "how they": 1, "before and after": 2,
    },
    templates: {
      15: [
        { beat: "hook", seconds: 2 },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "product_hero", seconds: 3.5 },
        { beat: "call_to_action", seconds: 4 },
      ],
      30: [
        { beat: "hook", seconds: 2 },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "transformation", seconds: 5.5 },
        { beat: "feature_demo", seconds: 4 },
        { beat: "social_proof", seconds: 3.5, transition: "dissolve" },
        { beat: "testimonial", seconds: 5.5, action: 1, camera: "push_in" },
        { beat: "call_to_action", seconds: 4 },
      ],
      60: [
        { beat: "hook", seconds: 2 },
        { beat: "testimonial", seconds: 5.5 },
        { beat: "problem", seconds: 4 },
        { beat: "solution_reveal", seconds: 4 },
        { beat: "transformation", seconds: 5.5 },
        { beat: "testimonial", seconds: 5.5, action: 1, camera: "push_in" },
        { beat: "feature_demo", seconds: 6 },
        { beat: "social_proof", seconds: 3.5, transition: "dissolve" },
        { beat: "testimonial", seconds: 5.5, action: 2, camera: "handheld" },
        { beat: "lifestyle_moment", seconds: 3.5 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "offer", seconds: 4 },
        { beat: "brand_moment", seconds: 1.5 },
        { beat: "call_to_action", seconds: 4 },
      ],
    },
    signature: ["testimonial"],
    music: {
      mood: "sincere and hopeful",
      tempo_bpm: 84,
      energy_curve: [0.3, 0.4, 0.55, 0.7],
      genre: "gentle piano with soft strings",
      arc: "intimate and sparse, swelling gently toward a hopeful finish",
    },
    pacing: "calm, intimate",
    looks: [
      "soft natural window light, shallow depth of field, honest documentary framing",
      "warm interview look, gentle backlight, muted tones",
      "clean bright daylight look, authentic skin tones",
    ],
  },
  launch_announcement: {
    id: "launch_announcement",
    name: "Launch announcement",
    description: "Build anticipation, unveil the new thing, give the date and the reason to act now.",
    cues: {
      introducing: 3, "launch*": 3, "announc*": 3, "coming soon": 3, "pre-order*": 3, "preorder*": 3, "release*": 2,
      "unveil*": 3, "debut*": 2, "now available": 2, "available now": 2, new: 1, "all-new": 1, "grand opening": 3,
      "out now": 3, drops: 2, "limited edition": 2, "limited release": 2, "first ever": 1, "2.0": 1, "sign up": 1,
      "waitlist": 2, "premiere*": 2, "next generation": 2, "countdown": 2,
    },
    templates: {
      15: [
        { beat: "hook", seconds: 2 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 2 },
        { beat: "offer", seconds: 2 },
        { beat: "call_to_action", seconds: 3.5 },
      ],
      30: [
        { beat: "hook", seconds: 1.5, transition: "fadeblack" },
        { beat: "solution_reveal", seconds: 4 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 4 },
        { beat: "lifestyle_moment", seconds: 3.5 },
        { beat: "social_proof", seconds: 4 },
        { beat: "offer", seconds: 2 },
        { beat: "brand_moment", seconds: 1.5 },
        { beat: "call_to_action", seconds: 4 },
      ],
      60: [
        { beat: "hook", seconds: 1.5, transition: "fadeblack" },
        { beat: "agitation", seconds: 3.5, action: 1 },
        { beat: "solution_reveal", seconds: 4 },
        { beat: "product_hero", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6 },
        { beat: "how_it_works", seconds: 6 },
        { beat: "behind_the_scenes", seconds: 5.5 },
        { beat: "lifestyle_moment", seconds: 5.5 },
        { beat: "feature_demo", seconds: 6, action: 1, camera: "static" },
        { beat: "social_proof", seconds: 6 },
        { beat: "offer", seconds: 4 },
        { beat: "brand_moment", seconds: 3.5 },
        { beat: "call_to_action", seconds: 3 },
      ],
    },
    signature: ["product_hero", "offer"],
    music: {
      mood: "bold and anticipatory",
      tempo_bpm: 124,
      energy_curve: [0.45, 0.7, 0.9, 1],
      genre: "cinematic hybrid trailer with pulsing synths",
      arc: "rising tension that breaks into a big hit at the reveal and drives to the end",
    },
    pacing: "fast, building",
    looks: [
      "bold cinematic look, deep contrast, dramatic light beams",
      "sleek futuristic look, cool tones with a single accent color",
      "high-energy editorial look, saturated color, sharp shadows",
    ],
  },
};
