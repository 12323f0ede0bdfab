import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthClip } from "../../test/support/synth-media.ts";
import { normalizeChunk } from "./normalize.ts";

/**
 * The decorated normalize pass's memory must not grow with the chunk (4ae6f49). With a layer's PNG
 * read as an ffmpeg input (`-i`), the pass that also writes the last frame (the chunk that ends its
 * chain) pulled the clip through its `[last]` branch alone, ffmpeg 5.1 read the PNG only once the
 * clip had ended, and every decoded frame waited at the overlay. Memory, not time: each ffmpeg that
 * media-node spawns here reports its own peak RSS (`-benchmark`'s maxrss, the kernel's getrusage)
 * into an FFREPORT file, through a wrapper first on PATH; nothing depends on how long a run takes or
 * on what else the machine runs. ffmpeg reports itself, so the test needs no /usr/bin/time.
 *
 * The stitch (stitch.ts) draws with the same graph (decoration.ts) but has one output: ffmpeg's
 * requests go through the overlay, which asks for the PNG as soon as it needs it. With the PNG read
 * as an input again, its peak did not grow with the video (1024x576, fade of two 24- and two
 * 96-frame chunks: single_pass 123 → 124 MiB, undecorated 117 → 119; seams 106 → 108, undecorated
 * 96 → 96), nor did the decorated normalize pass without `[last]` (122 → 122): a test of those
 * would pass with the bug back, so only this pass is held here.
 */
const W = 1024;
const H = 576;
const FPS = 24;
const SHORT = 24;
const LONG = 4 * SHORT;
/** A yuv420p frame as the pass holds it after scaling (MiB). */
const FRAME_MIB = (W * H * 1.5) / 2 ** 20;
/**
 * How much more the decorated pass may grow from SHORT to LONG than the undecorated one: a quarter of
 * the buggy growth, (LONG − SHORT) frames held (61 MiB). Measured (ffmpeg 5.1, 2 cores, load 3-4),
 * six runs each: with the fix −1.7 to +0.4 MiB; with the PNG an input again 58.7 to 63.6 MiB.
 */
const GROWTH_LIMIT_MIB = ((LONG - SHORT) * FRAME_MIB) / 4;

let dir: string;
let reports: string;
let overlay: string;
const clips = new Map<number, string>();
const path = process.env.PATH;

/** ffmpeg as media-node spawns it (by name, from PATH), writing each run's report, peak RSS included, to `reports`. */
async function reportingFfmpeg(bin: string): Promise<void> {
  const real = execFileSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).trim();
  await writeFile(join(bin, "ffmpeg"), `#!/bin/sh\nreport=$(mktemp "${reports}/run-XXXXXXXX")\nFFREPORT="file=$report:level=32" exec "${real}" -benchmark "$@"\n`);
  await chmod(join(bin, "ffmpeg"), 0o755);
}

/** The peak RSS (MiB) of the one ffmpeg run whose command line named `output`. */
async function peakMiB(output: string): Promise<number> {
  const found: number[] = [];
  for (const name of await readdir(reports)) {
    const report = await readFile(join(reports, name), "utf8");
    if (!report.includes(output)) continue;
    const maxrss = /^bench: maxrss=(\d+)kB$/m.exec(report);
    if (!maxrss) throw new Error(`ffmpeg's report ${name} has no maxrss line:\n${report}`);
    found.push(Number(maxrss[1]) / 1024);
  }
  if (found.length !== 1) throw new Error(`${found.length} ffmpeg runs wrote ${output}`);
  return found[0]!;
}

/** The normalize pass of `frames` frames, writing the last frame too (the chunk that ends its chain), decorated or not: its peak RSS. */
async function normalizePeak(frames: number, decorated: boolean): Promise<number> {
  const name = `${decorated ? "decorated" : "plain"}-${frames}`;
  const output = join(dir, `${name}.mp4`);
  const draw = { decorations: { overlays: [{ path: overlay, from: 0, to: frames }], cues: [] }, at: 0, assPath: join(dir, `${name}.ass`) };
  await normalizeChunk(clips.get(frames)!, output, join(dir, `${name}-last.png`), { width: W, height: H, fps: FPS, frames }, decorated ? draw : undefined);
  return peakMiB(output);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "adreel-decoration-memory-test-"));
  reports = join(dir, "reports");
  const bin = join(dir, "bin");
  await Promise.all([mkdir(reports), mkdir(bin)]);
  await reportingFfmpeg(bin);
  process.env.PATH = `${bin}:${path}`;
  overlay = join(dir, "overlay.png");
  await sharp({ create: { width: W, height: H, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0.5 } } }).png().toFile(overlay);
  for (const frames of [SHORT, LONG]) {
    clips.set(frames, join(dir, `clip-${frames}.mp4`));
    await synthClip(clips.get(frames)!, { source: "color", width: W, height: H, fps: FPS, seconds: (frames + 1) / FPS });
  }
});

afterAll(async () => {
  process.env.PATH = path;
  await rm(dir, { recursive: true, force: true });
});

describe("the decorated normalize pass's memory", () => {
  it("does not grow with the chunk's length beyond the undecorated pass's", async () => {
    const peaks = { plain: { short: 0, long: 0 }, decorated: { short: 0, long: 0 } };
    for (const kind of ["plain", "decorated"] as const) {
      peaks[kind].short = await normalizePeak(SHORT, kind === "decorated");
      peaks[kind].long = await normalizePeak(LONG, kind === "decorated");
    }
    // Against the undecorated pass of the same clips: what x264 and the muxer hold for a longer
    // chunk (their threads: a machine with more cores holds more frames in flight) cancels out.
    const growth = peaks.decorated.long - peaks.decorated.short - (peaks.plain.long - peaks.plain.short);
    expect(growth, `peak RSS in MiB: ${JSON.stringify(peaks)}`).toBeLessThan(GROWTH_LIMIT_MIB);
  });
});
