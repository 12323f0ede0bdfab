/**
 * Stitching benchmark: `tsx bench/stitch.ts [--runs N]`.
 *
 * A 30 s 1024x576 ad: 15 chunks of distinct synthetic content normalized by normalize.ts
 * (2 s each on screen, the first 14 carrying 12 extra frames for 0.5 s fades, so the chunks
 * hold 720 + 168 frames and the stitched video 720), joined by 14 fades. Measured in one run:
 *   (a)  single-pass xfade re-encode with x264's defaults (preset medium): the naive baseline
 *   (a') single-pass with CHUNK_ENCODING (veryfast, no B-frames): how much is just the preset
 *   (b)  seams: re-encode the 14 transition windows (SEAM_ENCODING), stream-copy the rest
 *   (c)  plain stream-copy concat of the chunks, no transitions: the floor
 *   (d)  the critical path: seams + muxing the prepared music track
 *   (e)  seams + the ad's overlays (headline on one beat, end card on the last 1.5 s), rendered
 *        in the run as the pipeline's stitch step does (media-node /finish/overlays, then the stitch)
 *   (f)  (e) + burned captions (a cue on every chunk, ~60 % of the frames), chunks normalized
 *        without keyframes at the cue ends: each cue's encode runs on to the next keyframe
 *   (g)  (f) with chunks normalized with keyframes at the cue ends (`decorationKeyframes`)
 *   (h)  (f) with each cue held to the chunk's next keyframe (`holdCuesToKeyframes`): what the
 *        pipeline does for a chunk normalized before the soundtrack timed the voice
 * Runs are interleaved across the steps (the machine is shared). Peak RSS and CPU of every
 * ffmpeg/ffprobe child come from /usr/bin/time (PATH-wrapped, so the code under test is
 * unchanged); this process's own RSS is sampled while it stitches.
 * Results go to stdout and to docs/BENCHMARKS.md, section "## Stitching (bench/stitch.ts)".
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { muxFinal } from "../media-node/audio/mux.ts";
import { prepareMusic } from "../media-node/audio/music.ts";
import { prepareSoundtrack } from "../media-node/audio/soundtrack.ts";
import { speakLine } from "../draft/speech.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { CHUNK_ENCODING, type VideoEncoding } from "../media-node/video/encoding.ts";
import { normalizeChunk } from "../media-node/video/normalize.ts";
import { type StitchChunk, stitchChunks } from "../media-node/video/stitch.ts";
import { cueFrames, decorationKeyframes, holdCuesToKeyframes } from "../contracts/media.ts";
import { renderEndCard, renderHeadline } from "../media-node/finish/overlays.ts";
import type { Decorations } from "../media-node/video/decoration.ts";
import type { PlanJoin } from "../lib/stitch-plan.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { table, writeSection } from "./results-doc.ts";
import { median } from "./stats.ts";

const WIDTH = 1024;
const HEIGHT = 576;
const FPS = 24;
const CHUNKS = 15;
const ON_SCREEN = 48;
const FADE = 12;
const SECTION = "## Stitching (bench/stitch.ts)";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

/** x264 as a naive stitcher would call it: `-c:v libx264 -pix_fmt yuv420p`, everything else default. */
const X264_DEFAULTS: VideoEncoding = { codec: "libx264", preset: "medium", crf: 23, profile: "high", level: "4.0", pixelFormat: "yuv420p", bFrames: 3, keyint: 250, x264Params: "" };

const SOURCES = ["testsrc2", "smptehdbars", "testsrc", "rgbtestsrc", "gradients=speed=0.05", "cellauto=rule=110", "life=mold=10:r=30:ratio=0.1:death_color=#C83232:life_color=#00ff00", "yuvtestsrc", "pal100bars"];

const work = await mkdtemp(join(tmpdir(), "adreel-bench-stitch-"));
const rssLog = join(work, "rss.log");

