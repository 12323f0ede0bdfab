import type { LiveEvent } from "./client.ts";

/**
 * A progress line fed by live events: phase, percentage, chunk grid, cost, ETA. On a
 * terminal it redraws one line; elsewhere (CI, pipes) it prints a line per change of phase.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let phase = "queued";
  let progress = 0;
  let cost = 0;
  let eta: number | null = null;
  const chunks = new Map<string, string>();
  let lastPrinted = "";

  function grid(): string {
    if (chunks.size === 0) return "";
    const ready = [...chunks.values()].filter((s) => s === "done").length;
    return ` chunks ${ready}/${chunks.size}`;
  }

  function render(): void {
    const width = 24;
    const filled = Math.round((progress / 100) * width);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${progress.toFixed(0).padStart(3)}% ${phase}${grid()} $${cost.toFixed(4)}${eta !== null ? ` eta ${eta}s` : ""}`;
    if (tty) {
      stream.write(`\r\x1b[2K${line}`);
      return;
    }
    // Without a terminal, one line per phase and per 10 % step keeps logs readable.
    const key = `${phase} ${Math.floor(progress / 10)}`;
    if (key !== lastPrinted) stream.write(`${line}\n`);
    lastPrinted = key;
  }

  return {
    onEvent(event: LiveEvent): void {
      if (event.type === "snapshot") {
        const snapshot = event.snapshot as { phase: string; progress: number; cost_usd: number; jobs: { id: string; kind: string; status: string }[] } | null;
        if (snapshot) {
          phase = snapshot.phase;
          progress = snapshot.progress;
          cost = snapshot.cost_usd;
          for (const job of snapshot.jobs) if (job.kind === "chunk") chunks.set(job.id, job.status);
        }
      }
      if (typeof event.phase === "string") phase = event.phase;
      if (typeof event.progress === "number") progress = Math.max(progress, event.progress);
      if (typeof event.cost_usd === "number") cost = event.cost_usd;
      if (typeof event.estimated_time_remaining === "number") eta = event.estimated_time_remaining;
      const job = event.job as { id: string; kind: string; status: string } | undefined;
      if (job?.kind === "chunk") chunks.set(job.id, job.status);
      if (event.type === "spec" && typeof event.chunks === "number") for (let i = 0; i < event.chunks; i++) if (!chunks.has(`chunk:${String(i).padStart(3, "0")}`)) chunks.set(`chunk:${String(i).padStart(3, "0")}`, "waiting");
      if (event.type === "complete") progress = 100;
      render();
    },
    done(): void {
      if (tty) stream.write("\n");
    },
  };
}
