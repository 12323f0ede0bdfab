import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conditioning } from "../contracts/api.ts";
import type { Prediction } from "../contracts/prediction.ts";
import { linearToSrgb, srgbToLinear } from "../lib/color.ts";
import { AdreelClient } from "../cli/client.ts";
import { draftPredictions } from "../bench/bench-stack.ts";
import { fetchEventLog } from "../bench/event-log.ts";
import { fetchMadeAd, type MadeAd } from "../bench/made-ad.ts";
import { type AdFrames, decodeAd, doubleExposures, withinBeatJumps } from "../bench/seam-analysis.ts";
import { lumaOf, meanAbsoluteDifference } from "../media-node/video/frame-metrics.ts";
import { createDevKey, MEDIA_BUCKET, type Stack, startStack } from "../scripts/stack.ts";
import { mediaKeys } from "../worker/media/keys.ts";

/**
 * Issue 13's acceptance, on the real local stack: the demo ad (its prompt, 30 s) with the
 * default conditioning, and the same prompt with `conditioning: "composite"` (15 s), made at
 * the same time. Every measure is taken on pixels of the final MP4 and the stored pictures
 * (bench/seam-analysis.ts defines them), never by eye.
 *
 * The stack renders chunks of at most 2 s (`MAX_CHUNK_FRAMES=48`). The spec is the demo's
 * (beats timed for Wan 2.2's 5–7.5 s clips), but with chunks as long as those clips a 30 s demo
 * ad has one chunk per beat (6 beats, 6 chunks) and no seam inside a beat to measure; cut in 2 s
 * chunks its beats have 2–4 chunks each, whose seams are the ones this issue is about (a beat
 * longer than the model's clip has them in any configuration).
 */

/** 2 s at 24 fps: every beat of the demo ad splits into several chunks. */
const CHUNK_FRAMES = 48;
const LINEAR = Float64Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));
const PROMPT = "Launch of Aurora, a sleek matte-black smart water bottle that glows blue to remind busy professionals to drink, on a sunny city rooftop";

let dir: string;
let stack: Stack;
let key: string;
let client: AdreelClient;
let continuity: MadeAd;
let composite: MadeAd;
let continuityFrames: AdFrames;
/** Each chunk's prediction at the draft provider, by video and chunk number. */
const predictions = new Map<string, Map<number, Prediction>>();

async function make(duration_s: 15 | 30, conditioning?: Conditioning): Promise<MadeAd> {
  const { video_id } = await client.generate({ prompt: PROMPT, duration_s, ...(conditioning ? { conditioning } : {}) });
  const end = await client.watch(video_id, () => undefined, 540_000);
  if (end.status !== "complete") throw new Error(`${conditioning ?? "default"} ad ${video_id} ended ${end.status}: ${end.error}\n${stack.logs().worker.slice(-2000)}`);
  return fetchMadeAd(stack, client, key, video_id, dir);
}

/** Which prediction rendered which chunk: the run's log says when each chunk job started predicting. */
async function chunkPredictions(ad: MadeAd, all: readonly Prediction[]): Promise<Map<number, Prediction>> {
  const log = await fetchEventLog(stack.workerUrl, key, ad.videoId);
  const byChunk = new Map<number, Prediction>();
  for (const event of log.events) {
    const job = event.job as { kind: string; idx: number; status: string } | undefined;
    if (event.type !== "job" || job?.kind !== "chunk" || job.status !== "predicting") continue;
    byChunk.set(job.idx, all.find((p) => p.id === event.prediction_id)!);
  }
  return byChunk;
}

