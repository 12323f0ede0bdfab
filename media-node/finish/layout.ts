/**
 * Where on-screen copy may go. Every layer is placed inside the frame's safe area, which
 * depends on where the ad is shown:
 * - 16:9 and 1:1: EBU R 95 (2019, "Safe areas for 16:9 television production") keeps graphics
 *   inside the central 90 % of width and height, i.e. 5 % margins; the square feed takes the
 *   same rule (1:1 feeds put their interface outside the picture).
 * - 9:16: TikTok, Reels and Shorts draw their interface over the picture. TikTok's in-feed
 *   guidance at 1080x1920 keeps the top 150 px (profile, navigation), the right 150 px (action
 *   buttons) and the bottom 440 px (caption, music, CTA button) clear, i.e. a centred
 *   780x1330 area (third-party summary of TikTok's Business Help Center specs,
 *   adfuseai.com "TikTok ad sizes & specs guide", read 2026-12-04); we keep the left 150 px
 *   clear too, so the copy stays centred.
 * Inside the safe area the bottom band is left to captions, the top holds the headline and the
 * middle the end card, so nothing we draw lands on anything else we draw.
 */

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type FrameShape = "16:9" | "9:16" | "1:1";

interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const SAFE_MARGINS: Record<FrameShape, Margins> = {
  "16:9": { left: 0.05, right: 0.05, top: 0.05, bottom: 0.05 },
  "1:1": { left: 0.05, right: 0.05, top: 0.05, bottom: 0.05 },
  "9:16": { left: 150 / 1080, right: 150 / 1080, top: 150 / 1920, bottom: 440 / 1920 },
};

/** Share of the safe area's height kept for captions at its bottom. */
export const CAPTION_BAND = 0.22;

/** The nearest of our three shapes, so any even size gets sensible margins. */
export function frameShape(width: number, height: number): FrameShape {
  const ratio = width / height;
  return ratio > 1.2 ? "16:9" : ratio < 0.8 ? "9:16" : "1:1";
}

export function safeArea(width: number, height: number): Box {
  const m = SAFE_MARGINS[frameShape(width, height)];
  const left = Math.ceil(width * m.left);
  const top = Math.ceil(height * m.top);
  return { left, top, width: Math.floor(width * (1 - m.right)) - left, height: Math.floor(height * (1 - m.bottom)) - top };
}

/**
 * Type sizes in pixels. A unit of 1 % of the frame's shorter side keeps the copy the same
 * size relative to what a viewer sees across shapes (5.76 px at 1024x576 and 576x1024, 7.68 px
 * at 768x768); headline 7.5 units is 43 px at 1024x576, about 1/13 of the picture's height.
 */
export function typeSizes(width: number, height: number) {
  const unit = Math.min(width, height) / 100;
  return {
    unit,
    headline: Math.round(7.5 * unit),
    wordmark: Math.round(11 * unit),
    offer: Math.round(5 * unit),
    cta: Math.round(6 * unit),
    caption: Math.round(5.2 * unit),
    /** Nothing is set smaller than this, whatever it must fit. */
    minimum: Math.max(12, Math.round(3.6 * unit)),
  };
}

/** The safe area without the caption band: where the end card is centred. */
export function cardArea(width: number, height: number): Box {
  const safe = safeArea(width, height);
  return { ...safe, height: Math.floor(safe.height * (1 - CAPTION_BAND)) };
}

export function union(boxes: readonly Box[]): Box {
  const left = Math.min(...boxes.map((b) => b.left));
  const top = Math.min(...boxes.map((b) => b.top));
  const right = Math.max(...boxes.map((b) => b.left + b.width));
  const bottom = Math.max(...boxes.map((b) => b.top + b.height));
  return { left, top, width: right - left, height: bottom - top };
}
