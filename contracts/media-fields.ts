import { z } from "zod";

/** Fields every media-node contract shares (contracts/media.ts, contracts/stitch.ts). */

export const Url = z.string().url().max(4096);
export const Dimension = z.number().int().min(16).max(4096);
export const Hex = z.string().regex(/^#[0-9A-F]{6}$/);
/** H.264 yuv420p needs even sides (4:2:0 chroma is subsampled 2x2). */
export const VideoDimension = Dimension.refine((n) => n % 2 === 0, { message: "must be even for yuv420p" });
export const VideoFps = z.number().int().min(1).max(60);