/** Put /usr/bin/time in front of ffmpeg and ffprobe for every child spawned from here on. */
async function wrapChildren(): Promise<boolean> {
  if (!existsSync("/usr/bin/time")) return false;
  const bin = join(work, "bin");
  await mkdir(bin);
  for (const tool of ["ffmpeg", "ffprobe"]) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`]).toString().trim();
    await writeFile(join(bin, tool), `#!/bin/sh\nexec /usr/bin/time -a -o "$ADREEL_BENCH_RSS" -f "%M %U %S" ${real} "$@"\n`);
    await chmod(join(bin, tool), 0o755);
  }
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.ADREEL_BENCH_RSS = rssLog;
  return true;
}

/** Children finished since the last call: peak RSS (KiB) and CPU seconds (user + sys). */
async function takeChildren(): Promise<{ peakKb: number; cpuSeconds: number }> {
  if (!existsSync(rssLog)) return { peakKb: 0, cpuSeconds: 0 };
  const rows = (await readFile(rssLog, "utf8"))
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((row): row is [number, number, number] => row.length === 3 && row.every(Number.isFinite));
  await rm(rssLog, { force: true });
  return { peakKb: Math.max(0, ...rows.map((r) => r[0])), cpuSeconds: rows.reduce((sum, r) => sum + r[1] + r[2], 0) };
}

interface Measure {
  seconds: number[];
  /** CPU of the ffmpeg children plus this process, per run. */
  cpuSeconds: number[];
  childPeakKb: number;
  nodePeakKb: number;
}

/**
 * Run every step RUNS times, interleaved (round 1 of each step, then round 2, ...) so load
 * from other processes falls on all of them alike; wall and CPU time per run, peak child RSS
 * and sampled RSS of this process per step.
 */
async function measureInterleaved<K extends string>(steps: Record<K, (run: number) => Promise<void>>): Promise<Record<K, Measure>> {
  const names = Object.keys(steps) as K[];
  const results = Object.fromEntries(names.map((n): [K, Measure] => [n, { seconds: [], cpuSeconds: [], childPeakKb: 0, nodePeakKb: 0 }])) as Record<K, Measure>;
  await takeChildren();
  for (let run = 0; run < RUNS; run++) {
    for (const name of names) {
      const result = results[name];
      let nodePeak = process.memoryUsage().rss;
      const sampler = setInterval(() => (nodePeak = Math.max(nodePeak, process.memoryUsage().rss)), 10);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await steps[name](run);
      result.seconds.push((performance.now() - t0) / 1000);
      const own = process.cpuUsage(cpu0);
      clearInterval(sampler);
      const children = await takeChildren();
      result.childPeakKb = Math.max(result.childPeakKb, children.peakKb);
      result.nodePeakKb = Math.max(result.nodePeakKb, nodePeak / 1024);
      result.cpuSeconds.push(children.cpuSeconds + (own.user + own.system) / 1e6);
    }
  }
  return results;
}

const mib = (kb: number) => (kb / 1024).toFixed(0);

const loadBefore = loadAverage();
const measured = await wrapChildren();
console.error(`work dir ${work}; child RSS via /usr/bin/time: ${measured}`);

