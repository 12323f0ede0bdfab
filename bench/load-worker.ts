import { readFileSync } from "node:fs";
import { sleep } from "./load-clients.ts";
import { processTree } from "./process-tree.ts";
import { type IsolateProfile, inspectorUrl, listeningPorts, profileIsolate, STACK_ISOLATES } from "./worker-profile.ts";

/** What the load bench watches of the Worker's workerd besides its CPU: its isolates' profiles and the bytes it moved. */

/**
 * When into the load the stack's isolates are profiled, and for how long: the chunk phase, with
 * every video started (a load of 20 took 84 s in all at 9965f49; a profile from 90 s in found it over).
 */
export const PROFILE_AFTER_S = 20;
const PROFILE_FOR_S = 30;
/** Busy runs this long are reported: the status tail under load was ~20 ms at 9965f49. */
const PROFILE_LONG_RUN_MS = 10;

/** CPU profiles of the stack's isolates (worker-profile.ts), at once, from PROFILE_AFTER_S into the load; a reason for each that cannot be taken. */
export async function profileWorkerLater(workerPid: number): Promise<IsolateProfile[]> {
  await sleep(PROFILE_AFTER_S * 1000);
  let ports: number[];
  try {
    ports = processTree(workerPid)
      .filter((s) => s.comm.startsWith("workerd"))
      .flatMap((s) => listeningPorts(s.pid));
  } catch (error) {
    return [{ isolate: "workerd", profile: `its inspector was not found: ${(error as Error).message}` }];
  }
  return Promise.all(
    STACK_ISOLATES.map(async (isolate) => {
      try {
        const url = await inspectorUrl(ports, isolate);
        return { isolate, profile: url ? await profileIsolate(url, PROFILE_FOR_S, 25, 3, PROFILE_LONG_RUN_MS) : "no inspector target" };
      } catch (error) {
        return { isolate, profile: `the profile failed: ${(error as Error).message}` };
      }
    }),
  );
}

/**
 * Bytes the Worker's workerd read and wrote through system calls so far (/proc/<pid>/io rchar,
 * wchar: sockets and files alike): each media byte through its /media route is read from a
 * socket, written to R2's files, and so on.
 */
export function workerdIo(workerPid: number): { read: number; written: number } {
  let read = 0;
  let written = 0;
  for (const s of processTree(workerPid).filter((p) => p.comm.startsWith("workerd"))) {
    try {
      const io = readFileSync(`/proc/${s.pid}/io`, "utf8");
      read += Number(/^rchar:\s*(\d+)/m.exec(io)?.[1] ?? 0);
      written += Number(/^wchar:\s*(\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // gone, or not ours to read
    }
  }
  return { read, written };
}
