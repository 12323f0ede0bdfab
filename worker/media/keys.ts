/**
 * Where uploads wait, unvalidated, for media-node (references/staged-uploads.ts); nothing else
 * lives under it, so the cron sweep and the bucket's lifecycle rule (scripts/deploy) may delete
 * whatever is there past its lifetime.
 */
export const UPLOAD_STAGING_PREFIX = "uploads/";

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
  /** The prepared soundtrack (music, with the voice mixed in when the ad speaks). */
  music: (videoId: string) => `videos/${videoId}/music.m4a`,
  /** A voiced ad's music as the model returned it, before the soundtrack mix fits it. */
  musicSource: (videoId: string, extension: string) => `videos/${videoId}/music-source.${extension}`,
  /** One spoken line as the speech model returned it. */
  voiceLine: (videoId: string, line: number, extension: string) => `videos/${videoId}/voice/${String(line).padStart(2, "0")}.${extension}`,
  /** The voice alone, placed on the beats, at its level in the mix. */
  voice: (videoId: string) => `videos/${videoId}/voice.m4a`,
  captions: (videoId: string) => `videos/${videoId}/captions.vtt`,
  overlay: (videoId: string, layer: "headline" | "end-card") => `videos/${videoId}/finish/${layer}.png`,
  stitched: (videoId: string) => `videos/${videoId}/stitched.mp4`,
  /** One transition window of progressive assembly, by the output frame it starts at. */
  window: (videoId: string, fromFrame: number) => `videos/${videoId}/windows/${String(fromFrame).padStart(5, "0")}.mp4`,
  /** The `n`th window a chunk's normalize pass rendered (its output says which frames): its frames are not known when the pass is asked. */
  chunkWindow: (videoId: string, chunkNum: number, n: number) => `videos/${videoId}/windows/chunk-${String(chunkNum).padStart(3, "0")}-${n}.mp4`,
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
  if (key.endsWith(".vtt")) return "text/vtt; charset=utf-8";
  return "application/octet-stream";
}
