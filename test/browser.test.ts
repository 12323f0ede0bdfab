import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDevKey, type Stack, startStack } from "../scripts/stack.ts";

/**
 * The live page in a real browser (Debian's chromium, never a downloaded one) against the
 * real local stack: submit an ad, watch it arrive over the WebSocket, play the result.
 */

const PIPELINE = ["queued", "planning", "generating_references", "storyboarding", "generating_chunks", "stitching", "adding_music", "complete"];
const SCREENSHOT = "/tmp/adreel-live-page.png";

let dir: string;
let stack: Stack;
let key: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  const started = Date.now();
  dir = mkdtempSync(join(tmpdir(), "adreel-browser-"));
  [stack, browser] = await Promise.all([
    startStack({ stateDir: join(dir, "state") }),
    chromium.launch({
      executablePath: "/usr/bin/chromium",
      timeout: 30_000,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
    }),
  ]);
  key = await createDevKey(stack);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15_000);
  console.info(`browser test: stack and chromium up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 150_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Sample {
  phase: string | undefined;
  progress: number;
  cells: number;
  previews: number;
}

const sample = (page: Page): Promise<Sample> =>
  page.evaluate(() => ({
    phase: document.getElementById("phase")!.dataset.phase,
    progress: (document.getElementById("progress") as HTMLProgressElement).value,
    cells: document.querySelectorAll("#chunks .cell").length,
    previews: document.querySelectorAll("#chunks .cell video").length,
  }));

/** Every JSON frame the page's live WebSockets receive, appended to `frames` as it arrives. */
function recordFrames<T extends { type: string }>(page: Page, frames: T[]): void {
  page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => typeof payload === "string" && payload !== "pong" && frames.push(JSON.parse(payload) as T)));
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => message.type() === "error" && errors.push(`${message.text()} ${message.location().url}`));
  return errors;
}

async function expectPlays(page: Page): Promise<{ duration: number; currentTime: number }> {
  await page.$eval("#final", (v: HTMLVideoElement) => {
    v.muted = true;
    return v.play();
  });
  await page.waitForFunction(() => {
    const v = document.getElementById("final") as HTMLVideoElement;
    return v.readyState >= 2 && v.currentTime > 0;
  }, undefined, { timeout: 15_000 });
  return page.$eval("#final", (v: HTMLVideoElement) => ({ duration: v.duration, currentTime: v.currentTime }));
}

/** A product shot: a lit cylinder on a warm backdrop. */
function productPhoto(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#f4a259"/><rect x="330" y="140" width="140" height="320" rx="40" fill="#1f2937"/><circle cx="400" cy="200" r="36" fill="#fde047"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Every chunk preview has decoded a frame (an empty <video> would pass a count). */
async function expectPreviewsDecoded(page: Page): Promise<void> {
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLVideoElement>("#chunks .cell video")].every((v) => v.readyState >= 2 && v.videoWidth > 0));
}

/** How much picture an image has: the standard deviation of its grey levels below `skipTop` of its height (a flat box is ~0). */
async function pictureSpread(png: Buffer, skipTop: number): Promise<number> {
  const { width, height } = await sharp(png).metadata();
  const top = Math.floor(height! * skipTop);
  const stats = await sharp(png).extract({ left: 0, top, width: width!, height: height! - top }).greyscale().stats();
  return stats.channels[0]!.stdev;
}

/**
 * Every finished chunk keeps its last frame as its still (the clip's poster, and the picture once
 * the clip has played), so no cell is a blank box; the final player has a poster frame. Each is
 * checked as painted: a screenshot of every cell (below its label) and the poster have picture.
 */
async function expectStills(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    Boolean(document.getElementById("final")!.getAttribute("poster")) &&
    [...document.querySelectorAll<HTMLElement>("#chunks .cell")].every((cell) => {
      const frame = cell.querySelector<HTMLImageElement>("img.frame");
      const clip = cell.querySelector<HTMLVideoElement>("video");
      return frame !== null && frame.complete && frame.naturalWidth > 0 && /-last\.png\?/.test(frame.src) && clip !== null && clip.poster === frame.src;
    }),
  );
  const cells = page.locator("#chunks .cell");
  for (let i = 0; i < (await cells.count()); i++) expect(await pictureSpread(await cells.nth(i).screenshot(), 0.5), `chunk cell ${i}`).toBeGreaterThan(5);
  const poster = await page.getAttribute("#final", "poster");
  expect(poster).toMatch(/\/chunks\/\d+-last\.png\?/);
  expect(await page.evaluate((src) => new Promise<number>((loaded) => Object.assign(new Image(), { onload: function (this: HTMLImageElement) { loaded(this.naturalWidth); }, onerror: () => loaded(0), src })), poster!)).toBeGreaterThan(0);
  expect(await pictureSpread(Buffer.from(await (await fetch(poster!)).arrayBuffer()), 0)).toBeGreaterThan(5);
}

describe("the live page", () => {
  let videoId: string;

  it("submits a 15 s ad and follows it live over the WebSocket to a video that plays", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const frames: { type: string; snapshot?: { spec: unknown } | null; job?: { id: string; kind: string; status: string }; frame_url?: string }[] = [];
    recordFrames(page, frames);

    await page.goto(`${stack.workerUrl}/?key=${key}`);
    // Counts every last-frame image the grid shows, however briefly (sampling could miss them).
    await page.evaluate(() => {
      (window as unknown as { framesShown: number }).framesShown = 0;
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLImageElement && n.classList.contains("frame")) (window as unknown as { framesShown: number }).framesShown++;
      }).observe(document.getElementById("chunks")!, { subtree: true, childList: true });
    });
    // The key is kept for the next visit but leaves the address bar.
    expect(page.url()).not.toContain(key);
    expect(await page.inputValue("#api-key")).toBe(key);

    await page.fill("#prompt", "Glowline, a bike light that projects a lane onto the road for night commuters");
    await page.selectOption("#duration", "15");
    // The finish: the user's own call to action, and the captions as a file beside the video.
    await page.click("#finish-options > summary");
    await page.fill("#cta", "Ride home seen");
    await page.selectOption("#captions", "sidecar");
    // A product photo, uploaded from the form: it becomes a reference image as asset:<id>.
    await page.click("#compose details > summary");
    await page.setInputFiles("#product-upload", { name: "glowline.png", mimeType: "image/png", buffer: await productPhoto() });
    await page.waitForFunction(() => /^asset:[0-9a-f-]{36}$/.test((document.getElementById("product-images") as HTMLInputElement).value), undefined, { timeout: 30_000 });
    expect(await page.textContent("#upload-status")).toContain("glowline.png (800×600) is ready as asset:");
    await page.click("#submit");
    await page.waitForSelector("#run:not([hidden])");
    videoId = (await page.textContent("#video-id"))!;
    expect(videoId).toMatch(/^[0-9a-f-]{36}$/);

    const samples: Sample[] = [];
    const submitted = Date.now();
    // A 15 s draft ad takes ~40 s here; the margin lets the run recover work whose queue
    // consumer was lost (its lease expires after ~90 s), which happens on a loaded machine.
    const deadline = submitted + 150_000;
    for (;;) {
      const s = await sample(page);
      samples.push(s);
      if (s.phase === "complete" || s.phase === "failed") break;
      if (Date.now() > deadline) {
        const seen = (await page.$$eval("#log li", (items) => items.map((li) => li.textContent))).join("\n");
        throw new Error(`still ${s.phase} at ${s.progress}% after 150 s; the page saw:\n${seen.slice(-3000)}\nmedia-node:\n${stack.logs().media.slice(-3000)}`);
      }
      await page.waitForTimeout(100);
    }
    console.info(`browser test: the ad completed ${((Date.now() - submitted) / 1000).toFixed(1)} s after submitting`);
    expect(await page.textContent("#run-error")).toBe("");
    expect(samples.at(-1)!.phase).toBe("complete");

    // The phase moved through the pipeline, in order, and the bar only rose, in several steps.
    const phases = samples.map((s) => s.phase!).filter((p, i, all) => p !== all[i - 1]);
    expect(phases.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < phases.length; i++) expect(PIPELINE.indexOf(phases[i]!)).toBeGreaterThan(PIPELINE.indexOf(phases[i - 1]!));
    const progress = samples.map((s) => s.progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
    expect(new Set(progress).size).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toBe(100);
    expect(await page.textContent("#progress-text")).toBe("100%");

    // All of it came over the socket: a snapshot, then live events.
    expect(frames[0]?.type).toBe("snapshot");
    for (const type of ["phase", "progress", "job", "reference_images_ready", "complete"]) expect(frames.map((f) => f.type)).toContain(type);
    // The plan is often ready before the page's socket opens (queue hand-offs have no batch delay): then the snapshot carries it.
    expect(frames.some((f) => f.type === "spec") || Boolean(frames[0]?.snapshot?.spec)).toBe(true);

    // The chunk grid filled, each finished chunk with its own preview clip.
    // Cells appear once the plan is known, previews as chunks finish: both while the video runs.
    expect(samples.some((s) => s.cells > 0 && s.phase !== "complete")).toBe(true);
    expect(samples.some((s) => s.previews > 0 && s.phase === "generating_chunks")).toBe(true);
    const grid = await sample(page);
    expect(grid.cells).toBeGreaterThanOrEqual(3);
    expect(grid.previews).toBe(grid.cells);
    expect(await page.$$eval("#chunks .cell", (cells) => cells.every((c) => (c as HTMLElement).dataset.status === "done"))).toBe(true);
    // Each chunk's last frame was published before its clip (the next chunk of its beat starts from it),
    // but the chunk the phase ended with, normalized in its ingest, whose frame came with its clip;
    // shown in the grid, it stays as the cell's still once the clip has come (expectStills, below).
    const published = frames.filter((f) => f.type === "job" && f.job?.kind === "chunk" && (f.job.status === "normalizing" || (f.job.status === "done" && f.frame_url !== undefined)));
    expect(new Set(published.map((f) => f.job!.id)).size).toBe(grid.cells);
    expect(published.every((f) => typeof f.frame_url === "string" && f.frame_url.includes("-last.png"))).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { framesShown: number }).framesShown)).toBeGreaterThan(0);
    await expectPreviewsDecoded(page);

    // The 3 reference images, loaded, with the consistency message; a storyboard frame per beat.
    expect(await page.textContent("#references-message")).toContain("Using these 3 reference images");
    expect(await page.$$eval("#references figcaption", (captions) => captions.map((c) => c.textContent))).toContain("product · brand asset");
    await page.waitForFunction(() => {
      const images = [...document.querySelectorAll<HTMLImageElement>("#references img")];
      return images.length === 3 && images.every((img) => img.complete && img.naturalWidth > 0);
    });
    expect(await page.$$eval("#storyboard img", (images) => images.length)).toBeGreaterThanOrEqual(3);
    expect(await page.textContent("#cost")).toMatch(/Cost so far \$\d+\.\d{4} of an estimated \$\d+\.\d\d/);

    // The final ad plays (Debian's chromium decodes H.264) and is offered for download.
    const src = await page.getAttribute("#final", "src");
    expect(src).toMatch(new RegExp(`^${stack.workerUrl}/media/videos/${videoId}/final\\.mp4\\?`));
    expect(await page.getAttribute("#download", "href")).toBe(src);
    // The copy as planned, with the CTA the form set; the captions offered beside the video.
    expect(await page.textContent("#copy")).toContain("Ride home seen");
    expect(await page.textContent("#copy")).toContain("sidecar");
    await page.waitForSelector("#captions-link:not([hidden])", { timeout: 10_000 });
    expect(await page.getAttribute("#captions-link", "href")).toMatch(new RegExp(`^${stack.workerUrl}/media/videos/${videoId}/captions\\.vtt\\?`));
    const played = await expectPlays(page);
    expect(Math.abs(played.duration - 15)).toBeLessThan(0.1);
    await expectStills(page);

    // The past-videos table lists it as complete.
    await page.waitForSelector(`#videos tr[data-video="${videoId}"][data-status="complete"]`);
    // A frame from the middle of the ad really was decoded: it has picture, not a flat colour.
    const frame = await page.$eval("#final", (v: HTMLVideoElement) => new Promise<{ mean: number; spread: number }>((seeked) => {
      v.pause();
      v.onseeked = () => {
        const canvas = Object.assign(document.createElement("canvas"), { width: 64, height: 36 });
        const context = canvas.getContext("2d")!;
        context.drawImage(v, 0, 0, 64, 36);
        const rgba = context.getImageData(0, 0, 64, 36).data;
        const luma: number[] = [];
        for (let i = 0; i < rgba.length; i += 4) luma.push(0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!);
        const mean = luma.reduce((a, b) => a + b, 0) / luma.length;
        seeked({ mean, spread: Math.sqrt(luma.reduce((a, b) => a + (b - mean) ** 2, 0) / luma.length) });
      };
      v.currentTime = 6;
    }));
    expect(frame.mean).toBeGreaterThan(20);
    expect(frame.spread).toBeGreaterThan(5);

    // Chromium paints only on-screen videos: make the whole page the viewport for the screenshot.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1280, height });
    await page.waitForTimeout(500);
    await page.screenshot({ path: SCREENSHOT });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("reopens a past video from the table: media from the snapshot and the video record", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${stack.workerUrl}/`); // the key is remembered
    await page.click(`#videos tr[data-video="${videoId}"]`);
    await page.waitForFunction(() => document.getElementById("phase")!.dataset.phase === "complete");
    await page.waitForFunction(() => document.querySelectorAll("#references img").length === 3 && (document.getElementById("final") as HTMLVideoElement).src !== "");
    const grid = await sample(page);
    expect(grid.cells).toBeGreaterThanOrEqual(3);
    expect(grid.previews).toBe(grid.cells);
    await expectPreviewsDecoded(page);
    await expectStills(page);
    expect(await page.textContent("#references-message")).toContain("Using these 3 reference images");
    expect(await page.getAttribute(`#videos tr[data-video="${videoId}"]`, "class")).toContain("current");
    await expectPlays(page);
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  it("regenerates one beat from the page: that beat's chunks are redone, the others kept, and the new ad plays", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const frames: { type: string; beat?: number; chunk_nums?: number[] }[] = [];
    recordFrames(page, frames);
    await page.goto(`${stack.workerUrl}/#video=${videoId}`); // the address resumes the video
    await page.waitForFunction(() => document.getElementById("phase")!.dataset.phase === "complete" && (document.getElementById("final") as HTMLVideoElement).src !== "");
    const BEAT = "1";
    const control = `#beats li[data-beat="${BEAT}"]`;
    await page.waitForSelector(`${control} button:not([disabled])`);

    interface Cell { job: string; beat: string; status: string; src: string | null }
    const grid = (): Promise<{ phase: string; progress: number; cost: string; cells: Cell[] }> =>
      page.evaluate(() => ({
        phase: document.getElementById("phase")!.dataset.phase!,
        progress: (document.getElementById("progress") as HTMLProgressElement).value,
        cost: document.getElementById("cost")!.textContent!,
        cells: [...document.querySelectorAll<HTMLElement>("#chunks .cell")].map((c) => ({ job: c.dataset.job!, beat: c.dataset.beat!, status: c.dataset.status!, src: c.querySelector("video")?.getAttribute("src") ?? null })),
      }));
    const costOf = (text: string) => Number(/\$(\d+\.\d+)/.exec(text)![1]);
    // The page shows four decimals; a draft chunk costs about $0.0001, so growth is read from the API's exact figure.
    const apiCost = async () => ((await (await fetch(`${stack.workerUrl}/api/video/${videoId}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { cost_usd: number }).cost_usd;
    const costBefore = await apiCost();
    const before = await grid();
    const redo = before.cells.filter((c) => c.beat === BEAT);
    const kept = before.cells.filter((c) => c.beat !== BEAT);
    expect(redo.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    expect(before.cells.every((c) => c.status === "done" && c.src)).toBe(true);
    const finalBefore = await page.getAttribute("#final", "src");

    await page.fill(`${control} input`, "Night rain, the lane of light glides across wet asphalt");
    await page.click(`${control} button`);
    const samples: Awaited<ReturnType<typeof grid>>[] = [];
    const started = Date.now();
    // ~10 s here; the margin, as above, lets the run recover work whose queue consumer was lost.
    const deadline = started + 150_000;
    for (;;) {
      const s = await grid();
      samples.push(s);
      if (s.phase === "complete" && (await page.textContent("#beats-status"))!.includes("rendered again")) break;
      if (s.phase === "failed" || Date.now() > deadline) {
        const seen = (await page.$$eval("#log li", (items) => items.map((li) => li.textContent))).join("\n");
        throw new Error(`regeneration still ${s.phase} at ${s.progress}% after ${((Date.now() - started) / 1000).toFixed(0)} s; the page saw:\n${seen.slice(-3000)}\nmedia-node:\n${stack.logs().media.slice(-3000)}`);
      }
      await page.waitForTimeout(100);
    }
    const took = (Date.now() - started) / 1000;
    console.info(`browser test: beat ${BEAT} was regenerated in ${took.toFixed(1)} s`);
    if (took > 30) console.info(`browser test: the slow regeneration's events:\n${(await page.$$eval("#log li", (items) => items.map((li) => li.textContent))).slice(-60).join("\n")}`);
    expect(await page.textContent("#run-error")).toBe("");
    const regenerated = frames.find((f) => f.type === "regenerate");
    expect(regenerated).toMatchObject({ beat: Number(BEAT) });
    expect(regenerated!.chunk_nums).toHaveLength(redo.length);

    // The beat's cells went back (no preview, not done) and came through generating to done again;
    // the other beats' cells stayed done with their previews throughout.
    const during = samples.filter((s) => s.phase !== "complete");
    expect(during.length).toBeGreaterThan(0);
    expect(during.some((s) => s.cells.filter((c) => c.beat === BEAT).every((c) => c.status !== "done" && c.src === null))).toBe(true);
    const seen = new Set(during.flatMap((s) => s.cells.filter((c) => c.beat === BEAT).map((c) => c.status)));
    expect([...seen].some((status) => ["queued", "running", "creating", "predicting", "ingesting", "normalizing"].includes(status)), [...seen].join(", ")).toBe(true);
    for (const s of samples) for (const c of kept) expect(s.cells.find((x) => x.job === c.job)).toEqual(c);
    const after = await grid();
    for (const c of redo) {
      const now = after.cells.find((x) => x.job === c.job)!;
      expect(now.status).toBe("done");
      expect(now.src).toBeTruthy();
      expect(now.src).not.toBe(c.src);
    }
    await expectPreviewsDecoded(page);

    // Progress started a new pass below 100 and rose to 100; the phases ran in pipeline order; the cost grew.
    const progress = during.map((s) => s.progress);
    expect(Math.min(...progress)).toBeLessThan(100);
    const pass = progress.slice(progress.indexOf(Math.min(...progress)));
    for (let i = 1; i < pass.length; i++) expect(pass[i]).toBeGreaterThanOrEqual(pass[i - 1]!);
    expect(after.progress).toBe(100);
    const phases = during.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases[0]).toBe("generating_chunks");
    for (let i = 1; i < phases.length; i++) expect(PIPELINE.indexOf(phases[i]!)).toBeGreaterThan(PIPELINE.indexOf(phases[i - 1]!));
    expect(costOf(after.cost)).toBeGreaterThanOrEqual(costOf(before.cost));
    expect(await apiCost()).toBeGreaterThan(costBefore);

    // The beat's new prompt is shown, and the player has the new final video, which plays.
    expect(await page.textContent(`${control} .beat-prompt`)).toBe("Night rain, the lane of light glides across wet asphalt");
    expect(await page.inputValue(`${control} input`)).toBe("");
    await page.waitForSelector(`${control} button:not([disabled])`);
    const finalAfter = await page.getAttribute("#final", "src");
    expect(finalAfter).toMatch(new RegExp(`^${stack.workerUrl}/media/videos/${videoId}/final\\.mp4\\?`));
    expect(finalAfter).not.toBe(finalBefore);
    expect(await page.isVisible("#final-block")).toBe(true);
    const played = await expectPlays(page);
    expect(Math.abs(played.duration - 15)).toBeLessThan(0.1);
    await expectStills(page);
    await page.waitForSelector(`#videos tr[data-video="${videoId}"][data-status="complete"]`);
    await page.screenshot({ path: "/tmp/adreel-regenerated-beat.png", fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("offers a complete draft's standard render with its estimate, and \"Render for real\" starts it", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${stack.workerUrl}/#video=${videoId}`);
    await page.waitForSelector("#render-block:not([hidden]) #render-standard:not([disabled])");
    // The page shows what the API's dry run says, and the dry run spent nothing.
    const api = (path: string, body?: unknown) =>
      fetch(`${stack.workerUrl}${path}`, { method: body ? "POST" : "GET", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) }).then((r) => r.json());
    const estimate = (await api(`/api/video/${videoId}/render`, { quality: "standard", dry_run: true })) as { cost_estimate: { total_usd: number }; chunks: number };
    expect(Number(await page.getAttribute("#render-estimate", "data-usd"))).toBe(estimate.cost_estimate.total_usd);
    expect(await page.textContent("#render-estimate")).toMatch(new RegExp(`estimated \\$\\d+\\.\\d+ \\(${estimate.chunks} video clips;`));
    expect(((await api(`/api/video/${videoId}`)) as { renders: string[] }).renders).toEqual([]);

    await page.click("#render-standard");
    await page.waitForFunction((draft) => { const shown = document.getElementById("video-id")!.textContent; return !!shown && shown !== draft; }, videoId);
    const renderedId = (await page.textContent("#video-id"))!;
    expect(await api(`/api/video/${renderedId}`)).toMatchObject({ quality: "standard", rendered_from: videoId });
    expect(((await api(`/api/video/${videoId}`)) as { renders: string[] }).renders).toEqual([renderedId]);
    // The new video is followed live; a standard video offers no render of its own.
    await page.waitForFunction(() => document.getElementById("phase")!.dataset.phase !== "queued");
    expect(await page.isHidden("#render-block")).toBe(true);
    await api(`/api/video/${renderedId}/cancel`, {});
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("renders the API reference at /docs from /openapi.json", async () => {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${stack.workerUrl}/docs`);
    await page.waitForSelector(".operation");
    const served = (await (await fetch(`${stack.workerUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(await page.$$eval(".operation", (ops) => ops.length)).toBe(Object.values(served.paths).reduce((n, ops) => n + Object.keys(ops).length, 0));
    expect(await page.textContent("#op-watchVideo")).toContain("WebSocket messages");
    expect(await page.$$eval("#schemas .schema", (s) => s.length)).toBeGreaterThanOrEqual(15);
    await page.fill("nav input", "revoke");
    expect(await page.$$eval(".operation:not([hidden])", (ops) => ops.map((o) => o.id))).toEqual(["op-revokeApiKey"]);
    await page.screenshot({ path: "/tmp/adreel-docs-page.png" });
    expect(errors).toEqual([]);
    await page.close();
  }, 20_000);
});
