import type { PlanJoin } from "../../lib/stitch-plan.ts";
import type { AssemblyDecorations } from "./decorations.ts";

/**
 * The windows a chunk leaves (its transitions, frames under a decoration its pass cannot draw)
 * whose other chunks are normalized when its normalize pass is claimed, rendered in that pass
 * (run/assembly.ts ownWindowsInput decides, steps/chunk.ts asks media-node `chunks/normalize`
 * `windows`): for the last chunk, usually all it leaves, so the final assembly has only its
 * stream-copy concat left.
 */

/** How many windows a chunk's pass may render (ChunkWindows.output_urls): its two transitions and the decorated spans between. */
export const CHUNK_WINDOW_URLS = 4;

/** What the last chunk's normalize pass is handed to render the windows it leaves. */
export interface OwnWindowsInput {
  /** The chunk's index. */
  chunk: number;
  /** Every chunk: its frames, and its stored file where a window may read it (else null). */
  chunks: { frames: number; key: string | null }[];
  transitions: PlanJoin[];
  /** What the windows draw: kept with them (ChunkOutput.windows_drawing), they are used only where the run still draws exactly that. */
  decorations: AssemblyDecorations;
  /** The other chunks given, by the attempt stored: kept with the windows (ChunkOutput.windows_read), which are used only while those chunks are the same (a regenerated beat renders its chunks again). */
  read: { chunk: number; attempt: number }[];
}
