/** Where each artefact of a video lives in R2. Deterministic, so re-running a step overwrites rather than duplicates. */
export const mediaKeys = {
  asset: (tenantId: string, assetId: string) => `assets/${tenantId}/${assetId}.png`,
  reference: (videoId: string, index: number) => `videos/${videoId}/references/${index}.png`,
  storyboard: (videoId: string, beat: number) => `videos/${videoId}/storyboard/${String(beat).padStart(2, "0")}.png`,
  composite: (videoId: string, chunk: number) => `videos/${videoId}/composites/${String(chunk).padStart(3, "0")}.png`,
  /** The frame a chunk must end on (continuity conditioning: a view of its beat's storyboard frame). */
  endFrame: (videoId: string, chunk: number) => `videos/${videoId}/chunks/${String(chunk).padStart(3, "0")}-end.png`,
  /** A drifting beat's next start image: the exact last frame recoloured toward the storyboard (docs/SEAMS.md). */
  reanchored: (videoId: string, chunk: number) => `videos/${videoId}/chunks/${String(chunk).padStart(3, "0")}-reanchored.png`,
  /** A chunk's clip as the provider returned it (the normalize pass reads it from here). */
  rawChunk: (videoId: string, chunk: number) => `videos/${videoId}/chunks/${String(chunk).padStart(3, "0")}-raw.mp4`,
  chunk: (videoId: string, chunk: number) => `videos/${videoId}/chunks/${String(chunk).padStart(3, "0")}.mp4`,
  lastFrame: (videoId: string, chunk: number) => `videos/${videoId}/chunks/${String(chunk).padStart(3, "0")}-last.png`,
  music: (videoId: string) => `videos/${videoId}/music.m4a`,
  stitched: (videoId: string) => `videos/${videoId}/stitched.mp4`,
  final: (videoId: string) => `videos/${videoId}/final.mp4`,
};

export function contentTypeOf(key: string): string {
  if (key.endsWith(".png")) return "image/png";
  if (key.endsWith(".jpg")) return "image/jpeg";
  if (key.endsWith(".webp")) return "image/webp";
  if (key.endsWith(".mp4")) return "video/mp4";
  if (key.endsWith(".m4a")) return "audio/mp4";
  if (key.endsWith(".wav")) return "audio/wav";
  if (key.endsWith(".mp3")) return "audio/mpeg";
  return "application/octet-stream";
}
