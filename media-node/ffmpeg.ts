import { spawn } from "node:child_process";
import { availableParallelism, setPriority } from "node:os";

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
}

/** Linux niceness of background work: the lowest, so CFS gives each of its threads about 1/70 of a normal thread's share when the cores are contended (and all of an idle core). */
const BACKGROUND_NICENESS = 19;

/**
 * Background encodes at once. Starved by the critical path they would otherwise pile up
 * under load, each holding its ffmpeg's memory (~150 MiB) while it waits for the CPU: a
 * few at a time finish sooner one by one and bound the memory.
 */
export const BACKGROUND_SLOTS = 2 * availableParallelism();
let backgroundRunning = 0;
const backgroundWaiting: (() => void)[] = [];

async function backgroundSlot<T>(work: () => Promise<T>): Promise<T> {
  if (backgroundRunning >= BACKGROUND_SLOTS) await new Promise<void>((resolve) => backgroundWaiting.push(resolve));
  else backgroundRunning++;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, so the count never dips for a newcomer to take it.
    const next = backgroundWaiting.shift();
    if (next) next();
    else backgroundRunning--;
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
  return options.background ? backgroundSlot(() => spawnRun(tool, args, options)) : spawnRun(tool, args, options);
}

function spawnRun(tool: Tool, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    if (options.background && child.pid !== undefined) {
      try {
        setPriority(child.pid, BACKGROUND_NICENESS);
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
