import { LogRecord } from "../../contracts/log.ts";

/**
 * The structured records among a process's output lines (scripts/stack.ts `lines()`). A line
 * of ours is one JSON record; a host may frame the Worker's warnings and errors (`wrangler dev`
 * did: `▲ [WARNING] `, `✘ [ERROR] `, ANSI colours), so the record is the JSON object inside the line.
 * Lines that hold no record (Miniflare's queue lines, a banner) are returned apart.
 */
export function logRecords(lines: readonly string[]): { records: LogRecord[]; other: string[] } {
  const records: LogRecord[] = [];
  const other: string[] = [];
  for (const raw of lines) {
    // ANSI colour sequences around wrangler's framing.
    const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
    const from = line.indexOf("{");
    const to = line.lastIndexOf("}");
    const record = from >= 0 && to > from ? parseRecord(line.slice(from, to + 1)) : null;
    if (record) records.push(record);
    else if (line.trim()) other.push(line);
  }
  return { records, other };
}

function parseRecord(text: string): LogRecord | null {
  try {
    const parsed = LogRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
