import { basename } from "node:path";
import { type ProcStat, readCmdline } from "./process-tree.ts";

/**
 * Which of media-node's routes a process of its tree works for, read from its command line: each
 * route's ffmpeg runs write files of their own names into the request's temp dir (media-node's
 * routes), so the names tell the work apart without media-node saying anything.
 */
export function mediaRunOf(comm: string, argv: readonly string[]): string {
  if (comm.startsWith("node")) return "server";
  if (comm.startsWith("ffprobe")) return "ffprobe";
  if (comm.startsWith("espeak")) return "espeak-ng (voice)";
  // Not a media tool: e.g. esbuild's service, which tsx ran beside the server (a --ref's older code).
  if (!comm.startsWith("ffmpeg")) return comm;
  // A process past its exit (or not yet exec'd) has no command line to read.
  if (argv.length === 0) return "ffmpeg (no command line: exiting)";
  const names = new Set(argv.map((arg) => basename(arg)));
  const has = (test: RegExp) => [...names].some((name) => test.test(name));
  const encodes = argv.includes("libx264");
  if (names.has("chunk.mp4")) return argv.some((arg) => arg.includes("captions.ass") || /overlay-\d+\.png/.test(arg)) ? "chunks/normalize: chunk, decorated" : "chunks/normalize: chunk";
  if (has(/^own-\d+\.mp4$/)) return "chunks/normalize: windows";
  if (names.has("last.png")) return "chunks/last-frame";
  if (names.has("window.mp4")) return "videos/stitch/window";
  if (has(/^rendered-\d+\.mp4$/)) return "videos/assemble: windows";
  if (names.has("assembly.ffconcat")) return "videos/assemble: concat";
  if (names.has("final.mp4") && names.has("video.mp4")) return "audio/mux";
  if (has(/^(stitched\.mp4|seams-\d+\.mp4|splice\.ffconcat|reference-.*\.mp4|single-pass.*)$/)) return "videos/stitch";
  if (names.has("pipe:1") && argv.includes("rawvideo")) return "videos/seams: frames";
  if (has(/\.(m4a|wav)$/)) return "audio";
  const output = argv.at(-1);
  return `ffmpeg${encodes ? " x264" : ""} (${output ? basename(output) : "?"})`;
}

/** `mediaRunOf` for a live process (a TreeWatch's `breakdown`). */
export function mediaRunOfProcess(stat: ProcStat): string {
  return mediaRunOf(stat.comm, readCmdline(stat.pid));
}
