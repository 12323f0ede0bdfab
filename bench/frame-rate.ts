import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ffmpeg } from "../media-node/ffmpeg.ts";
import { invocation, loadAverage, machineParagraph } from "./machine.ts";
import { table, writeSection } from "./results-doc.ts";

/**
 * Frame-rate conversion for Wan's 16 fps clips (docs/PLANNING.md "Frame rate"): the same
 * synthetic motion rendered at 16 fps is converted to 24 fps by frame repetition (what
 * normalize does), motion-compensated interpolation and blending, and compared with the motion
 * rendered at 24 fps directly (PSNR, SSIM), with each conversion's CPU time (ffmpeg -benchmark).
 * A clip the size of Wan's 480p 16:9 output (832×464) and its longest (121 frames at 16 fps).
 */

const SECTION = "## Frame rate: Wan's 16 fps to 24 fps";
const loadBefore = loadAverage();
const work = await mkdtemp(join(tmpdir(), "adreel-bench-fps-"));
const SECONDS = 121 / 16;

/** A square crossing the frame and bobbing: one motion, rendered at `fps`. */
async function motion(fps: number, path: string): Promise<void> {
  await ffmpeg([
    "-f", "lavfi", "-i", `color=c=0x336699:size=832x464:rate=${fps}:duration=${SECONDS}`,
    "-f", "lavfi", "-i", `color=c=0xffcc00:size=80x80:rate=${fps}:duration=${SECONDS}`,
    "-filter_complex", "[0][1]overlay=x='40+90*t':y='190+40*sin(2*PI*t/2.5)'",
    "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", path,
  ], { timeoutMs: 120_000 });
}

const METHODS = [
  { name: "repetition (`fps=24:round=down`, normalize)", filter: "fps=24:round=down" },
  { name: "motion-compensated (`minterpolate` mci, aobmc, bidir)", filter: "minterpolate=fps=24:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1" },
  { name: "blending (`framerate`)", filter: "framerate=fps=24" },
];

const truth = join(work, "truth-24.mp4");
const source = join(work, "source-16.mp4");
await Promise.all([motion(24, truth), motion(16, source)]);
const frames = Math.floor(SECONDS * 24) - 1;

const rows: (string | number)[][] = [];
for (const method of METHODS) {
  const out = join(work, "converted.mp4");
  // -benchmark prints "bench: utime=…s stime=…s rtime=…s" for this conversion alone.
  const { stderr } = await ffmpeg(["-loglevel", "info", "-benchmark", "-y", "-i", source, "-vf", method.filter, "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", out], { timeoutMs: 600_000 });
  const bench = /utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(stderr.toString())!;
  const compare = async (filter: string, pattern: RegExp) => {
    const { stderr: text } = await ffmpeg(["-loglevel", "info", "-i", out, "-i", truth, "-lavfi", `[0]trim=end_frame=${frames},setpts=N[a];[1]trim=end_frame=${frames},setpts=N[b];[a][b]${filter}`, "-f", "null", "-"], { timeoutMs: 120_000 });
    return Number(pattern.exec(text.toString())![1]);
  };
  const psnr = await compare("psnr", /average:([\d.]+)/);
  const ssim = await compare("ssim", /All:([\d.]+)/);
  rows.push([method.name, psnr.toFixed(1), ssim.toFixed(4), (Number(bench[1]) + Number(bench[2])).toFixed(2), Number(bench[3]).toFixed(2)]);
}

const report = `${SECTION}

${machineParagraph(invocation(), loadBefore)}

A ${SECONDS.toFixed(4)} s clip (121 frames at 16 fps, 832×464: Wan's longest 480p clip) of a moving square, converted to 24 fps and compared frame by frame with the same motion rendered at 24 fps (${frames} frames). CPU = user + system seconds of the conversion's ffmpeg (encode included), wall = its real time.

${table(["method", "PSNR (dB)", "SSIM", "CPU s", "wall s"], rows)}

Normalize keeps repetition: it never invents or blends a pixel and costs no more than the encode; motion-compensated interpolation is smoother on clean synthetic motion but costs an order of magnitude more CPU per chunk and warps where its motion estimate fails (occlusions, generated textures); blending makes double exposures.
`;
console.log(report);
writeSection(SECTION, report);
await rm(work, { recursive: true, force: true });
