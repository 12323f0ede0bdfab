import { spawn } from "node:child_process";
import { availableParallelism, getPriority, setPriority } from "node:os";

/** ffmpeg and ffprobe, spawned with argument arrays (never a shell string). */

export class FfmpegError extends Error {
  constructor(
    readonly tool: string,
    readonly code: number | null,
    readonly stderrTail: string,
  ) {
    super(`${tool} failed (exit ${code ?? "signal"}): ${stderrTail}`);
    this.name = "FfmpegError";
  }
}

export interface RunOptions {
  /** Kill the process after this long. */
  timeoutMs?: number;
  cwd?: string;
  /** Bytes for the process's stdin. */
  input?: Buffer;
  /**
   * Work nothing is waiting for (a chunk's normalize pass, music preparation) runs at a lower
   * CPU priority, so the hand-offs on the critical path — last frames, composites, the stitch —
   * get the cores first when everything runs at once.
   */
  background?: boolean;
  /**
   * Work a chain of the video waits on right now (a chunk's last frame: the next chunk's
   * prediction is created from it): it takes the next free process slot ahead of every other
   * waiter and runs a little above normal priority, so encodes and seam measures running beside
   * it do not share the CPU with it equally.
   */
  critical?: boolean;
}

/** Linux niceness of background work: the lowest, so CFS gives each of its threads about 1/70 of a normal thread's share when the cores are contended (and all of an idle core). */
const BACKGROUND_NICENESS = 19;
/** How far above this process's own niceness critical work runs (raising needs CAP_SYS_NICE; without it, it runs at normal priority). */
const CRITICAL_RAISE = 5;

/** The order waiters get a process slot in. */
type SlotClass = "critical" | "normal" | "background";
const SLOT_ORDER: readonly SlotClass[] = ["critical", "normal", "background"];

/**
 * Child processes (ffmpeg, ffprobe, espeak-ng) alive at once in this media-node, whatever
 * route spawned them: each holds its own decoded frames (an x264 pass ~150 MiB), so their
 * number, not the requests', bounds media-node's memory. One per core plus one, so a short
 * critical-path run (a last frame, a probe) finds a slot beside the encodes; a further one
 * waits here for a slot, normal runs ahead of background ones. `MEDIA_NODE_PROCESSES`
 * overrides it.
 */
export const PROCESS_SLOTS = positiveInteger(process.env.MEDIA_NODE_PROCESSES, availableParallelism() + 1);

/**
 * Background encodes at once, within those. Starved by the critical path they would otherwise
 * pile up under load, each holding its ffmpeg's memory while it waits for the CPU: a few at a
 * time finish sooner one by one and bound the memory.
 */
export const BACKGROUND_SLOTS = Math.min(PROCESS_SLOTS, availableParallelism());

function positiveInteger(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`MEDIA_NODE_PROCESSES must be a whole number of at least 1, got ${text}`);
  return value;
}

let running = 0;
let backgroundRunning = 0;
const waiting: { slotClass: SlotClass; start: () => void }[] = [];

function mayStart(slotClass: SlotClass): boolean {
  return running < PROCESS_SLOTS && (slotClass !== "background" || backgroundRunning < BACKGROUND_SLOTS);
}

/** Start the first waiter that may start: critical runs first, then normal ones, then background ones. */
function admitNext(): void {
  for (const slotClass of SLOT_ORDER) {
    const index = waiting.findIndex((w) => w.slotClass === slotClass);
    if (index >= 0 && mayStart(slotClass)) {
      const [next] = waiting.splice(index, 1);
      next!.start();
      return;
    }
  }
}

/** Child processes this media-node runs right now. */
export function processesRunning(): number {
  return running;
}

async function processSlot<T>(slotClass: SlotClass, work: () => Promise<T>): Promise<T> {
  const background = slotClass === "background";
  // Counted as soon as it is granted, so a newcomer never takes a slot handed to a waiter.
  const take = () => {
    running++;
    if (background) backgroundRunning++;
  };
  // A newcomer waits behind any waiter of its own class or one ahead of it.
  const rank = SLOT_ORDER.indexOf(slotClass);
  if (mayStart(slotClass) && !waiting.some((w) => SLOT_ORDER.indexOf(w.slotClass) <= rank)) take();
  else await new Promise<void>((start) => waiting.push({ slotClass, start: () => (take(), start()) }));
  try {
    return await work();
  } finally {
    running--;
    if (background) backgroundRunning--;
    admitNext();
  }
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

const STDERR_KEEP = 16 * 1024;

/** The tools media work spawns: ffmpeg, ffprobe, and espeak-ng for the draft voice. */
export type Tool = "ffmpeg" | "ffprobe" | "espeak-ng";

export function run(tool: Tool, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return processSlot(options.critical ? "critical" : options.background ? "background" : "normal", () => spawnRun(tool, args, options));
}

function spawnRun(tool: Tool, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const niceness = options.critical ? Math.max(-20, getPriority() - CRITICAL_RAISE) : options.background ? BACKGROUND_NICENESS : null;
    if (niceness !== null && child.pid !== undefined) {
      try {
        setPriority(child.pid, niceness);
      } catch {
        // Not permitted, or it already exited: it runs at normal priority, which is only slower.
      }
    }
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill("SIGKILL");
        }, options.timeoutMs)
      : undefined;
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new FfmpegError(tool, null, `could not start ${tool}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout: Buffer.concat(stdout), stderr });
      const tail = stderr.trim().split("\n").slice(-6).join("\n");
      reject(new FfmpegError(tool, code, signal === "SIGKILL" && options.timeoutMs ? `timed out after ${options.timeoutMs} ms; ${tail}` : tail));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  });
}

/** ffmpeg with quiet, non-interactive defaults. */
export function ffmpeg(args: string[], options?: RunOptions): Promise<RunResult> {
  return run("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", ...args], options);
}

export interface ProbeStream {
  codec_type: "video" | "audio" | string;
  codec_name: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_frames?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: { duration?: string; format_name?: string; size?: string };
}

/** ffprobe as JSON; `countFrames` decodes the video to count frames exactly. */
export async function ffprobe(path: string, countFrames = false): Promise<ProbeResult> {
  const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format"];
  if (countFrames) args.push("-count_frames");
  const { stdout } = await run("ffprobe", [...args, path], { timeoutMs: 60_000 });
  return JSON.parse(stdout.toString("utf8")) as ProbeResult;
}