// Chunks: raw clips at another size and rate, so normalize does real work.
const joins: PlanJoin[] = Array.from({ length: CHUNKS - 1 }, () => ({ type: "fade", frames: FADE }));
const chunks: StitchChunk[] = [];
/** The same chunks, normalized with keyframes where the captions end as well. */
const keyedChunks: StitchChunk[] = [];
const normalizeSeconds: number[] = [];
/** Keyframes each normalized chunk really has (normalize's answer), and where it starts in the output. */
const normalized: { keyframes: number[]; video_start_frame: number }[] = [];
/** Chunk i starts at output frame i × ON_SCREEN; the headline covers chunk 3's own region, the end card the last chunk's. */
const HEADLINE = { from: 3 * ON_SCREEN + FADE, to: 4 * ON_SCREEN };
const END_CARD = { from: (CHUNKS - 1) * ON_SCREEN + FADE, to: CHUNKS * ON_SCREEN };
/** A voice line on every chunk: from 0.25 s into it for 1.2 s, as a narrated ad's cues fall. */
const CUES = Array.from({ length: CHUNKS }, (_, i) => ({ start_s: i * 2 + 0.25, end_s: i * 2 + 1.45, text: `Line ${i + 1} of the voiceover,\nspoken over this shot` }));
for (let i = 0; i < CHUNKS; i++) {
  const raw = join(work, `raw-${i}.mp4`);
  const source = SOURCES[i % SOURCES.length]!;
  const sep = source.includes("=") ? ":" : "=";
  await ffmpeg(["-f", "lavfi", "-i", `${source}${sep}s=1280x720:r=30,format=yuv420p,hue=H=${(i * 0.7).toFixed(2)}+t*1.5`, "-t", "2.2", "-c:v", "libx264", "-preset", "ultrafast", raw]);
  const frames = ON_SCREEN + (i < CHUNKS - 1 ? FADE : 0);
  const path = join(work, `chunk-${i}.mp4`);
  const t0 = performance.now();
  // Keyframes where the incoming fade ends (copy starts there) and where the outgoing one
  // begins (its seam then decodes no frame it does not use).
  const keyframes = [...(i > 0 ? [FADE] : []), ...(i < CHUNKS - 1 ? [frames - FADE] : [])];
  const result = await normalizeChunk(raw, path, join(work, `last-${i}.png`), { width: WIDTH, height: HEIGHT, fps: FPS, frames, keyframes });
  normalizeSeconds.push((performance.now() - t0) / 1000);
  normalized.push({ keyframes: result.keyframes, video_start_frame: i * ON_SCREEN });
  chunks.push({ path, frames });
  const cueEnds = decorationKeyframes({ video_start_frame: i * ON_SCREEN, frames }, CUES.map((c) => ({ to_frame: cueFrames(c, FPS).to })));
  const keyed = join(work, `keyed-${i}.mp4`);
  await normalizeChunk(raw, keyed, null, { width: WIDTH, height: HEIGHT, fps: FPS, frames, keyframes: [...new Set([...keyframes, ...cueEnds])] });
  keyedChunks.push({ path: keyed, frames });
}
const normalizeChildKb = (await takeChildren()).peakKb;

// The ad's overlays: the pipeline's stitch step renders them right before it stitches.
async function renderOverlays(): Promise<number> {
  const start = performance.now();
  const [headlineLayer, endCardLayer] = await Promise.all([
    renderHeadline("Every expense, tracked for you", WIDTH, HEIGHT),
    renderEndCard({ brand: "Ledgerly", logo: null, offer: "First month free", cta: "Download Ledgerly today", accent: "#E4572E" }, WIDTH, HEIGHT),
  ]);
  await writeFile(join(work, "headline.png"), headlineLayer.png);
  await writeFile(join(work, "end-card.png"), endCardLayer.png);
  return (performance.now() - start) / 1000;
}
const overlayRenderSeconds = [await renderOverlays()];
const OVERLAYS: Decorations = {
  overlays: [
    { path: join(work, "headline.png"), ...HEADLINE },
    { path: join(work, "end-card.png"), ...END_CARD },
  ],
  cues: [],
};
const CAPTIONED: Decorations = { ...OVERLAYS, cues: CUES.map((c) => ({ ...cueFrames(c, FPS), text: c.text })) };
const HELD_CUES = holdCuesToKeyframes(CUES, normalized, normalized, FPS, CHUNKS * ON_SCREEN);
const HELD: Decorations = { ...OVERLAYS, cues: HELD_CUES.map((c) => ({ ...cueFrames(c, FPS), text: c.text })) };
const heldFrames = HELD_CUES.reduce((sum, c, i) => sum + cueFrames(c, FPS).to - cueFrames(CUES[i]!, FPS).to, 0);

// Music: prepared off the critical path, as the pipeline does while chunks render.
const rawMusic = join(work, "music.wav");
await ffmpeg(["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*(220+20*t)*t)*(0.6+0.4*sin(2*PI*2*t))+0.05*sin(2*PI*330*t):s=44100:d=12", rawMusic]);
const music = join(work, "music.m4a");
const t0 = performance.now();
const prepared = await prepareMusic(rawMusic, music, { frames: CHUNKS * ON_SCREEN, fps: FPS, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.5, fadeOutS: 1.5 });
const prepareSeconds = (performance.now() - t0) / 1000;
const prepareChildKb = (await takeChildren()).peakKb;

