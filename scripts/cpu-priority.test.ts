import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { STAND_IN_SESSION_NICENESS, StackPriority, WORKER_SESSION_NICENESS } from "./cpu-priority.ts";

/** Real processes in sessions of their own, as the stack starts its servers; their sessions' niceness read back from /proc. */
const autogroups = existsSync("/proc/self/autogroup");
const sessionNiceness = (pid: number) => Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, "utf8"))![1]);

describe.skipIf(!autogroups)("the stack's CPU priorities under autogroup scheduling", () => {
  const started: ChildProcess[] = [];
  /** A process started as the stack starts a server: `prefix` before its command, in a session of its own. */
  const session = (prefix: string[] = []) => {
    const [command, ...args] = [...prefix, "sleep", "30"];
    const child = spawn(command!, args, { detached: true, stdio: "ignore" });
    started.push(child);
    return child;
  };
  afterEach(() => {
    for (const child of started.splice(0)) process.kill(-child.pid!, "SIGKILL");
  });

  it("puts the Worker's session first: raised where the kernel allows it, else every stand-in's session lowered", async () => {
    const priority = new StackPriority("background");
    const media = session(priority.standInCommand());
    await priority.standInStarted(media.pid);
    const worker = session();
    await priority.workerStarted(worker.pid);
    const draft = session(priority.standInCommand());
    await priority.standInStarted(draft.pid);

    const raised = sessionNiceness(worker.pid!) === WORKER_SESSION_NICENESS;
    expect(raised ? [0, 0] : [STAND_IN_SESSION_NICENESS, STAND_IN_SESSION_NICENESS]).toEqual([sessionNiceness(media.pid!), sessionNiceness(draft.pid!)]);
    if (!raised) expect(sessionNiceness(worker.pid!)).toBe(0);
    // The stand-ins themselves run below the Worker inside their sessions too.
    expect(Number(readFileSync(`/proc/${media.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16])).toBe(10);
  });

  it("starts the Worker under round-robin real time where the kernel allows it (inherited by what it starts)", () => {
    const command = new StackPriority("background").workerCommand();
    const may = spawnSync("chrt", ["--rr", "1", "true"]).status === 0;
    expect(command).toEqual(may ? ["chrt", "--rr", "1"] : []);
    // A child of the command, as workerd is of the Worker's host, reports its own policy.
    const [first, ...rest] = [...command, "sh", "-c", "sh -c 'chrt -p $$'"];
    const policy = spawnSync(first!, rest, { encoding: "utf8" }).stdout;
    expect(policy).toContain(may ? "SCHED_RR" : "SCHED_OTHER");
  });

  it("leaves every session and niceness alone at equal priority", async () => {
    const priority = new StackPriority("equal");
    expect(priority.standInCommand()).toEqual([]);
    expect(priority.workerCommand()).toEqual([]);
    const media = session();
    await priority.standInStarted(media.pid);
    const worker = session();
    await priority.workerStarted(worker.pid);
    expect([sessionNiceness(worker.pid!), sessionNiceness(media.pid!)]).toEqual([0, 0]);
  });
});
