import { execFileSync } from "node:child_process";
import { constants, readFileSync, readdirSync } from "node:fs";
import { type FileHandle, mkdtemp, open, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { getPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestOrigin, startOrigin } from "../test/support/origin.ts";
import { ENCODE_SLOTS, PROCESS_SLOTS } from "./capacity.ts";
import { type RunOptions, encodesRunning, ffmpeg, processesRunning, promoteBackground, runsWaiting } from "./ffmpeg.ts";
import { extractLastFrame } from "./video/normalize.ts";

/**
 * The process slots (capacity.ts) with real ffmpeg runs, each reading its input from a local
 * origin that holds the answer until the test lets it go: a run is "running" exactly while the
 * origin holds its request, so what runs and what waits is read from counts, never from a clock.
 */

describe("process slots", () => {
  let origin: TestOrigin;
  /** Requests the origin holds, by the tag in their query, in arrival order. */
  const held: { tag: string; response: ServerResponse }[] = [];
  let arrived: () => void = () => undefined;

  beforeAll(async () => {
    origin = await startOrigin();
    origin.serve("/held", (request, response) => {
      held.push({ tag: new URL(request.url!, "http://origin").searchParams.get("tag")!, response });
      arrived();
    });
  });
  afterAll(() => origin.close());
  afterEach(() => expect(processesRunning()).toBe(0));

  /** Wait until the origin holds `count` requests. */
  const holding = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => held.length >= count && resolve();
      arrived = check;
      check();
    });
  /** Answer one held request: 404, so its run fails at once. */
  const release = (tag: string) => {
    const at = held.findIndex((h) => h.tag === tag);
    expect(at, `${tag} is running`).toBeGreaterThanOrEqual(0);
    held.splice(at, 1)[0]!.response.writeHead(404).end();
  };
  const input = (tag: string) => ["-i", origin.url(`/held?tag=${tag}`)];
  /** A run that encodes video (x264), and one that only reads. */
  const encode = (tag: string, background = false) => settled(ffmpeg([...input(tag), "-c:v", "libx264", "-f", "null", "-"], { background, timeoutMs: 60_000 }));
  const read = (tag: string) => settled(ffmpeg([...input(tag), "-f", "null", "-"], { timeoutMs: 60_000 }));
  /** Each run fails once released (404): what matters is that it ran and ended. */
  const settled = (run: Promise<unknown>) => run.then(() => "done", () => "done");
  const tags = () => held.map((h) => h.tag).sort();

  it(`runs at most ${ENCODE_SLOTS} encodes at once, whatever their priority; another encode waits, a short run still starts beside them`, async () => {
    const encodes = Array.from({ length: ENCODE_SLOTS }, (_, i) => encode(`encode-${i}`, true));
    await holding(ENCODE_SLOTS);
    const extra = encode("finish");
    expect(encodesRunning()).toBe(ENCODE_SLOTS);
    expect(runsWaiting()).toBe(1);
    // The extra process slot takes a run that is not an encode.
    const short = read("last-frame");
    await holding(ENCODE_SLOTS + 1);
    expect(tags()).toContain("last-frame");
    expect(tags()).not.toContain("finish");
    expect(processesRunning()).toBe(ENCODE_SLOTS + 1);
    expect(processesRunning()).toBeLessThanOrEqual(PROCESS_SLOTS);

    // The short run ending frees no encode slot: the waiting encode still waits.
    release("last-frame");
    await short;
    expect(runsWaiting()).toBe(1);
    // An encode ending lets it in.
    release("encode-0");
    await encodes[0];
    await holding(ENCODE_SLOTS);
    expect(tags()).toContain("finish");
    expect(encodesRunning()).toBe(ENCODE_SLOTS);
    for (const tag of tags()) release(tag);
    await Promise.all([...encodes, extra]);
  });

  it("gives a freed encode slot to a waiting normal encode (a finish) before background encodes that asked first", async () => {
    const running = Array.from({ length: ENCODE_SLOTS }, (_, i) => encode(`normalize-${i}`, true));
    await holding(ENCODE_SLOTS);
    const queuedNormalize = encode("queued-normalize", true);
    const finish = encode("finish");
    expect(runsWaiting()).toBe(2);

    release("normalize-0");
    await running[0];
    await holding(ENCODE_SLOTS);
    expect(tags()).toContain("finish");
    expect(tags()).not.toContain("queued-normalize");
    expect(runsWaiting()).toBe(1);

    release("finish");
    await finish;
    await holding(ENCODE_SLOTS);
    expect(tags()).toContain("queued-normalize");
    for (const tag of tags()) release(tag);
    await Promise.all([...running, queuedNormalize]);
    expect(runsWaiting()).toBe(0);
  });

  it(`never runs more than ${PROCESS_SLOTS} processes at once; the rest wait and all finish`, async () => {
    const runs = Array.from({ length: PROCESS_SLOTS + 2 }, (_, i) => read(`read-${i}`));
    await holding(PROCESS_SLOTS);
    expect(processesRunning()).toBe(PROCESS_SLOTS);
    expect(runsWaiting()).toBe(2);
    // Released one by one, every waiter gets its turn.
    for (let i = 0; i < PROCESS_SLOTS + 2; i++) {
      await holding(Math.min(PROCESS_SLOTS, PROCESS_SLOTS + 2 - i));
      release(`read-${i}`);
      await runs[i];
    }
    expect(runsWaiting()).toBe(0);
  });
});

