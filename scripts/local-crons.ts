/**
 * wrangler.toml's cron triggers on the local stack. Miniflare fires none of them (its
 * `/cdn-cgi/local/scheduled` runs the handler only when asked), so the Worker host asks: at the
 * start of each UTC minute (Cron Triggers run on UTC), every cron due in it runs the Worker's
 * scheduled handler through the local front's trigger (worker/scheduled.ts).
 *
 * The five-field syntax here is the part of Cloudflare's this project uses: numbers, `*`, ranges
 * `a-b`, steps `*\/n` and `a-b/n`, and lists of those. Names (JAN, MON), `L`, `W` and `#` are
 * refused by name rather than read wrongly.
 */

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  // 7 is Sunday as well as 0.
  { name: "day of week", min: 0, max: 7 },
] as const;

function values(field: string, { name, min, max }: (typeof FIELDS)[number], cron: string): Set<number> {
  const found = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`cron "${cron}": its ${name} field "${field}" uses syntax the local stack does not run (numbers, *, a-b, /n and lists only)`);
    const from = match[1] === "*" ? min : Number(match[2]);
    const to = match[1] === "*" ? max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < min || to > max || from > to || step < 1) throw new Error(`cron "${cron}": its ${name} field "${field}" is out of ${min}-${max}`);
    for (let value = from; value <= to; value += step) found.add(value);
  }
  return found;
}

/** Whether `cron` is due in the UTC minute `at` falls in. */
export function cronDue(cron: string, at: Date): boolean {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${cron}": expected five fields (minute hour day-of-month month day-of-week)`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields.map((field, i) => values(field, FIELDS[i]!, cron)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dayOfWeek.has(7)) dayOfWeek.add(0);
  if (!minute.has(at.getUTCMinutes()) || !hour.has(at.getUTCHours()) || !month.has(at.getUTCMonth() + 1)) return false;
  // As in cron: when both day fields are restricted, either one matching is enough.
  const dayOfMonthAny = fields[2] === "*";
  const dayOfWeekAny = fields[4] === "*";
  const domMatch = dayOfMonth.has(at.getUTCDate());
  const dowMatch = dayOfWeek.has(at.getUTCDay());
  if (dayOfMonthAny || dayOfWeekAny) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

/**
 * Runs `fire(cron, minuteStart)` for every cron due, at the start of each UTC minute from now on;
 * returns the stop. Every cron is checked once here, so a bad one fails the start, not a minute.
 */
export function scheduleCrons(crons: readonly string[], fire: (cron: string, scheduledTime: number) => void): () => void {
  for (const cron of crons) cronDue(cron, new Date(0));
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    const now = Date.now();
    const minuteStart = now - (now % 60_000) + 60_000;
    timer = setTimeout(() => {
      for (const cron of crons) if (cronDue(cron, new Date(minuteStart))) fire(cron, minuteStart);
      next();
    }, minuteStart - now);
    timer.unref();
  };
  if (crons.length > 0) next();
  return () => clearTimeout(timer);
}
