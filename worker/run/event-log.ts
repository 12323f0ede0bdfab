import { type LiveEventData, type LiveEventType, liveEventIssues } from "../../contracts/live.ts";
import type { Log } from "../log.ts";

/**
 * The run's live event log: every event is appended to the run's SQLite (so a client that
 * reconnects can replay what it missed) and sent to every open socket. Sockets use the
 * WebSocket Hibernation API, so the object may sleep between events without dropping them.
 */

export interface StoredEvent {
  id: number;
  type: string;
  at: number;
  data: unknown;
}

/** A page of replay: the object sends at most this many events per connection. */
const REPLAY_PAGE = 1000;

/**
 * Typed by contracts/live.ts, so a call with a wrong or missing field fails to compile. It is
 * also checked at run time, always: the types cannot see data that arrives through JSON.parse
 * casts (stored job outputs, planner notes), and a safeParse costs microseconds against a
 * SQLite write and a send per socket. A mismatch is logged and the event still goes out:
 * a contract slip must never stop a run or leave a hole in its log.
 */
export function appendEvent<T extends LiveEventType>(sql: SqlStorage, sockets: readonly WebSocket[], type: T, data: LiveEventData<T>, log: Log): void {
  const issues = liveEventIssues({ ...data, type });
  if (issues) log.error("live_event.off_contract", { type, issues });
  const at = Date.now();
  const seq = sql.exec("INSERT INTO events (type, data, at) VALUES (?, ?, ?) RETURNING seq", type, JSON.stringify(data), at).one().seq as number;
  const message = JSON.stringify({ id: seq, type, at, ...data });
  for (const socket of sockets) {
    try {
      socket.send(message);
    } catch {
      // A socket closing mid-send is cleaned up by webSocketClose.
    }
  }
}

/** Events after `since` (0: the whole log), oldest first, one page. */
export function eventsSince(sql: SqlStorage, since: number): StoredEvent[] {
  const rows = sql.exec("SELECT seq, type, data, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?", since, REPLAY_PAGE).toArray() as { seq: number; type: string; data: string; at: number }[];
  return rows.map((e) => ({ id: e.seq, type: e.type, at: e.at, data: JSON.parse(e.data) }));
}

export function lastEventId(sql: SqlStorage): number {
  return sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").one().seq as number;
}

/** A stored event as a socket frame: the same JSON a live viewer got when it happened. */
export function eventFrame(event: StoredEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, at: event.at, ...(event.data as object) });
}

/**
 * The `since` of a live connection: the id of the last event the client saw (0 when it wants
 * the whole log), or null when it asked for no replay (a first connection: the snapshot holds
 * everything so far).
 */
export function replayFrom(url: URL): number | null {
  const given = url.searchParams.get("since");
  if (given === null) return null;
  const since = Number(given);
  return Number.isSafeInteger(since) && since >= 0 ? since : null;
}
