import sharp from "sharp";
import { beforeAll, describe, expect, test } from "vitest";
import { deltaE2000, type Lab } from "../lib/color.ts";
import { BEAT_IDS, BEATS, type BeatId } from "../worker/planning/beats.ts";
import { composePrompt, fillTemplate } from "../worker/planning/prompts.ts";
import { type AnalysedReference, buildConsistencyContext } from "../worker/references/context.ts";
import { analyzeImage, paletteOf } from "../media-node/images/palette.ts";
import { drawDraftImage } from "./image.ts";
import { readShot, type ShotKind } from "./shot.ts";

// The draft image model as the pipeline drives it: three references, then one storyboard
// frame per beat from the beat library's own templates plus the consistency context. Beats must
// come out as distinct shots of one world.

const W = 256;
const H = 144;
const FACTS = { product: "Aurora smart water bottle", character: "a young designer", setting: "a sunny city rooftop", brand: "Aurora" };
const STYLE = "teal and coral palette, soft daylight";

const EXPECTED: Record<BeatId, ShotKind> = {
  hook: "hook",
  problem: "medium",
  agitation: "close",
  solution_reveal: "reveal",
  product_hero: "hero",
  feature_demo: "detail",
  how_it_works: "steps",
  social_proof: "montage",
  testimonial: "portrait",
  lifestyle_moment: "lifestyle",
  transformation: "split",
  behind_the_scenes: "craft",
  offer: "offer",
  brand_moment: "logo",
  call_to_action: "cta",
};

let references: Buffer[];
let context: string;
let referencePalette: Lab[];
const renders = new Map<BeatId, Buffer>();

/** The storyboard prompt exactly as worker/steps/storyboard.ts builds it. */
function storyboardPrompt(id: BeatId, action = 0): string {
  const beat = BEATS[id];
  const own = fillTemplate(beat.template, { ...FACTS, action: beat.actions[action]! });
  return composePrompt(`Storyboard frame, ${beat.name}: ${own}`, context);
}

async function rgb(image: Buffer): Promise<Buffer> {
  return sharp(image).resize(W, H, { fit: "fill" }).removeAlpha().raw().toBuffer();
}

function difference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

beforeAll(async () => {
  // Reference prompts as worker/steps/reference.ts words them.
  const prompts: [AnalysedReference["type"], string][] = [
    ["character", `Character reference portrait: ${FACTS.character}, full figure, neutral pose, ${FACTS.setting}. ${STYLE}. Clear, consistent look for an ad.`],
    ["product", `Product reference shot: ${FACTS.product}, hero angle, clean studio lighting, every detail visible. ${STYLE}.`],
    ["environment", `Environment reference: ${FACTS.setting}, wide establishing view, no people. ${STYLE}.`],
  ];
  references = await Promise.all(prompts.map(([, prompt], i) => drawDraftImage({ prompt, seed: 40 + i, width: W, height: H, format: "png", references: [] })));
  const analysed: AnalysedReference[] = [];
  for (const [i, [type]] of prompts.entries()) {
    const stats = await analyzeImage(references[i]!);
    analysed.push({
      type,
      analysis: {
        character_description: `${FACTS.character}, ${stats.lighting}`,
        product_features: `${FACTS.product}, colours ${stats.palette.slice(0, 3).map((p) => p.hex).join(", ")}`,
        colors: stats.palette.map((p) => p.hex),
        style: stats.style,
        environment: `${FACTS.setting}, ${stats.lighting}`,
      },
    });
  }
  context = buildConsistencyContext(analysed, { facts: { ...FACTS, keywords: [] }, style: STYLE });
  referencePalette = (await Promise.all(references.map((r) => paletteOf(r, 6)))).flat().map((entry) => entry.lab);
  for (const [index, id] of BEAT_IDS.entries()) {
    renders.set(id, await drawDraftImage({ prompt: storyboardPrompt(id), seed: 100 + index, width: W, height: H, format: "png", references }));
  }
});

