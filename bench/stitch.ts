/**
 * Stitching benchmark: `tsx bench/stitch.ts [--runs N]`.
 *
 * A 30 s 1024x576 ad: 15 chunks of distinct synthetic content normalized by normalize.ts
 * (2 s each on screen, the first 14 carrying 12 extra frames for 0.5 s fades, so the chunks
 * hold 720 + 168 frames and the stitched video 720), joined by 14 fades. Measured in one run:
 *   (a)  single-pass xfade re-encode with x264's defaults (preset medium): the naive baseline
 *   (a') single-pass with CHUNK_ENCODING (veryfast, no B-frames): how much is just the preset
 *   (b)  seams: re-encode the 14 transition windows, stream-copy the rest
 *   (c)  plain stream-copy concat of the chunks, no transitions: the floor
 *   (d)  the critical path: seams + muxing the prepared music track
 * Peak RSS of every ffmpeg/ffprobe child comes from /usr/bin/time (PATH-wrapped, so the code
 * under test is unchanged); media-node's own RSS is sampled while it stitches.
 * Results go to stdout and to docs/BENCHMARKS.md, section "## Stitching (bench/stitch.ts)".
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { muxFinal } from "../media-node/audio/mux.ts";
import { prepareMusic } from "../media-node/audio/music.ts";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { CHUNK_ENCODING, type VideoEncoding } from "../media-node/video/encoding.ts";
import { normalizeChunk } from "../media-node/video/normalize.ts";
import { type StitchChunk, stitchChunks } from "../media-node/video/stitch.ts";
import type { PlanJoin } from "../media-node/video/stitch-plan.ts";

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
    await writeFile(join(bin, tool), `#!/bin/sh\nexec /usr/bin/time -a -o "$ADREEL_BENCH_RSS" -f "%M" ${real} "$@"\n`);
    await chmod(join(bin, tool), 0o755);
  }
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.ADREEL_BENCH_RSS = rssLog;
  return true;
}

async function takeChildPeakKb(): Promise<number> {
  if (!existsSync(rssLog)) return 0;
  const values = (await readFile(rssLog, "utf8")).split("\n").map(Number).filter((n) => Number.isFinite(n) && n > 0);
  await rm(rssLog, { force: true });
  return Math.max(0, ...values);
}

interface Measure {
  seconds: number[];
  childPeakKb: number;
  nodePeakKb: number;
}

/** Run `step` RUNS times; wall time of each, peak child RSS and sampled node RSS over all. */
async function measure(step: (run: number) => Promise<void>): Promise<Measure> {
  await takeChildPeakKb();
  const seconds: number[] = [];
  let nodePeak = 0;
  const sampler = setInterval(() => (nodePeak = Math.max(nodePeak, process.memoryUsage().rss)), 10);
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    await step(run);
    seconds.push((performance.now() - t0) / 1000);
  }
  clearInterval(sampler);
  nodePeak = Math.max(nodePeak, process.memoryUsage().rss);
  return { seconds, childPeakKb: await takeChildPeakKb(), nodePeakKb: nodePeak / 1024 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mib = (kb: number) => (kb / 1024).toFixed(0);

const measured = await wrapChildren();
console.error(`work dir ${work}; child RSS via /usr/bin/time: ${measured}`);

// Chunks: raw clips at another size and rate, so normalize does real work.
const joins: PlanJoin[] = Array.from({ length: CHUNKS - 1 }, () => ({ type: "fade", frames: FADE }));
const chunks: StitchChunk[] = [];
const normalizeSeconds: number[] = [];
for (let i = 0; i < CHUNKS; i++) {
  const raw = join(work, `raw-${i}.mp4`);
  const source = SOURCES[i % SOURCES.length]!;
  const sep = source.includes("=") ? ":" : "=";
  await ffmpeg(["-f", "lavfi", "-i", `${source}${sep}s=1280x720:r=30,format=yuv420p,hue=H=${(i * 0.7).toFixed(2)}+t*1.5`, "-t", "2.2", "-c:v", "libx264", "-preset", "ultrafast", raw]);
  const frames = ON_SCREEN + (i < CHUNKS - 1 ? FADE : 0);
  const path = join(work, `chunk-${i}.mp4`);
  const t0 = performance.now();
  await normalizeChunk(raw, path, join(work, `last-${i}.png`), { width: WIDTH, height: HEIGHT, fps: FPS, frames, keyframes: i > 0 ? [FADE] : [] });
  normalizeSeconds.push((performance.now() - t0) / 1000);
  chunks.push({ path, frames });
}
const normalizeChildKb = await takeChildPeakKb();

// Music: prepared off the critical path, as the pipeline does while chunks render.
const rawMusic = join(work, "music.wav");
await ffmpeg(["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*(220+20*t)*t)*(0.6+0.4*sin(2*PI*2*t))+0.05*sin(2*PI*330*t):s=44100:d=12", rawMusic]);
const music = join(work, "music.m4a");
const t0 = performance.now();
const prepared = await prepareMusic(rawMusic, music, { frames: CHUNKS * ON_SCREEN, fps: FPS, loudnessLufs: -14, truePeakDb: -1, fadeInS: 0.5, fadeOutS: 1.5 });
const prepareSeconds = (performance.now() - t0) / 1000;
const prepareChildKb = await takeChildPeakKb();

async function stitchRun(name: string, method: "seams" | "single_pass", encoding: VideoEncoding, run: number) {
  const dir = join(work, `${name}-${run}`);
  await mkdir(dir);
  const out = join(dir, "out.mp4");
  const result = await stitchChunks(chunks, joins, out, { width: WIDTH, height: HEIGHT, fps: FPS, method, workDir: dir, encoding });
  if (result.frames !== CHUNKS * ON_SCREEN) throw new Error(`${name} gave ${result.frames} frames`);
  return { out, result };
}

// Warm the reference-encode cache and the page cache so no row pays a one-off cost.
await stitchRun("warmup", "seams", CHUNK_ENCODING, 0);
await takeChildPeakKb();

const baseline = await measure(async (run) => void (await stitchRun("baseline", "single_pass", X264_DEFAULTS, run)));
const singlePass = await measure(async (run) => void (await stitchRun("single", "single_pass", CHUNK_ENCODING, run)));
let copied = 0;
let seamsBytes = 0;
const seams = await measure(async (run) => {
  const { result } = await stitchRun("seams", "seams", CHUNK_ENCODING, run);
  copied = result.copiedFrames;
  seamsBytes = result.bytes;
});
const floorList = join(work, "floor.ffconcat");
await writeFile(floorList, `ffconcat version 1.0\n${chunks.map((c) => `file '${c.path}'`).join("\n")}\n`);
const floor = await measure(async (run) => {
  await ffmpeg(["-f", "concat", "-safe", "0", "-i", floorList, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", join(work, `floor-${run}.mp4`)]);
});
let finalSeconds = 0;
const critical = await measure(async (run) => {
  const { out } = await stitchRun("critical", "seams", CHUNK_ENCODING, run);
  const final = await muxFinal(out, music, join(work, `final-${run}.mp4`));
  finalSeconds = final.durationS;
});

// Same pictures? seams against the single-pass reference, frame by frame.
const { stdout: psnrLog } = await ffmpeg(["-i", join(work, "seams-0", "out.mp4"), "-i", join(work, "single-0", "out.mp4"), "-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"]);
const psnr = psnrLog.toString().split("\n").map((l) => /psnr_avg:(\S+)/.exec(l)?.[1]).filter((v): v is string => !!v).map((v) => (v === "inf" ? 100 : Number(v)));
const psnrMean = psnr.reduce((s, v) => s + v, 0) / psnr.length;

const a = median(baseline.seconds);
const b = median(seams.seconds);
const c = median(floor.seconds);
const d = median(critical.seconds);
const stitchingPeakMiB = Math.max(seams.nodePeakKb + seams.childPeakKb, critical.nodePeakKb + critical.childPeakKb) / 1024;
const row = (step: string, what: string, m: Measure, ratio: string) =>
  `| ${step} | ${what} | ${median(m.seconds).toFixed(2)} | ${m.seconds.map((s) => s.toFixed(2)).join(" / ")} | ${ratio} | ${mib(m.childPeakKb)} |`;
const cpu = cpus()[0]?.model ?? "unknown";
const ffmpegVersion = execFileSync("ffmpeg", ["-version"]).toString().split("\n")[0];

const report = `${SECTION}

\`tsx bench/stitch.ts\` (${RUNS} runs per row, median shown) on ${cpus().length} cores (\`nproc\`), ${cpu}; ${ffmpegVersion}; node ${process.version}.
Workload: 30 s 1024x576 at 24 fps — ${CHUNKS} chunks normalized by \`normalizeChunk\` (${CHUNKS - 1}×${ON_SCREEN + FADE} + ${ON_SCREEN} = ${chunks.reduce((s, ch) => s + ch.frames, 0)} frames, distinct synthetic content) joined by ${CHUNKS - 1} fades of ${FADE} frames → ${CHUNKS * ON_SCREEN} frames. Local files: downloads and uploads are excluded (equal for every method).

| step | what | median s | runs s | ratio | peak ffmpeg RSS MiB |
| --- | --- | --- | --- | --- | --- |
${row("(a)", "single-pass xfade, x264 defaults (preset medium, B-frames) — baseline", baseline, "1.00×")}
${row("(a')", "single-pass xfade, CHUNK_ENCODING (veryfast, no B-frames)", singlePass, `${(a / median(singlePass.seconds)).toFixed(2)}× faster than (a)`)}
${row("(b)", `seams: ${CHUNKS - 1} windows re-encoded, ${copied}/${CHUNKS * ON_SCREEN} frames stream-copied`, seams, `(a)/(b) = ${(a / b).toFixed(1)}×; (b)/(c) = ${(b / c).toFixed(1)}×`)}
${row("(c)", "plain stream-copy concat, no transitions — floor", floor, "—")}
${row("(d)", "critical path: seams + mux prepared music", critical, `(a)/(d) = ${(a / d).toFixed(1)}× (target ≥ 5×)`)}

- Off the critical path: normalize ${median(normalizeSeconds).toFixed(2)} s per chunk (median; peak ffmpeg RSS ${mib(normalizeChildKb)} MiB); music prepare ${prepareSeconds.toFixed(2)} s for 30 s (${prepared.normalization}, ${prepared.integratedLufs} LUFS, ${prepared.truePeakDb} dBTP; peak ffmpeg RSS ${mib(prepareChildKb)} MiB).
- Memory while stitching with seams: node process ≤ ${mib(Math.max(seams.nodePeakKb, critical.nodePeakKb))} MiB RSS (sampled) + one ffmpeg child at a time ≤ ${mib(Math.max(seams.childPeakKb, critical.childPeakKb))} MiB → ≤ ${stitchingPeakMiB.toFixed(0)} MiB (target < 300 MiB).
- Output: seams ${(seamsBytes / 1024 / 1024).toFixed(1)} MiB; final ${finalSeconds.toFixed(3)} s with AAC. Seams vs single-pass (a') PSNR: mean ${psnrMean.toFixed(1)} dB, min ${Math.min(...psnr).toFixed(1)} dB over ${psnr.length} frames.
- Child RSS from \`/usr/bin/time -f %M\` wrapped around ffmpeg/ffprobe via PATH; times include that wrapper's few ms per process.
`;

console.log(report);
const docs = join(import.meta.dirname, "..", "docs", "BENCHMARKS.md");
const existing = existsSync(docs) ? await readFile(docs, "utf8") : "# Benchmarks\n";
const start = existing.indexOf(SECTION);
let updated: string;
if (start < 0) {
  updated = `${existing.trimEnd()}\n\n${report}`;
} else {
  const next = existing.indexOf("\n## ", start + SECTION.length);
  updated = `${existing.slice(0, start)}${report}${next < 0 ? "" : `\n${existing.slice(next + 1)}`}`;
}
await mkdir(join(import.meta.dirname, "..", "docs"), { recursive: true });
await writeFile(docs, updated.endsWith("\n") ? updated : `${updated}\n`);
await rm(work, { recursive: true, force: true });
