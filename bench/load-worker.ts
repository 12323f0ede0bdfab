import { readFileSync } from "node:fs";
import { sleep } from "./load-clients.ts";
import { mib } from "./load-memory.ts";
import { processTree, type TreeUsage } from "./process-tree.ts";
import { type IsolateProfile, inspectorUrl, listeningPorts, profileIsolate, STACK_ISOLATES } from "./worker-profile.ts";

/** What the load bench watches of the stack's two workerd hosts (the Worker's, the storage's): CPU, memory, their isolates' profiles and the bytes they moved. */

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

/** CPU of a process tree as a share of the wall time × cores. */
export const pct = (usage: TreeUsage | undefined, cores: number) => (usage ? ((100 * usage.cpuSeconds) / (usage.wallSeconds * cores)).toFixed(0) : "n/a");

/** Time ready but waiting for a core, as a share of the time ready (on a core + waiting). */
export const waitShare = (runNs: number, waitNs: number) => `${((100 * waitNs) / Math.max(1, runNs + waitNs)).toFixed(1)} %`;

export interface Io {
  read: number;
  written: number;
}

/**
 * Bytes a host's workerd read and wrote through system calls so far (/proc/<pid>/io rchar,
 * wchar: sockets and files alike): each media byte through the Worker's /media route is read
 * from a socket, written to R2's files, and so on.
 */
export function workerdIo(hostPid: number): Io {
  let read = 0;
  let written = 0;
  for (const s of processTree(hostPid).filter((p) => p.comm.startsWith("workerd"))) {
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

/** Both hosts' workerd bytes so far. */
export const stackIo = (pids: { worker: number; storage: number }) => ({ worker: workerdIo(pids.worker), storage: workerdIo(pids.storage) });
export const ioSince = (before: Io, after: Io): Io => ({ read: after.read - before.read, written: after.written - before.written });

/**
 * The report's rows on the two hosts: the Worker's (its Durable Objects and queues, whose one
 * thread answers status) and the storage's (R2 with its S3 API, and D1: scripts/storage-host.ts).
 */
export function hostRows(usage: Record<string, TreeUsage | undefined>, io: { worker: Io; storage: Io }, cores: number): string[][] {
  const { worker, workerd, storage } = usage;
  return [
    ["workerd peak RSS", workerd ? `${mib(workerd.peakRssBytes)} MiB (all of the Worker's process tree: ${worker ? mib(worker.peakRssBytes) : "n/a"} MiB)` : "n/a"],
    [`the Worker's process tree (its host and workerd) CPU / (wall × ${cores} cores)`, worker ? `${pct(worker, cores)} % (${worker.cpuSeconds.toFixed(0)} CPU s)` : "n/a"],
    ["workerd threads: on a core / ready but waiting for one (run-queue wait, /proc schedstat)", workerd?.runSeconds != null && workerd.runqueueWaitSeconds != null ? `${workerd.runSeconds.toFixed(0)} s / ${workerd.runqueueWaitSeconds.toFixed(0)} s (waited ${((100 * workerd.runqueueWaitSeconds) / Math.max(1e-9, workerd.runSeconds + workerd.runqueueWaitSeconds)).toFixed(0)} % of its ready time)` : "n/a"],
    ["the Worker's workerd: bytes read / written through system calls over the load (/proc io rchar / wchar: sockets and files)", `${mib(io.worker.read)} / ${mib(io.worker.written)} MiB`],
    [`the storage host (R2 with its S3 API, and D1, in a workerd of their own): CPU / (wall × ${cores} cores), peak RSS`, storage ? `${pct(storage, cores)} % (${storage.cpuSeconds.toFixed(0)} CPU s), ${mib(storage.peakRssBytes)} MiB` : "n/a"],
    ["the storage host's workerd: bytes read / written through system calls over the load", `${mib(io.storage.read)} / ${mib(io.storage.written)} MiB`],
  ];
}