// The soundtrack with a voiceover (draft voice, a line on every other chunk), also off the critical path.
const voiceStart = performance.now();
const lines = await Promise.all(
  Array.from({ length: 7 }, async (_, k) => {
    const path = join(work, `line-${k}.wav`);
    await speakLine(`This is line ${k + 1} of the voiceover, spoken over the shot.`, path);
    return { path, text: `Line ${k + 1}.`, atFrame: k * 2 * ON_SCREEN + 6 };
  }),
);
const speakSeconds = (performance.now() - voiceStart) / 1000;
const soundtrackStart = performance.now();
const voiced = await prepareSoundtrack(rawMusic, lines, join(work, "soundtrack.m4a"), { frames: CHUNKS * ON_SCREEN, fps: FPS, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.5, fadeOutS: 1.5, duckDb: 12, workDir: work });
const soundtrackSeconds = (performance.now() - soundtrackStart) / 1000;
await takeChildren();

async function stitchRun(name: string, method: "seams" | "single_pass", encoding: VideoEncoding, run: number, decorations?: Decorations, use = chunks) {
  const dir = join(work, `${name}-${run}`);
  await mkdir(dir);
  const out = join(dir, "out.mp4");
  const result = await stitchChunks(use, joins, out, { width: WIDTH, height: HEIGHT, fps: FPS, method, workDir: dir, encoding, decorations });
  if (result.frames !== CHUNKS * ON_SCREEN) throw new Error(`${name} gave ${result.frames} frames`);
  return { out, result };
}

// Warm the reference-encode cache and the page cache so no row pays a one-off cost.
await stitchRun("warmup", "seams", CHUNK_ENCODING, 0);
await takeChildren();