describe("storyboard frames from the beat library", () => {
  test("every beat template, with each of its actions, asks for its own composition", () => {
    for (const id of BEAT_IDS) {
      for (let action = 0; action < BEATS[id].actions.length; action++) {
        const shot = readShot(storyboardPrompt(id, action));
        expect(shot.kind, `${id} action ${action}`).toBe(EXPECTED[id]);
        // Only the problem beats are drained and tilted.
        expect(shot.troubled, `${id} action ${action}`).toBe(id === "problem" || id === "agitation");
      }
    }
    expect(new Set(Object.values(EXPECTED)).size).toBe(15);
  });

  test("different beat kinds render visibly different pictures", async () => {
    const pixels = new Map<BeatId, Buffer>();
    for (const [id, image] of renders) pixels.set(id, await rgb(image));
    const between = (a: BeatId, b: BeatId) => difference(pixels.get(a)!, pixels.get(b)!);
    // The three a viewer must never confuse.
    expect(between("hook", "product_hero")).toBeGreaterThan(25);
    expect(between("hook", "call_to_action")).toBeGreaterThan(25);
    expect(between("product_hero", "call_to_action")).toBeGreaterThan(25);
    // Across all 15: far apart on average (the previous renderer, on these same prompts and
    // references: mean ≈ 14, closest pair ≈ 10), and no two near-copies.
    let closest = Infinity;
    let total = 0;
    let pairs = 0;
    for (let i = 0; i < BEAT_IDS.length; i++) {
      for (let j = i + 1; j < BEAT_IDS.length; j++) {
        const d = between(BEAT_IDS[i]!, BEAT_IDS[j]!);
        closest = Math.min(closest, d);
        total += d;
        pairs++;
      }
    }
    expect(total / pairs).toBeGreaterThan(28);
    expect(closest).toBeGreaterThan(8);
  });

  test("every beat keeps the references' palette (dominant colours within ΔE2000 15)", async () => {
    for (const [id, image] of renders) {
      const dominant = (await paletteOf(image, 4)).filter((entry) => entry.share >= 0.1);
      expect(dominant.length, id).toBeGreaterThan(0);
      for (const entry of dominant) {
        const nearest = Math.min(...referencePalette.map((lab) => deltaE2000(lab, entry.lab)));
        expect(nearest, `${id}: ${entry.hex} (${(entry.share * 100).toFixed(0)} %)`).toBeLessThan(15);
      }
    }
  });

  test("the seed moves things around: one beat, two seeds, two pictures", async () => {
    const prompt = storyboardPrompt("hook");
    const a = await rgb(await drawDraftImage({ prompt, seed: 1, width: W, height: H, format: "png", references }));
    const b = await rgb(await drawDraftImage({ prompt, seed: 2, width: W, height: H, format: "png", references }));
    expect(difference(a, b)).toBeGreaterThan(6);
  });

  test("references lend colour, never their shapes: moving a shape in a reference changes nothing", async () => {
    // A thin ring (too small to be a palette colour or to sway a layout cell), left or right.
    const withRing = (cx: number) =>
      sharp(references[2]!)
        .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><circle cx="${cx}" cy="${H / 2}" r="14" fill="none" stroke="#FFFFFF" stroke-width="1.5"/></svg>`) }])
        .png()
        .toBuffer();
    const prompt = storyboardPrompt("product_hero");
    const left = await drawDraftImage({ prompt, seed: 3, width: W, height: H, format: "png", references: [references[0]!, references[1]!, await withRing(W * 0.3)] });
    const right = await drawDraftImage({ prompt, seed: 3, width: W, height: H, format: "png", references: [references[0]!, references[1]!, await withRing(W * 0.7)] });
    expect(left.equals(right)).toBe(true);
  });

  test("camera words shift the framing; slot values never pick the composition", async () => {
    const base = "Storyboard frame, Testimonial: a chef speaking warmly to camera in a kitchen";
    expect(readShot(`${base}, slow push-in`).camera.zoom).toBeGreaterThan(1.1);
    expect(readShot(`${base}, slow pull-back revealing the scene`).camera.zoom).toBeLessThan(0.9);
    expect(readShot(`${base}, smooth pan to the left`).camera.shiftX).toBeGreaterThan(0);
    const still = await rgb(await drawDraftImage({ prompt: base, seed: 4, width: W, height: H, format: "png", references }));
    const pushed = await rgb(await drawDraftImage({ prompt: `${base}, slow push-in`, seed: 4, width: W, height: H, format: "png", references }));
    expect(difference(still, pushed)).toBeGreaterThan(3);
    // A product whose name is a framing word ("Deal", "Logo") is still just the product.
    const hook = composePrompt("Storyboard frame, Hook: Striking opening shot in a park: a runner freezing, Deal Logo Finder teased at the edge of frame.", "PRODUCT FEATURES: Deal Logo Finder, colours #112233");
    expect(readShot(hook).kind).toBe("hook");
    expect(readShot("Hero shot of a perfume bottle, no people").person).toBe(false);
  });
});