/** The R2 key a signed media URL points at. */
/** The media key a service URL names: a presigned R2 URL's (`…/<bucket>/<key>`, the local stack's) or the Worker's `/media/<key>` route's. */
const keyOf = (url: unknown) => {
  const path = new URL(String(url)).pathname;
  const bucket = path.indexOf(`/${MEDIA_BUCKET}/`);
  return decodeURIComponent(bucket >= 0 ? path.slice(bucket + MEDIA_BUCKET.length + 2) : path.slice("/media/".length));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adreel-seams-"));
  stack = await startStack({ stateDir: join(dir, "state"), vars: { MAX_CHUNK_FRAMES: String(CHUNK_FRAMES) } });
  key = await createDevKey(stack);
  client = new AdreelClient(stack.workerUrl, key);
  [continuity, composite] = await Promise.all([make(30), make(15, "composite")]);
  const all = await draftPredictions(stack);
  for (const ad of [continuity, composite]) predictions.set(ad.videoId, await chunkPredictions(ad, all));
  continuityFrames = await decodeAd(continuity);
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the demo ad with the default setting (continuity)", () => {
  it("steps at every seam inside a beat by at most 2× the median frame difference inside chunks", () => {
    expect(continuity.conditioning).toBe("continuity");
    const jumps = withinBeatJumps(continuity, continuityFrames);
    console.info(`seams inside beats: median step ${jumps.medianStep.toFixed(2)} luma levels; ratios ${jumps.seams.map((s) => s.ratio.toFixed(2)).join(" ")}`);
    // Every beat of the demo's spec is longer than one chunk.
    expect(continuity.plan.every((c) => c.frames <= CHUNK_FRAMES && c.chunks_in_beat >= 2)).toBe(true);
    expect(jumps.seams.length).toBeGreaterThanOrEqual(continuity.spec.beats.length);
    for (const seam of jumps.seams) expect(seam.ratio, `seam into chunk ${seam.chunk_num} at frame ${seam.at_frame}`).toBeLessThanOrEqual(2);
    // The stitch job measured the same seams and found nothing to flag; every beat transition plays as planned.
    const report = continuity.stitch.seams!;
    expect(report.seams).toHaveLength(continuity.plan.length - 1);
    expect(report.seams.filter((s) => s.flagged)).toEqual([]);
    expect(report.seams.filter((s) => s.kind === "beat_transition").every((s) => s.transition_delivered)).toBe(true);
  });

  it("shows the same scores in GET /api/video/{id} (consistency.seams), for both ads, flagging the composite's jumps", async () => {
    for (const ad of [continuity, composite]) {
      const { consistency } = await client.video(ad.videoId);
      expect(consistency!.seams).toEqual(ad.stitch.seams!.seams);
      expect(consistency!.flagged_seams).toEqual(ad.stitch.seams!.seams.filter((s) => s.flagged).map((s) => s.chunk_num));
    }
    expect((await client.video(continuity.videoId)).consistency!.flagged_seams).toEqual([]);
    expect((await client.video(composite.videoId)).consistency!.flagged_seams.length).toBeGreaterThan(0);
  });

  it("has no frame that is a double exposure of the pictures its chunk was made from", async () => {
    const { judged, found } = await doubleExposures(continuity, continuityFrames);
    expect(judged).toBeGreaterThan(0.9 * continuity.spec.total_frames - 60);
    expect(found.map((f) => `frame ${f.frame} (chunk ${f.chunk_num}, α ${f.verdict.mix?.alpha.toFixed(2)})`)).toEqual([]);
  });

  it("started every chunk from its storyboard frame or the previous chunk's exact last frame, and ended the beats that push in on their end frames", async () => {
    const rendered = predictions.get(continuity.videoId)!;
    expect(rendered.size).toBe(continuity.plan.length);
    let ends = 0;
    for (const chunk of continuity.plan) {
      const input = rendered.get(chunk.chunk_num)!.input!;
      const plan = continuity.conditioned[chunk.chunk_num]!;
      if (plan.strategy !== "continuity") throw new Error("not a continuity plan");
      expect(keyOf(input.start_image), `chunk ${chunk.chunk_num}`).toBe(chunk.first_in_beat ? mediaKeys.storyboard(continuity.videoId, chunk.beat_index) : mediaKeys.lastFrame(continuity.videoId, chunk.chunk_num - 1));
      if (!plan.end) {
        expect(input.last_image).toBeUndefined();
        continue;
      }
      ends++;
      expect(keyOf(input.last_image)).toBe(mediaKeys.endFrame(continuity.videoId, chunk.chunk_num));
      // The chunk's last frame as the viewer sees it is its end frame (its outgoing transition, if any, starts after it).
      const last = chunk.video_start_frame + chunk.frames - 1 - chunk.seam_out.frames;
      const end = await continuity.picture(mediaKeys.endFrame(continuity.videoId, chunk.chunk_num), continuityFrames.width, continuityFrames.height);
      if (chunk.seam_out.frames === 0) expect(meanAbsoluteDifference(lumaOf(end!), continuityFrames.luma[last]!)).toBeLessThan(3);
    }
    expect(ends).toBe(continuity.conditioned.filter((c) => c.strategy === "continuity" && c.end).length);
    console.info(`${ends} chunk(s) of the demo ad ended on an end frame`);
  });
});