/**
 * Runs that each read raw audio from a FIFO of their own: a run holds its slot until the test
 * writes and closes its FIFO, and the test sees when it started, because opening a FIFO to write
 * waits for its reader (and fails at once, non-blocking, while there is none).
 */
async function withFifoRuns(name: string, test: (runs: FifoRuns) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `ffmpeg-${name}-`));
  const end = async (writer: FileHandle) => {
    await writer.write(Buffer.alloc(800, 128));
    await writer.close();
  };
  try {
    await test({
      fifo: (file) => {
        const path = join(dir, file);
        execFileSync("mkfifo", [path]);
        return path;
      },
      reading: (path, options = {}) => ffmpeg(["-f", "u8", "-ar", "8000", "-ac", "1", "-i", path, "-f", "null", "-"], { ...options, timeoutMs: 30_000 }),
      started: (path) => open(path, "w"),
      end,
      release: async (path) => end(await open(path, "w")),
      notStarted: (path) => expect(open(path, constants.O_WRONLY | constants.O_NONBLOCK)).rejects.toMatchObject({ code: "ENXIO" }),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface FifoRuns {
  fifo(file: string): string;
  reading(path: string, options?: RunOptions): Promise<unknown>;
  /** Waits until the run reading `path` started; the handle ends it (`end`). */
  started(path: string): Promise<FileHandle>;
  end(writer: FileHandle): Promise<void>;
  /** Waits until the run started, then ends it. */
  release(path: string): Promise<void>;
  notStarted(path: string): Promise<void>;
}

describe("critical runs", () => {
  it("take the first slot that frees ahead of normal and background waiters", () =>
    withFifoRuns("critical", async ({ fifo, reading, release, notStarted }) => {
      const busy = Array.from({ length: PROCESS_SLOTS }, (_, i) => fifo(`busy${i}`));
      const held = busy.map((path) => reading(path));
      const normal = fifo("normal");
      const background = fifo("background");
      const critical = fifo("critical");
      const waiters = [reading(normal), reading(background, { background: true })];
      const criticalRun = reading(critical, { critical: true });
      await release(busy[0]!);
      await held[0];
      // The freed slot went to the critical run: its ffmpeg opened its FIFO (this open waits for that)…
      await release(critical);
      await criticalRun;
      // …while the waiters that came before it still wait: nothing reads their FIFOs.
      for (const path of [normal, background]) await notStarted(path);
      for (const path of busy.slice(1)) await release(path);
      await release(normal);
      await release(background);
      await Promise.all([...held, ...waiters]);
    }));
});

describe("a burst of critical runs", () => {
  it("lets the higher rank in first, whatever the order they asked in", () =>
    withFifoRuns("burst", async ({ fifo, reading, started, end, notStarted }) => {
      const busy = Array.from({ length: PROCESS_SLOTS }, (_, i) => fifo(`busy${i}`));
      const held = busy.map((path) => reading(path));
      const busyWriters = await Promise.all(busy.map(started));
      // The first to ask ranks lowest: a frame no other chunk waits on in turn.
      const ranked = [0, 1, 2].map((rank) => ({ rank, path: fifo(`rank${rank}`) }));
      const runs = ranked.map(({ rank, path }) => reading(path, { critical: true, rank }));
      expect(runsWaiting()).toBe(3);
      // Each freed slot goes to the highest rank still waiting (the ranked runs hold theirs).
      const rankedWriters = [];
      for (const [i, next] of [2, 1, 0].entries()) {
        await end(busyWriters[i]!);
        await held[i];
        rankedWriters.push(await started(ranked[next]!.path));
        for (const other of ranked.filter((r) => r.rank < next)) await notStarted(other.path);
      }
      for (const writer of rankedWriters) await end(writer);
      await Promise.all([...held, ...runs]);
      expect(processesRunning()).toBe(0);
    }));
});

describe("a beat's last frame", () => {
  it("is let in ahead of normal waiters, though no chunk is created from it: its chunk's normalize pass waits on it", () =>
    withFifoRuns("unchained", async ({ fifo, reading, started, end, release, notStarted }) => {
      // A short clip as a stream (MPEG-TS reads without seeking, so it can come through a FIFO).
      const clipDir = await mkdtemp(join(tmpdir(), "unchained-clip-"));
      const clip = join(clipDir, "clip.ts");
      execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=8:duration=1", "-c:v", "libx264", "-f", "mpegts", clip]);
      try {
        const busy = Array.from({ length: PROCESS_SLOTS }, (_, i) => fifo(`busy${i}`));
        const held = busy.map((path) => reading(path));
        const busyWriters = await Promise.all(busy.map(started));
        // A normal run asks first, then the last frame of a beat's last chunk.
        const normal = fifo("normal");
        const normalRun = reading(normal);
        const input = fifo("last-chunk.ts");
        const frame = extractLastFrame(input, join(clipDir, "last.png"), { width: 64, height: 36, fps: 8, frames: 8 }, { chained: false });
        expect(runsWaiting()).toBe(2);
        await end(busyWriters[0]!);
        await held[0];
        // The freed slot went to the frame: its ffmpeg opened its FIFO, the normal run's is unread.
        const writer = await started(input);
        await notStarted(normal);
        await writer.write(readFileSync(clip));
        await writer.close();
        await frame;
        for (const w of busyWriters.slice(1)) await end(w);
        await release(normal);
        await Promise.all([...held, normalRun]);
      } finally {
        await rm(clipDir, { recursive: true, force: true });
      }
    }));
});

describe("promoting a video's background runs", () => {
  /** Niceness of every thread of this process's ffmpeg children (/proc/<pid>/task/<tid>/stat, field 19). */
  const childNiceness = () =>
    readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const [comm, rest] = [stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), stat.slice(stat.lastIndexOf(")") + 2).split(" ")];
          if (comm !== "ffmpeg" || Number(rest[1]) !== process.pid) return [];
          return readdirSync(`/proc/${pid}/task`).map((tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]));
        } catch {
          return [];
        }
      });

  it.skipIf(process.platform !== "linux")("lets its waiting ones in as normal runs and raises its running ones, every thread, to normal priority; other videos' stay background", () =>
    withFifoRuns("promote", async ({ fifo, reading, started, end, notStarted }) => {
      // One background run of video v running, the other slots busy with normal runs.
      const runningPass = fifo("running-pass");
      const runningRun = reading(runningPass, { background: true, group: "v" });
      const runningWriter = await started(runningPass);
      expect(new Set(childNiceness())).toEqual(new Set([19]));
      const busy = Array.from({ length: PROCESS_SLOTS - 1 }, (_, i) => fifo(`busy${i}`));
      const held = busy.map((path) => reading(path));
      const busyWriters = await Promise.all(busy.map(started));
      // Waiting: v's background pass, another video's, then a normal run.
      const waitingPass = fifo("waiting-pass");
      const other = fifo("other-video");
      const normal = fifo("normal");
      const waiters = [reading(waitingPass, { background: true, group: "v" }), reading(other, { background: true, group: "w" }), reading(normal)];
      expect(runsWaiting()).toBe(3);

      promoteBackground("v");
      // Every thread of v's running pass is at this process's own niceness now; the normal runs' were already.
      expect(new Set(childNiceness())).toEqual(new Set([getPriority()]));
      // A freed slot goes to v's pass, now a normal run that came before the other normal one.
      await end(busyWriters[0]!);
      await held[0];
      const waitingWriter = await started(waitingPass);
      for (const path of [other, normal]) await notStarted(path);
      await end(waitingWriter);
      await waiters[0];
      // Then the normal run, and only then the other video's background pass.
      const normalWriter = await started(normal);
      await notStarted(other);
      await end(normalWriter);
      await end(await started(other));
      for (const writer of [runningWriter, ...busyWriters.slice(1)]) await end(writer);
      await Promise.all([runningRun, ...held, ...waiters]);
      expect(processesRunning()).toBe(0);
    }));
});

describe("an output ffmpeg could not finish writing", () => {
  // Mounting a small tmpfs needs root (as the faults suite's full disk does); elsewhere this is skipped.
  it.skipIf(process.getuid?.() !== 0)("fails the run though ffmpeg 5.1 exits 0 when an MP4's +faststart trailer meets a full disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "adreel-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=300k", "tmpfs", dir]);
    try {
      const writing = ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=24:d=3", "-c:v", "libx264", "-preset", "superfast", "-movflags", "+faststart", "-f", "mp4", join(dir, "out.mp4")], { timeoutMs: 60_000 });
      await expect(writing).rejects.toThrow(/No space left on device/);
    } finally {
      execFileSync("umount", ["-l", dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
