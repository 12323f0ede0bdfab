import type { VideoStatus } from "../../contracts/api.ts";

/**
 * A video's lifecycle, as one table: for each event, the statuses it may happen in and where it
 * leads. The run's row (run-state.ts) changes `status` only through `videoTransition`, and its
 * UPDATEs carry the table's `from` list as their guard, so an event in a status the table does
 * not list (a late failure after the end, a second cancel) changes nothing.
 *
 *   queued ─advance→ processing ─complete | fail | cancel→ complete | failed | cancelled
 *   queued ─complete | fail | cancel→ …   (a video can end before its first phase: refused, cancelled)
 *   complete ─reopen→ processing          (a regenerated beat)
 */

export type VideoEvent = "advance" | "complete" | "fail" | "cancel" | "reopen";

export const VIDEO_TRANSITIONS: Readonly<Record<VideoEvent, { readonly from: readonly VideoStatus[]; readonly to: VideoStatus }>> = {
  advance: { from: ["queued", "processing"], to: "processing" },
  complete: { from: ["queued", "processing"], to: "complete" },
  fail: { from: ["queued", "processing"], to: "failed" },
  cancel: { from: ["queued", "processing"], to: "cancelled" },
  reopen: { from: ["complete"], to: "processing" },
};

/** Where `event` leads from `status`, or null when the table does not allow it there. */
export function videoTransition(status: VideoStatus, event: VideoEvent): VideoStatus | null {
  const transition = VIDEO_TRANSITIONS[event];
  return transition.from.includes(status) ? transition.to : null;
}

/** The SQL guard for `event`: `status IN (…)` over the statuses it may happen in. */
export function videoGuard(event: VideoEvent): string {
  return `status IN (${VIDEO_TRANSITIONS[event].from.map((status) => `'${status}'`).join(", ")})`;
}

/** The event that ends a video with `status`. */
export const END_EVENT = { complete: "complete", failed: "fail", cancelled: "cancel" } as const satisfies Record<"complete" | "failed" | "cancelled", VideoEvent>;