describe("conditioning: composite (seed 003)", () => {
  /** Least-squares share of `a` in `mixed` ≈ α·a + (1 − α)·b, in linear light, and the fit's RMS error in code values. */
  async function blendOf(mixed: Buffer, a: Buffer, b: Buffer): Promise<{ alpha: number; rmsCodeValues: number }> {
    const size = { width: composite.spec.width, height: composite.spec.height };
    const [m, x, y] = await Promise.all([mixed, a, b].map((image) => sharp(image).resize(size.width, size.height, { fit: "cover" }).flatten({ background: "#FFFFFF" }).removeAlpha().raw().toBuffer()));
    let num = 0;
    let den = 0;
    for (let i = 0; i < m!.length; i++) {
      const [lm, lx, ly] = [LINEAR[m![i]!]!, LINEAR[x![i]!]!, LINEAR[y![i]!]!];
      num += (lm - ly) * (lx - ly);
      den += (lx - ly) ** 2;
    }
    const alpha = num / den;
    let squared = 0;
    for (let i = 0; i < m!.length; i++) squared += (255 * linearToSrgb(alpha * LINEAR[x![i]!]! + (1 - alpha) * LINEAR[y![i]!]!) - m![i]!) ** 2;
    return { alpha, rmsCodeValues: Math.sqrt(squared / m!.length) };
  }

  const fetchFull = async (ad: MadeAd, r2Key: string) => {
    const picture = await ad.picture(r2Key, ad.spec.width, ad.spec.height);
    if (!picture) throw new Error(`${r2Key} is not stored`);
    return sharp(picture, { raw: { width: ad.spec.width, height: ad.spec.height, channels: 3 } }).png().toBuffer();
  };

  it("starts every chunk from its composite: storyboard 70 % + style 30 % for a beat's first chunk, previous last frame 70 % + storyboard 30 % after; the run completes", async () => {
    expect(composite.snapshot.status).toBe("complete");
    const rendered = predictions.get(composite.videoId)!;
    expect(rendered.size).toBe(composite.plan.length);
    expect(composite.plan.some((c) => !c.first_in_beat)).toBe(true);
    for (const chunk of composite.plan) {
      const input = rendered.get(chunk.chunk_num)!.input!;
      const compositeKey = mediaKeys.composite(composite.videoId, chunk.chunk_num);
      expect(keyOf(input.start_image)).toBe(compositeKey);
      expect(input.last_image).toBeUndefined();
      const [heavy, light] = chunk.first_in_beat
        ? [mediaKeys.storyboard(composite.videoId, chunk.beat_index), composite.styleKey!]
        : [mediaKeys.lastFrame(composite.videoId, chunk.chunk_num - 1), mediaKeys.storyboard(composite.videoId, chunk.beat_index)];
      const fit = await blendOf(await fetchFull(composite, compositeKey), await fetchFull(composite, heavy), await fetchFull(composite, light));
      expect(fit.alpha, `chunk ${chunk.chunk_num}`).toBeCloseTo(0.7, 2);
      expect(fit.rmsCodeValues, `chunk ${chunk.chunk_num}`).toBeLessThan(1);
    }
  });

  it("opens its chunks on double exposures the detector finds, and jumps at seams inside beats", async () => {
    const frames = await decodeAd(composite);
    // Each chunk's first three frames (not all of them: the point is that the detector sees these
    // ghosts), on the rows the finish leaves clear, where those are at least 40 % of the frame:
    // wide enough to hold the blend's α to 0.05 (bench/seam-analysis.ts). None judged fails too.
    const { judged, found } = await doubleExposures(composite, frames, 1_000, { minClearShare: 0.4 });
    console.info(`composite: ${found.length} of ${judged} opening frames are double exposures`);
    expect(found.length).toBeGreaterThan(0.8 * judged);
    // The blend the detector finds is the composite's: 70/30, whichever of the two it lists first.
    for (const f of found) expect(Math.max(f.verdict.mix!.alpha, 1 - f.verdict.mix!.alpha), `frame ${f.frame}`).toBeCloseTo(0.7, 1);
    expect(composite.stitch.seams!.seams.filter((s) => s.kind === "within_beat").some((s) => s.flagged)).toBe(true);
  });
});

describe("the live page", () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  it("shows every seam's scores and marks the bad ones", async () => {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", timeout: 30_000, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    for (const ad of [composite, continuity]) {
      await page.goto(`${stack.workerUrl}/?key=${key}#video=${ad.videoId}`);
      await page.waitForSelector("#seams-block:not([hidden])", { timeout: 30_000 });
      const rows = await page.$$eval("#seams tr", (trs) => trs.map((tr) => ({ chunk: Number((tr as HTMLElement).dataset.chunk), flagged: tr.classList.contains("flagged"), verdict: tr.lastElementChild!.textContent })));
      const seams = ad.stitch.seams!.seams;
      expect(rows.map((r) => r.chunk)).toEqual(seams.map((s) => s.chunk_num));
      expect(rows.map((r) => r.flagged)).toEqual(seams.map((s) => s.flagged));
      if (ad === composite) {
        expect(rows.some((r) => r.flagged && /^⚠ jumps \d+\.\d× \(limit 2×\)/.test(r.verdict ?? ""))).toBe(true);
        expect(await page.textContent("#seams-summary")).toMatch(/^\d+ of \d+ seams flagged\.$/);
      } else {
        expect(await page.textContent("#seams-summary")).toMatch(/^No seam flagged/);
      }
    }
    expect(errors).toEqual([]);
  }, 60_000);
});