const floorList = join(work, "floor.ffconcat");
await writeFile(floorList, `ffconcat version 1.0\n${chunks.map((c) => `file '${c.path}'`).join("\n")}\n`);
let copied = 0;
let seamsBytes = 0;
let finalSeconds = 0;
const decorated = { overlays: { copied: 0, decorated: 0 }, captions: { copied: 0, decorated: 0 }, keyed: { copied: 0, decorated: 0 }, held: { copied: 0, decorated: 0 } };
const { baseline, singlePass, seams, floor, critical, overlays, captions, keyed, held } = await measureInterleaved({
  baseline: async (run) => void (await stitchRun("baseline", "single_pass", X264_DEFAULTS, run)),
  singlePass: async (run) => void (await stitchRun("single", "single_pass", CHUNK_ENCODING, run)),
  seams: async (run) => {
    const { result } = await stitchRun("seams", "seams", CHUNK_ENCODING, run);
    copied = result.copiedFrames;
    seamsBytes = result.bytes;
  },
  floor: async (run) => {
    await ffmpeg(["-f", "concat", "-safe", "0", "-i", floorList, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", join(work, `floor-${run}.mp4`)]);
  },
  critical: async (run) => {
    const { out } = await stitchRun("critical", "seams", CHUNK_ENCODING, run);
    finalSeconds = (await muxFinal(out, music, join(work, `final-${run}.mp4`))).durationS;
  },
  overlays: async (run) => {
    overlayRenderSeconds.push(await renderOverlays());
    const { result } = await stitchRun("overlays", "seams", CHUNK_ENCODING, run, OVERLAYS);
    decorated.overlays = { copied: result.copiedFrames, decorated: result.decoratedFrames };
  },
  captions: async (run) => {
    const { result } = await stitchRun("captions", "seams", CHUNK_ENCODING, run, CAPTIONED);
    decorated.captions = { copied: result.copiedFrames, decorated: result.decoratedFrames };
  },
  keyed: async (run) => {
    const { result } = await stitchRun("keyed", "seams", CHUNK_ENCODING, run, CAPTIONED, keyedChunks);
    decorated.keyed = { copied: result.copiedFrames, decorated: result.decoratedFrames };
  },
  held: async (run) => {
    const { result } = await stitchRun("held", "seams", CHUNK_ENCODING, run, HELD);
    decorated.held = { copied: result.copiedFrames, decorated: result.decoratedFrames };
  },
});

// Same pictures? seams against the single-pass reference, frame by frame.
const { stdout: psnrLog } = await ffmpeg(["-i", join(work, "seams-0", "out.mp4"), "-i", join(work, "single-0", "out.mp4"), "-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"]);
const psnr = psnrLog.toString().split("\n").map((l) => /psnr_avg:(\S+)/.exec(l)?.[1]).filter((v): v is string => !!v).map((v) => (v === "inf" ? 100 : Number(v)));
const psnrMean = psnr.reduce((s, v) => s + v, 0) / psnr.length;

const a = median(baseline.seconds);
const b = median(seams.seconds);
const c = median(floor.seconds);
const d = median(critical.seconds);
const aCpu = median(baseline.cpuSeconds);
const bCpu = median(seams.cpuSeconds);
const dCpu = median(critical.cpuSeconds);
const stitchingPeakMiB = Math.max(seams.nodePeakKb + seams.childPeakKb, critical.nodePeakKb + critical.childPeakKb) / 1024;
const row = (step: string, what: string, m: Measure) => [
  step,
  what,
  median(m.seconds).toFixed(2),
  m.seconds.map((s) => s.toFixed(2)).join(" / "),
  median(m.cpuSeconds).toFixed(2),
  mib(m.childPeakKb),
];
const ratio = (x: number, y: number) => `${(x / y).toFixed(1)}×`;

const report = `${SECTION}

${machineParagraph(`${invocation()}`, loadBefore)}
CPU seconds (ffmpeg children + this process, from \`/usr/bin/time -f "%M %U %S"\` put in front of ffmpeg/ffprobe via PATH) do not depend on the other load; they are the steadier comparison. ${RUNS} runs per row.

Workload: 30 s 1024x576 at 24 fps — ${CHUNKS} chunks normalized by \`normalizeChunk\` (${CHUNKS - 1}×${ON_SCREEN + FADE} + ${ON_SCREEN} = ${chunks.reduce((s, ch) => s + ch.frames, 0)} frames of distinct synthetic content, keyframes forced at both seam cuts) joined by ${CHUNKS - 1} fades of ${FADE} frames → ${CHUNKS * ON_SCREEN} frames. Local files: downloads and uploads are excluded (equal for every method).

${table(
  ["step", "what", "wall s (median)", "wall s per run", "CPU s (median)", "peak ffmpeg RSS MiB"],
  [
    row("(a)", "single-pass xfade, x264 defaults (preset medium, B-frames) — baseline", baseline),
    row("(a')", "single-pass xfade, CHUNK_ENCODING (veryfast, no B-frames)", singlePass),
    row("(b)", `seams: ${CHUNKS - 1} windows re-encoded (SEAM_ENCODING), ${copied}/${CHUNKS * ON_SCREEN} frames stream-copied`, seams),
    row("(c)", "plain stream-copy concat of the chunks, no transitions — floor", floor),
    row("(d)", "critical path: seams + mux of the prepared music", critical),
    row("(e)", `(b) + overlays rendered and drawn: headline (${HEADLINE.to - HEADLINE.from} frames) and end card (${END_CARD.to - END_CARD.from}); ${decorated.overlays.copied} frames copied`, overlays),
    row("(f)", `(e) + burned captions: ${CUES.length} cues, ${decorated.captions.decorated} decorated frames, chunks without cue-end keyframes; ${decorated.captions.copied} frames copied`, captions),
    row("(g)", `(f) with keyframes at the cue ends (\`decorationKeyframes\`); ${decorated.keyed.copied} frames copied`, keyed),
    row("(h)", `(f) with each cue held to the next keyframe (\`holdCuesToKeyframes\`; ${heldFrames} frames of caption added in all); ${decorated.held.copied} frames copied`, held),
  ],
)}

