import type { PaletteEntry } from "../../contracts/media.ts";
import type { AssemblyDecorations, ChunkDecorated } from "./decorations.ts";

/** What a chunk job leaves behind: first what its next chunk needs, then the finished clip. */

/** What a chunk's ingest publishes as soon as the clip is back: the frame the next chunk of its beat starts from. */
export interface ChunkLastFrame {
  last_frame_key: string;
  /** The provider's clip, stored in R2 alongside. */
  raw_key: string;
  palette: PaletteEntry[];
}

export interface ChunkOutput {
  key: string;
  last_frame_key: string;
  frames: number;
  palette: PaletteEntry[];
  /** ΔE2000 (share-weighted) of this chunk's last-frame palette to the references' palette. */
  reference_drift: number | null;
  /** When the run re-anchored this chunk (chunks/drift.ts): the start image it was given. */
  reanchored_key?: string;
  /** Chunk frame indexes that are keyframes (normalize's answer); absent in outputs stored before the finish. */
  keyframes?: number[];
  /** The decorations its normalize pass drew on its own frames (chunks/decorations.ts); absent when it drew none. */
  decorated?: ChunkDecorated;
  /** The windows its pass rendered after it (chunks/windows.ts), and the decorations they draw. */
  windows?: { from_frame: number; to_frame: number; key: string }[];
  windows_drawing?: AssemblyDecorations;
  windows_read?: { chunk: number; attempt: number }[];
}
