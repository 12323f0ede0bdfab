import type { LiveMessage } from "../contracts/live.ts";

/**
 * A progress line fed by live events: phase, percentage, chunk grid, cost, ETA. On a
 * terminal it redraws one line; elsewhere (CI, pipes) it prints a line per change of phase.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let phase = "queued";
  let progress = 0;
  // Spent only ever rises; what is still running is shown beside it, never added in (contracts/api.ts SpentUsd).
  let spent = 0;
  let pending = 0;
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
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${progress.toFixed(0).padStart(3)}% ${phase}${grid()} $${spent.toFixed(4)}${pending > 0 ? ` (+$${pending.toFixed(4)} running)` : ""}${eta !== null ? ` eta ${eta}s` : ""}`;
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
    onEvent(message: LiveMessage): void {
      // Narrowed by field rather than by type, so every event that carries a field updates it.
      if (message.type === "snapshot") {
        const snapshot = message.snapshot;
        if (snapshot) {
          phase = snapshot.phase;
          progress = snapshot.progress;
          spent = Math.max(spent, snapshot.cost_usd);
          pending = snapshot.cost_pending_usd;
          eta = snapshot.estimated_time_remaining ?? eta;
          for (const job of snapshot.jobs) if (job.kind === "chunk") chunks.set(job.id, job.status);
        }
      }
      if ("phase" in message) phase = message.phase;
      if ("progress" in message) progress = Math.max(progress, message.progress);
      if ("cost_usd" in message && message.cost_usd !== undefined) spent = Math.max(spent, message.cost_usd);
      if ("cost_pending_usd" in message && message.cost_pending_usd !== undefined) pending = message.cost_pending_usd;
      if ("estimated_time_remaining" in message && message.estimated_time_remaining !== null) eta = message.estimated_time_remaining;
      if ("job" in message && message.job.kind === "chunk") chunks.set(message.job.id, message.job.status);
      if (message.type === "spec") for (let i = 0; i < message.chunks; i++) if (!chunks.has(`chunk:${String(i).padStart(3, "0")}`)) chunks.set(`chunk:${String(i).padStart(3, "0")}`, "waiting");
      if (message.type === "complete") progress = 100;
      render();
    },
    done(): void {
      if (tty) stream.write("\n");
    },
  };
}
