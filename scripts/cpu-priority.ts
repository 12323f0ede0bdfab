import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";

/**
 * CPU priority of media-node and the draft model server on the local stack: in production each
 * has machines of its own (media-node's containers, the model provider's GPUs), and the Worker
 * never shares a core with an encode. Here they share two cores with workerd, whose one thread
 * runs the Worker, every Durable Object, D1, R2 and the queues; at equal priority an x264 pass
 * takes its share of that thread's core and every request waits behind it (bench/load.ts
 * measures workerd's run-queue wait). Below the Worker, the encodes use only what it leaves.
 *
 * Niceness alone does not do it: each server is started in a session of its own (detached, so
 * stopping it stops its ffmpeg children), and with the kernel's autogroup scheduling
 * (`/proc/sys/kernel/sched_autogroup_enabled`, on by default on desktop and many server
 * kernels) CPU time is first shared equally between sessions, niceness counting only inside
 * one. So the Worker's session (its host's and workerd's, scripts/worker-host.ts) is raised instead (`/proc/<pid>/autogroup`,
 * niceness -10): workerd runs when it is ready, and when it is not — most of the time — the
 * encodes get all it leaves, and on a machine shared with other work they keep an equal
 * session's share of it. Raising needs CAP_SYS_NICE (root); without it the stand-ins' sessions
 * are lowered to 19 instead, which also yields them to every other session on the machine.
 * Inside their sessions the stand-ins run at niceness 10, media-node's background encodes at 19.
 *
 * A raised session still shares: autogroups are weighed against one another, so every other
 * busy session on the machine (another stack raised alike, a test run, a build) takes its
 * weighted turn while workerd waits, and each status request queues behind those turns
 * (bench/load.ts measured workerd's threads waiting for a core more than half their ready
 * time). Where the kernel allows it (CAP_SYS_NICE), the Worker's host therefore runs under the
 * round-robin real-time policy at its lowest priority (`chrt --rr 1`, inherited by workerd and
 * its threads): it takes a core the moment it is ready, and being a server that is idle between
 * requests it leaves the rest; the kernel's real-time throttling
 * (`/proc/sys/kernel/sched_rt_runtime_us`) keeps a share of every second for everything else.
 */
export const STAND_IN_NICENESS = 10;
export const WORKER_SESSION_NICENESS = -10;
export const STAND_IN_SESSION_NICENESS = 19;
/** The Worker's host's scheduling where the kernel allows it: round-robin real time, its lowest priority. */
export const WORKER_REAL_TIME = ["chrt", "--rr", "1"] as const;
/**
 * A benchmark's clients' scheduling (bench/load-clients.ts): one real-time priority above the
 * stack's. A client of adreel runs on a machine of its own, so it never waits for a core behind
 * the stack; at the stack's own priority a round-robin task woken while workerd and the storage
 * host held both cores waited for one of them to block (in same-day 20-ad loads the pollers'
 * process waited 20-23 % of its ready time for a core, 15-16 % one priority above), and its
 * requests timed that wait as the server's.
 */
export const CLIENT_REAL_TIME = ["chrt", "--rr", "2"] as const;

let realTime: boolean | null = null;

/** Whether this process may start one under WORKER_REAL_TIME (CAP_SYS_NICE, chrt installed): tried once. */
export function realTimeAllowed(): boolean {
  realTime ??= spawnSync(WORKER_REAL_TIME[0], [...WORKER_REAL_TIME.slice(1), "true"], { stdio: "ignore" }).status === 0;
  return realTime;
}

/**
 * `background` (the default): as above. `equal`: the stand-ins at niceness 0 and every
 * session left alone, so they compete with workerd as equals; bench/load.ts measures both in one run.
 */
export type StandInPriority = "background" | "equal";

/**
 * Sets the niceness of the session `pid` leads; false when the kernel refuses it (raising
 * without CAP_SYS_NICE). Without CAP_SYS_ADMIN, an autogroup's niceness may change once per
 * 100 ms machine-wide (EAGAIN otherwise), so that refusal is tried again; without autogroups
 * (no such file) there is nothing to set: niceness alone orders the tasks.
 */
export async function setSessionNiceness(pid: number, niceness: number): Promise<boolean> {
  const path = `/proc/${pid}/autogroup`;
  if (!existsSync(path)) return true;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, String(niceness));
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ESRCH" || code === "ENOENT") return true; // it exited; waitFor reports why
      if (code === "EPERM" || code === "EACCES") return false;
      if (code !== "EAGAIN" || attempt >= 20) throw new Error(`setting the CPU priority of ${path}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 110));
    }
  }
}

/**
 * One stack's priorities: the command prefix for a stand-in, and the sessions set as each
 * server starts. Once raising the Worker's session is refused, the stand-ins' sessions, those
 * started and those to come, are lowered instead.
 */
export class StackPriority {
  private readonly standIns: number[] = [];
  private lowerStandIns = false;
  readonly mode: StandInPriority;

  constructor(mode: StandInPriority) {
    this.mode = mode;
  }

  /** What the Worker host's command line starts with: chrt(1) execs it, so its pid is the server's. */
  workerCommand(): string[] {
    return this.mode === "background" && realTimeAllowed() ? [...WORKER_REAL_TIME] : [];
  }

  /** What a stand-in's command line starts with: nice(1) execs it, so its pid is the server's. */
  standInCommand(): string[] {
    return this.mode === "background" ? ["nice", "-n", String(STAND_IN_NICENESS)] : [];
  }

  async standInStarted(pid: number | undefined): Promise<void> {
    if (pid === undefined) return;
    this.standIns.push(pid);
    if (this.lowerStandIns) await lower(pid);
  }

  async workerStarted(pid: number | undefined): Promise<void> {
    if (this.mode !== "background" || pid === undefined || this.lowerStandIns) return;
    if (await setSessionNiceness(pid, WORKER_SESSION_NICENESS)) return;
    this.lowerStandIns = true;
    for (const standIn of this.standIns) await lower(standIn);
  }
}

async function lower(pid: number): Promise<void> {
  if (!(await setSessionNiceness(pid, STAND_IN_SESSION_NICENESS))) throw new Error(`lowering the CPU priority of session ${pid} was refused`);
}