${table(
  ["ratio", "wall", "CPU"],
  [
    ["baseline / seams, (a)/(b)", ratio(a, b), ratio(aCpu, bCpu)],
    ["seams / floor, (b)/(c)", ratio(b, c), ratio(bCpu, median(floor.cpuSeconds))],
    ["baseline / critical path, (a)/(d) — target ≥ 5×", ratio(a, d), ratio(aCpu, dCpu)],
    ["x264 defaults / CHUNK_ENCODING single pass, (a)/(a')", ratio(a, median(singlePass.seconds)), ratio(aCpu, median(singlePass.cpuSeconds))],
    ["overlays / seams, (e)/(b)", ratio(median(overlays.seconds), b), ratio(median(overlays.cpuSeconds), bCpu)],
    ["burned captions / overlays, (f)/(e)", ratio(median(captions.seconds), median(overlays.seconds)), ratio(median(captions.cpuSeconds), median(overlays.cpuSeconds))],
    ["cue-end keyframes, (f)/(g)", ratio(median(captions.seconds), median(keyed.seconds)), ratio(median(captions.cpuSeconds), median(keyed.cpuSeconds))],
    ["cues held to keyframes, (f)/(h)", ratio(median(captions.seconds), median(held.seconds)), ratio(median(captions.cpuSeconds), median(held.cpuSeconds))],
  ],
)}

What the ad finish adds to the critical path (the stitch step): rendering the headline and the end card (sharp, ${median(overlayRenderSeconds).toFixed(2)} s median over ${overlayRenderSeconds.length} renders, inside row (e)) and re-encoding only the ${decorated.overlays.decorated} frames they cover: (e) − (b) = ${(median(overlays.seconds) - b).toFixed(2)} s wall, ${(median(overlays.cpuSeconds) - bCpu).toFixed(2)} CPU s. Seam-only encoding holds: ${decorated.overlays.copied} of ${CHUNKS * ON_SCREEN} frames are still stream-copied, every frame without an overlay or a transition. Burned captions (f, g, h) cover most of a narrated ad, so most frames are re-encoded: it is the \`captions: "burned"\` price; \`sidecar\` costs nothing here. The pipeline forces keyframes at the cue ends (g) in every chunk normalized once the soundtrack has timed the voice (usually all of them: the voice and the music run from the end of planning); a chunk normalized before that is stitched as in (h), each cue held on screen to the next keyframe through the frames that are re-encoded anyway: ${decorated.held.copied} frames copied, as (f)'s ${decorated.captions.copied}, against (g)'s ${decorated.keyed.copied}.

- Off the critical path: normalize ${median(normalizeSeconds).toFixed(2)} s wall per chunk (median; peak ffmpeg RSS ${mib(normalizeChildKb)} MiB); music prepare ${prepareSeconds.toFixed(2)} s for 30 s (${prepared.normalization}, ${prepared.integratedLufs} LUFS, ${prepared.truePeakDb} dBTP; peak ffmpeg RSS ${mib(prepareChildKb)} MiB); with a voiceover of ${lines.length} lines: speaking them (espeak-ng, in parallel) ${speakSeconds.toFixed(2)} s, the soundtrack (trim, place, duck, mix, normalize, captions) ${soundtrackSeconds.toFixed(2)} s (${voiced.normalization}, ${voiced.integratedLufs} LUFS, ${voiced.truePeakDb} dBTP). The final mux stays a stream copy either way.
- Memory while stitching with seams: this process ≤ ${mib(Math.max(seams.nodePeakKb, critical.nodePeakKb))} MiB RSS (sampled every 10 ms) + one ffmpeg child at a time ≤ ${mib(Math.max(seams.childPeakKb, critical.childPeakKb))} MiB → ≤ ${stitchingPeakMiB.toFixed(0)} MiB (target < 300 MiB).
- Output: seams ${(seamsBytes / 1024 / 1024).toFixed(1)} MiB; final ${finalSeconds.toFixed(3)} s with AAC. Seams vs single-pass (a') PSNR: mean ${psnrMean.toFixed(1)} dB, min ${Math.min(...psnr).toFixed(1)} dB over ${psnr.length} frames.
`;

console.log(report);
writeSection(SECTION, report);
await rm(work, { recursive: true, force: true });
