import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { ENCODE_SLOTS, PROCESS_SLOTS, encodesVideo } from "./capacity.ts";

/** ffmpeg and ffprobe, spawned with argument arrays (never a shell string). */

export class FfmpegError extends Error {
  readonly tool: string;
  readonly code: number | null;
  readonly stderrTail: string;
  constructor(
    tool: string,
    code: number | null,
    stderrTail: string,
  ) {
    super(`${tool} failed (exit ${code ?? "signal"}): ${stderrTail}`);
    this.tool = tool;
    this.code = code;
    this.stderrTail = stderrTail;
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
   * get the cores first when everything runs at once; waiting for a slot, it comes after every
   * other run.
   */
  background?: boolean;
  /**
   * Work a chain of the video waits on right now (a chunk's last frame: the next chunk's
   * prediction is created from it): it takes the next free process slot ahead of every other
   * waiter and runs a little above normal priority, so encodes and seam measures running beside
   * it do not share the CPU with it equally.
   */
  critical?: boolean;
  /**
   * Among critical waiters, a higher rank is let in first (arrival order among equals): a chunk's
   * last frame ranks by the chunks of its beat still to be created from it in turn, so when every
   * beat's frame lands at once the longest chain — the one that ends the chunk phase — goes first.
   */
  rank?: number;
  /** The video a background run works for: `promoteBackground` raises it when the video comes to wait on it. */
  group?: string;
}

/** Linux niceness of background work: the lowest, so CFS gives each of its threads about 1/70 of a normal thread's share when the cores are contended (and all of an idle core). */
const BACKGROUND_NICENESS = 19;
/** How far above this process's own niceness critical work runs (raising needs CAP_SYS_NICE; without it, it runs at normal priority). */
const CRITICAL_RAISE = 5;

/** The order waiters get a process slot in. */
type SlotClass = "critical" | "normal" | "background";
const SLOT_ORDER: readonly SlotClass[] = ["critical", "normal", "background"];

interface Waiter {
  slotClass: SlotClass;
  encode: boolean;
  rank: number;
  group: string | undefined;
  start: () => void;
}

let running = 0;
let encoding = 0;
/** Runs waiting for a slot, in arrival order. */
const waiting: Waiter[] = [];

function mayStart(run: { encode: boolean }): boolean {
  return running < PROCESS_SLOTS && (!run.encode || encoding < ENCODE_SLOTS);
}

/** Waiters of one class in the order they are let in: higher rank first, then arrival. */
function inTurn(slotClass: SlotClass): Waiter[] {
  return waiting.filter((w) => w.slotClass === slotClass).sort((a, b) => b.rank - a.rank);
}

/**
 * Start every waiter that may start, critical runs first, then normal ones, then background
 * ones, each by rank, then in arrival order (`inTurn`). A waiter that cannot start (an encode while the encode slots are
 * full) does not hold up a shorter run behind it that can: the extra process slot is for those.
 */
function admitWaiting(): void {
  for (const slotClass of SLOT_ORDER) {
    for (const waiter of inTurn(slotClass)) {
      if (!mayStart(waiter)) continue;
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.start();
    }
  }
}

/** Child processes this media-node runs right now. */
export function processesRunning(): number {
  return running;
}

/** Video encodes among them. */
export function encodesRunning(): number {
  return encoding;
}

/** Runs waiting for a slot. */
export function runsWaiting(): number {
  return waiting.length;
}

/**
 * The bounds of capacity.ts, applied to every child process whatever route spawned it. A run
 * waits in line (never refused: its request was admitted) and is counted as soon as it is
 * granted a slot, so a newcomer never takes a slot handed to a waiter.
 */
async function processSlot<T>(asked: SlotClass, encode: boolean, rank: number, group: string | undefined, work: (slotClass: SlotClass) => Promise<T>): Promise<T> {
  // The class it is let in as: a background waiter may be promoted meanwhile.
  const slotClass = await new Promise<SlotClass>((start) => {
    const waiter: Waiter = {
      slotClass: asked,
      encode,
      rank,
      group,
      start: () => {
        running++;
        if (encode) encoding++;
        start(waiter.slotClass);
      },
    };
    waiting.push(waiter);
    admitWaiting();
  });
  try {
    return await work(slotClass);
  } finally {
    running--;
    if (encode) encoding--;
    admitWaiting();
  }
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

const STDERR_KEEP = 16 * 1024;

/**
 * ffmpeg 5.1 exits 0 when writing an output's trailer fails: an MP4 written with +faststart on a
 * full disk is cut short, its moov never written, and only these lines (printed even at
 * -loglevel error) say so. Such a run failed; taking it as done would blame the next reader of
 * the file (a 422 "not a readable video" for our own output) and hide the ENOSPC.
 */
const OUTPUT_WRITE_FAILED = /^(Error writing trailer of|Error closing file) /m;

/** The tools media work spawns: ffmpeg, ffprobe, and espeak-ng for the draft voice. */
export type Tool = "ffmpeg" | "ffprobe" | "espeak-ng";

export function run(tool: Tool, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const asked = options.critical ? "critical" : options.background ? "background" : "normal";
  return processSlot(asked, encodesVideo(args), options.rank ?? 0, options.group, (slotClass) => spawnRun(tool, args, { ...options, background: slotClass === "background" }));
}

/** Background runs alive, by the group (video) they work for. */
const backgroundRuns = new Map<string, Set<number>>();

/**
 * `group` (a video) now waits on its background runs (a chunk phase comes down to its normalize
 * passes): those waiting for a slot wait as normal runs, ahead of other background work, and those
 * running are raised to normal priority, every thread (setpriority on a pid moves only the thread
 * of that id; x264's threads were started at the background niceness).
 */
export function promoteBackground(group: string): void {
  for (const waiter of waiting) if (waiter.group === group && waiter.slotClass === "background") waiter.slotClass = "normal";
  for (const pid of backgroundRuns.get(group) ?? []) {
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) setPriority(Number(task), getPriority());
    } catch {
      // It ended meanwhile, or this is not Linux: it finishes at background priority, only later.
    }
  }
  backgroundRuns.delete(group);
  admitWaiting();
}

function trackBackground(group: string | undefined, pid: number | undefined): () => void {
  if (group === undefined || pid === undefined) return () => undefined;
  const runs = backgroundRuns.get(group) ?? new Set<number>();
  backgroundRuns.set(group, runs.add(pid));
  return () => {
    runs.delete(pid);
    if (runs.size === 0 && backgroundRuns.get(group) === runs) backgroundRuns.delete(group);
  };
}

function spawnRun(tool: Tool, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const niceness = options.critical ? Math.max(-20, getPriority() - CRITICAL_RAISE) : options.background ? BACKGROUND_NICENESS : null;
    const untrack = options.background ? trackBackground(options.group, child.pid) : () => undefined;
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
      untrack();
      reject(new FfmpegError(tool, null, `could not start ${tool}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      untrack();
      const tail = stderr.trim().split("\n").slice(-6).join("\n");
      if (code === 0 && !OUTPUT_WRITE_FAILED.test(stderr)) return resolve({ stdout: Buffer.concat(stdout), stderr });
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
export async function ffprobe(path: string, countFrames = false, options: RunOptions = {}): Promise<ProbeResult> {
  const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format"];
  if (countFrames) args.push("-count_frames");
  const { stdout } = await run("ffprobe", [...args, path], { ...options, timeoutMs: 60_000 });
  return JSON.parse(stdout.toString("utf8")) as ProbeResult;
}
