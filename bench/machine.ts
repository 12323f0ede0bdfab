import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";

/**
 * The machine a benchmark ran on, printed with every result: timings on this shared 2-core box
 * mean little without the core count, the load at the time and the exact command.
 */

export interface Machine {
  /** `nproc`: cores this process may use. */
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  ffmpeg: string;
}

function firstLine(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0]!.trim();
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  const nproc = Number(firstLine("nproc", []));
  return {
    cores: Number.isInteger(nproc) && nproc > 0 ? nproc : availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ffmpeg: firstLine("ffmpeg", ["-hide_banner", "-version"])?.split(" Copyright")[0] ?? "ffmpeg not found",
  };
}

/** 1, 5 and 15 minute load averages, as `/proc/loadavg` prints them. */
export function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/** How this process was started, as a command a reader can paste (tsx instead of the full node path). */
export function invocation(): string {
  const script = process.argv[1] ?? "";
  const relative = script.includes("/bench/") ? `bench/${script.split("/bench/").pop()}` : script;
  return ["tsx", relative, ...process.argv.slice(2)].join(" ");
}

/** One markdown paragraph: command, machine and load, for the top of a results section. */
export function machineParagraph(command: string, loadBefore: string, code?: string): string {
  const m = describeMachine();
  const loadAfter = loadAverage();
  return [
    `Command: \`${command}\`${process.env.ADREEL_BENCH_VIA ? ` (run by \`${process.env.ADREEL_BENCH_VIA}\`)` : ""}.${code ? ` Code: ${code}.` : ""}`,
    `Machine: ${m.cores} cores (\`nproc\`), ${m.cpu}, ${m.memoryGiB} GiB RAM; node ${m.node}; ${m.ffmpeg}.`,
    `Load average (\`/proc/loadavg\` 1/5/15 min) at the start ${loadBefore}, at the end ${loadAfter} — the machine is shared with other engineers' test runs, so absolute times carry noise; compare the ratios, measured in the same run.`,
  ].join("\n");
}
