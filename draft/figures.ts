import { type Rgb, rgbToHex } from "../lib/color.ts";
import type { PlaceShape, ProductShape } from "./prompt-cues.ts";
import { BLACK, mix, type Roles, WHITE } from "./scene-palette.ts";

/**
 * The draft's cast and props as SVG: figures, products, hands and places, each drawn at a
 * given position and size so compositions can frame them wide, medium or close.
 */

export interface Canvas {
  w: number;
  h: number;
  /** min(w, h): sizes that must not depend on orientation. */
  s: number;
  random: () => number;
  roles: Roles;
  /** Which hair/collar the recurring character has (stable per character description). */
  characterStyle: number;
  /** Gradient definitions collected while drawing; ids are unique per picture. */
  defs: string[];
  nextId: number;
}

export const n = (value: number) => value.toFixed(1);
export const hex = (rgb: Rgb) => rgbToHex(rgb);
export const between = (canvas: Canvas, low: number, high: number) => low + (high - low) * canvas.random();

export function uniqueId(canvas: Canvas, prefix: string): string {
  canvas.nextId++;
  return `${prefix}${canvas.nextId}`;
}

export function linearGradient(canvas: Canvas, stops: [number, Rgb, number?][], [x1, y1, x2, y2]: [number, number, number, number]): string {
  const id = uniqueId(canvas, "g");
  const body = stops.map(([offset, colour, opacity]) => `<stop offset="${offset}" stop-color="${hex(colour)}" stop-opacity="${opacity ?? 1}"/>`).join("");
  canvas.defs.push(`<linearGradient id="${id}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}">${body}</linearGradient>`);
  return `url(#${id})`;
}

export function radialGradient(canvas: Canvas, stops: [number, Rgb, number?][], cx = 0.5, cy = 0.5, r = 0.5): string {
  const id = uniqueId(canvas, "r");
  const body = stops.map(([offset, colour, opacity]) => `<stop offset="${offset}" stop-color="${hex(colour)}" stop-opacity="${opacity ?? 1}"/>`).join("");
  canvas.defs.push(`<radialGradient id="${id}" cx="${cx}" cy="${cy}" r="${r}">${body}</radialGradient>`);
  return `url(#${id})`;
}

/** A soft glow disc (transparent at the rim). */
export function glow(canvas: Canvas, cx: number, cy: number, radius: number, colour: Rgb, strength = 0.6): string {
  const fill = radialGradient(canvas, [
    [0, colour, strength],
    [1, colour, 0],
  ]);
  return `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(radius)}" fill="${fill}"/>`;
}

export type Pose = "stand" | "slump" | "cheer" | "reach" | "hold";

/**
 * A standing figure, feet on `groundY`, `height` from head top to feet. Silhouette with a rim
 * light; hair and collar follow the character style so the same person recurs.
 */
export function figure(canvas: Canvas, cx: number, groundY: number, height: number, pose: Pose, colour = canvas.roles.figure, facing: 1 | -1 = 1): string {
  const { roles } = canvas;
  const r = height * 0.075;
  const slump = pose === "slump";
  const top = groundY - height + (slump ? height * 0.05 : 0);
  const headX = cx + (slump ? facing * r * 0.6 : 0);
  const headY = top + r;
  const shoulderY = top + r * 2.5;
  const hipY = top + height * 0.53;
  const half = height * 0.12;
  const body = hex(colour);
  const rim = hex(mix(roles.light, WHITE, 0.4));
  const limb = height * 0.06;
  const stroke = `stroke="${body}" stroke-width="${n(limb)}" stroke-linecap="round" fill="none"`;
  let svg = "";
  // Legs.
  svg += `<path d="M${n(cx - half * 0.45)},${n(hipY)} L${n(cx - half * 0.55)},${n(groundY)} M${n(cx + half * 0.45)},${n(hipY)} L${n(cx + half * 0.55)},${n(groundY)}" stroke="${hex(mix(colour, BLACK, 0.25))}" stroke-width="${n(limb * 1.3)}" stroke-linecap="round" fill="none"/>`;
  // Arms by pose.
  const sl = [cx - half * 0.85, shoulderY + r * 0.3] as const;
  const sr = [cx + half * 0.85, shoulderY + r * 0.3] as const;
  const arm = (from: readonly [number, number], dx: number, dy: number) => `M${n(from[0])},${n(from[1])} L${n(from[0] + dx)},${n(from[1] + dy)}`;
  const reachDir = facing;
  const arms =
    pose === "cheer"
      ? arm(sl, -height * 0.12, -height * 0.25) + arm(sr, height * 0.12, -height * 0.25)
      : pose === "reach"
        ? arm(reachDir > 0 ? sl : sr, -reachDir * height * 0.04, height * 0.26) + arm(reachDir > 0 ? sr : sl, reachDir * height * 0.3, -height * 0.04)
        : pose === "hold"
          ? arm(sl, -height * 0.03, height * 0.27) + arm(sr, height * 0.12, height * 0.12) + ` M${n(sr[0] + height * 0.12)},${n(sr[1] + height * 0.12)} L${n(sr[0] + height * 0.05)},${n(sr[1] + height * 0.02)}`
          : slump
            ? arm(sl, -height * 0.01, height * 0.3) + arm(sr, height * 0.01, height * 0.3)
            : arm(sl, -height * 0.05, height * 0.28) + arm(sr, height * 0.05, height * 0.28);
  svg += `<path d="${arms}" ${stroke}/>`;
  // Torso: shoulders to hips, rounded shoulders.
  const lean = slump ? facing * r * 0.5 : 0;
  svg += `<path d="M${n(cx - half + lean)},${n(shoulderY)} Q${n(cx + lean)},${n(shoulderY - r * 0.6)} ${n(cx + half + lean)},${n(shoulderY)} L${n(cx + half * 0.7)},${n(hipY)} L${n(cx - half * 0.7)},${n(hipY)} Z" fill="${body}" stroke="${rim}" stroke-width="${n(canvas.s * 0.003)}" stroke-opacity="0.6"/>`;
  svg += collar(canvas, cx + lean, shoulderY, half * 0.5);
  svg += head(canvas, headX, headY, r, colour);
  return svg;
}

function collar(canvas: Canvas, cx: number, y: number, size: number): string {
  const accent = hex(canvas.roles.accent);
  if (canvas.characterStyle % 2 === 0) return `<polygon points="${n(cx - size)},${n(y)} ${n(cx + size)},${n(y)} ${n(cx)},${n(y + size * 1.3)}" fill="${accent}"/>`;
  return `<rect x="${n(cx - size * 1.1)}" y="${n(y - size * 0.1)}" width="${n(size * 2.2)}" height="${n(size * 0.55)}" rx="${n(size * 0.25)}" fill="${accent}"/>`;
}

export type Expression = "smile" | "frown" | "neutral";

/** Eyes, brows and mouth: only where the head is big enough to read them. */
function face(canvas: Canvas, cx: number, cy: number, r: number, expression: Expression): string {
  const ink = hex(mix(canvas.roles.dark, BLACK, 0.5));
  const width = Math.max(1, r * 0.07);
  let svg = "";
  for (const side of [-1, 1]) {
    svg += `<ellipse cx="${n(cx + side * r * 0.36)}" cy="${n(cy - r * 0.02)}" rx="${n(r * 0.08)}" ry="${n(r * 0.11)}" fill="${ink}"/>`;
    // Frowning brows slope down toward the nose; calm ones arch slightly outward-down.
    const [inner, outer] = expression === "frown" ? [0.16, 0.32] : [0.31, 0.27];
    svg += `<path d="M${n(cx + side * r * 0.2)},${n(cy - r * inner)} L${n(cx + side * r * 0.52)},${n(cy - r * outer)}" stroke="${ink}" stroke-width="${n(width)}" stroke-linecap="round"/>`;
  }
  const mouthY = cy + r * 0.42;
  const bend = expression === "smile" ? r * 0.16 : expression === "frown" ? -r * 0.12 : 0;
  svg += `<path d="M${n(cx - r * 0.24)},${n(mouthY)} Q${n(cx)},${n(mouthY + bend)} ${n(cx + r * 0.24)},${n(mouthY)}" stroke="${ink}" stroke-width="${n(width)}" fill="none" stroke-linecap="round"/>`;
  return svg;
}

/** Head with the character's hair: short crop, long hair or a top knot. */
export function head(canvas: Canvas, cx: number, cy: number, r: number, colour: Rgb, expression?: Expression): string {
  const hair = hex(mix(canvas.roles.dark, BLACK, 0.3));
  const rim = hex(mix(canvas.roles.light, WHITE, 0.4));
  const style = canvas.characterStyle % 3;
  let svg = "";
  if (style === 1) svg += `<path d="M${n(cx - r * 1.1)},${n(cy + r * 1.7)} L${n(cx - r * 1.1)},${n(cy)} A${n(r * 1.1)},${n(r * 1.1)} 0 0 1 ${n(cx + r * 1.1)},${n(cy)} L${n(cx + r * 1.1)},${n(cy + r * 1.7)} Z" fill="${hair}"/>`;
  svg += `<rect x="${n(cx - r * 0.4)}" y="${n(cy + r * 0.6)}" width="${n(r * 0.8)}" height="${n(r * 0.9)}" fill="${hex(colour)}"/>`;
  svg += `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(r)}" fill="${hex(mix(colour, canvas.roles.light, 0.18))}" stroke="${rim}" stroke-width="${n(Math.max(1, r * 0.06))}" stroke-opacity="0.7"/>`;
  if (style === 0) svg += `<path d="M${n(cx - r)},${n(cy - r * 0.05)} A${n(r)},${n(r)} 0 0 1 ${n(cx + r)},${n(cy - r * 0.05)} Q${n(cx)},${n(cy - r * 0.5)} ${n(cx - r)},${n(cy - r * 0.05)} Z" fill="${hair}"/>`;
  if (style === 2) svg += `<circle cx="${n(cx)}" cy="${n(cy - r * 1.05)}" r="${n(r * 0.42)}" fill="${hair}"/>`;
  if (expression && r > canvas.s * 0.05) svg += face(canvas, cx, cy, r, expression);
  return svg;
}

/** Head and shoulders, the bottom of the frame cutting the chest. */
export function bust(canvas: Canvas, cx: number, headY: number, r: number, bottom: number, colour = canvas.roles.figure, tilt = 0, expression: Expression = "neutral"): string {
  const body = hex(colour);
  const shoulderY = headY + r * 1.9;
  const width = r * 2.6;
  let svg = `<g transform="rotate(${tilt.toFixed(1)} ${n(cx)} ${n(headY)})">`;
  svg += `<path d="M${n(cx - width * 1.1)},${n(bottom + 2)} C${n(cx - width * 1.05)},${n(shoulderY + r * 0.5)} ${n(cx - width * 0.8)},${n(shoulderY)} ${n(cx - r * 0.5)},${n(shoulderY - r * 0.1)} L${n(cx + r * 0.5)},${n(shoulderY - r * 0.1)} C${n(cx + width * 0.8)},${n(shoulderY)} ${n(cx + width * 1.05)},${n(shoulderY + r * 0.5)} ${n(cx + width * 1.1)},${n(bottom + 2)} Z" fill="${body}" stroke="${hex(mix(canvas.roles.light, WHITE, 0.4))}" stroke-width="${n(r * 0.04)}" stroke-opacity="0.6"/>`;
  svg += collar(canvas, cx, shoulderY - r * 0.1, r * 0.45);
  svg += head(canvas, cx, headY, r, colour, expression);
  return svg + "</g>";
}

/** A hand reaching in from off-frame, `angle` in degrees (0: fingers point up). */
export function hand(canvas: Canvas, x: number, y: number, size: number, angle: number, colour = mix(canvas.roles.figure, canvas.roles.light, 0.35)): string {
  const fill = hex(colour);
  const f = size * 0.16;
  let svg = `<g transform="translate(${n(x)} ${n(y)}) rotate(${angle.toFixed(1)})">`;
  // Forearm running out of frame, palm, four fingers, thumb.
  svg += `<rect x="${n(-size * 0.28)}" y="${n(size * 0.3)}" width="${n(size * 0.56)}" height="${n(size * 3)}" rx="${n(size * 0.2)}" fill="${hex(mix(canvas.roles.figure, BLACK, 0.1))}"/>`;
  svg += `<rect x="${n(-size * 0.33)}" y="${n(-size * 0.15)}" width="${n(size * 0.66)}" height="${n(size * 0.62)}" rx="${n(size * 0.2)}" fill="${fill}"/>`;
  const lengths = [0.5, 0.62, 0.58, 0.45];
  lengths.forEach((length, i) => {
    const fx = -size * 0.33 + f * 0.2 + i * f * 1.05;
    svg += `<rect x="${n(fx)}" y="${n(-size * 0.15 - size * length)}" width="${n(f * 0.9)}" height="${n(size * length + f)}" rx="${n(f * 0.45)}" fill="${fill}"/>`;
  });
  svg += `<rect x="${n(size * 0.2)}" y="${n(-size * 0.05)}" width="${n(f * 0.95)}" height="${n(size * 0.42)}" rx="${n(f * 0.45)}" fill="${fill}" transform="rotate(-40 ${n(size * 0.25)} ${n(size * 0.3)})"/>`;
  return svg + "</g>";
}

/** The product standing on `baseY`, `size` tall. Colours come from the product role only. */
export function product(canvas: Canvas, shape: ProductShape, cx: number, baseY: number, size: number, shadow = true): string {
  const { roles } = canvas;
  const accent = roles.product;
  const body = linearGradient(
    canvas,
    [
      [0, mix(accent, BLACK, 0.3)],
      [0.35, mix(accent, WHITE, 0.25)],
      [1, mix(accent, BLACK, 0.4)],
    ],
    [0, 0, 1, 0],
  );
  const label = hex(mix(roles.light, WHITE, 0.2));
  let svg = shadow ? `<ellipse cx="${n(cx)}" cy="${n(baseY)}" rx="${n(size * 0.45)}" ry="${n(size * 0.06)}" fill="#000000" opacity="0.3"/>` : "";
  if (shape === "bottle") {
    const bw = size * 0.42;
    const top = baseY - size * 0.78;
    svg +=
      `<path d="M${n(cx - bw / 2)},${n(baseY)} L${n(cx - bw / 2)},${n(top + size * 0.16)} Q${n(cx - bw / 2)},${n(top)} ${n(cx - bw * 0.2)},${n(top - size * 0.03)} ` +
      `L${n(cx - bw * 0.2)},${n(top - size * 0.16)} L${n(cx + bw * 0.2)},${n(top - size * 0.16)} L${n(cx + bw * 0.2)},${n(top - size * 0.03)} Q${n(cx + bw / 2)},${n(top)} ${n(cx + bw / 2)},${n(top + size * 0.16)} L${n(cx + bw / 2)},${n(baseY)} Z" fill="${body}"/>` +
      `<rect x="${n(cx - bw * 0.25)}" y="${n(top - size * 0.22)}" width="${n(bw * 0.5)}" height="${n(size * 0.08)}" rx="${n(size * 0.015)}" fill="${hex(mix(roles.dark, BLACK, 0.2))}"/>` +
      `<rect x="${n(cx - bw / 2)}" y="${n(baseY - size * 0.5)}" width="${n(bw)}" height="${n(size * 0.22)}" fill="${label}" opacity="0.9"/>` +
      `<rect x="${n(cx - bw * 0.33)}" y="${n(top + size * 0.05)}" width="${n(bw * 0.08)}" height="${n(size * 0.62)}" rx="${n(bw * 0.04)}" fill="#FFFFFF" opacity="0.35"/>`;
  } else if (shape === "box") {
    const bw = size * 0.9;
    const bh = size * 0.75;
    const depth = size * 0.2;
    const left = cx - bw / 2 - depth / 2;
    const top = baseY - bh;
    svg +=
      `<polygon points="${n(left)},${n(top)} ${n(left + depth)},${n(top - depth)} ${n(left + bw + depth)},${n(top - depth)} ${n(left + bw)},${n(top)}" fill="${hex(mix(accent, WHITE, 0.3))}"/>` +
      `<polygon points="${n(left + bw)},${n(top)} ${n(left + bw + depth)},${n(top - depth)} ${n(left + bw + depth)},${n(baseY - depth)} ${n(left + bw)},${n(baseY)}" fill="${hex(mix(accent, BLACK, 0.45))}"/>` +
      `<rect x="${n(left)}" y="${n(top)}" width="${n(bw)}" height="${n(bh)}" fill="${body}"/>` +
      `<rect x="${n(left + bw * 0.12)}" y="${n(top + bh * 0.35)}" width="${n(bw * 0.76)}" height="${n(bh * 0.22)}" fill="${label}" opacity="0.85"/>`;
  } else {
    const dw = size * 0.52;
    const dh = size;
    const left = cx - dw / 2;
    const top = baseY - dh;
    const screen = linearGradient(
      canvas,
      [
        [0, mix(accent, WHITE, 0.35)],
        [1, mix(accent, BLACK, 0.2)],
      ],
      [0, 0, 1, 1],
    );
    svg +=
      `<rect x="${n(left)}" y="${n(top)}" width="${n(dw)}" height="${n(dh)}" rx="${n(dw * 0.14)}" fill="${hex(mix(roles.dark, BLACK, 0.4))}" stroke="${hex(mix(accent, WHITE, 0.5))}" stroke-width="${n(size * 0.012)}"/>` +
      `<rect x="${n(left + dw * 0.07)}" y="${n(top + dw * 0.07)}" width="${n(dw * 0.86)}" height="${n(dh - dw * 0.14)}" rx="${n(dw * 0.09)}" fill="${screen}"/>` +
      `<polygon points="${n(left + dw * 0.07)},${n(top + dh * 0.55)} ${n(left + dw * 0.93)},${n(top + dh * 0.2)} ${n(left + dw * 0.93)},${n(top + dh * 0.35)} ${n(left + dw * 0.07)},${n(top + dh * 0.7)}" fill="#FFFFFF" opacity="0.18"/>`;
  }
  return svg;
}

/** The setting, horizon (or floor line) at `horizonY`; `scale` shrinks its features for wide shots. */
export function place(canvas: Canvas, shape: PlaceShape, horizonY: number, scale = 1): string {
  const { w, h, roles } = canvas;
  const ground = hex(roles.ground);
  switch (shape) {
    case "city": {
      let svg = "";
      for (let row = 0; row < 2; row++) {
        let x = -canvas.random() * w * 0.05;
        const colour = hex(row === 0 ? mix(roles.ground, roles.back, 0.45) : roles.ground);
        while (x < w) {
          const width = w * (0.04 + 0.07 * canvas.random()) * scale;
          const height = h * (row === 0 ? 0.25 + 0.35 * canvas.random() : 0.12 + 0.25 * canvas.random()) * scale;
          svg += `<rect x="${n(x)}" y="${n(horizonY - height)}" width="${n(width)}" height="${n(height + 1)}" fill="${colour}"/>`;
          if (row === 1) {
            for (let wy = horizonY - height + h * 0.03 * scale; wy < horizonY - h * 0.03 * scale; wy += h * 0.05 * scale) {
              svg += `<rect x="${n(x + width * 0.2)}" y="${n(wy)}" width="${n(width * 0.6)}" height="${n(h * 0.012 * scale)}" fill="${hex(roles.light)}" opacity="0.35"/>`;
            }
          }
          x += width + w * 0.008;
        }
      }
      return svg + `<rect x="0" y="${n(horizonY)}" width="${n(w)}" height="${n(h - horizonY + 1)}" fill="${hex(mix(roles.ground, roles.dark, 0.5))}"/>`;
    }
    case "hills": {
      let svg = "";
      for (let layer = 0; layer < 3; layer++) {
        const base = horizonY + h * 0.07 * layer * scale;
        const amplitude = h * (0.04 + 0.04 * canvas.random()) * scale;
        const phase = canvas.random() * Math.PI * 2;
        const frequency = 1 + canvas.random() * 2;
        const points: string[] = [];
        for (let i = 0; i <= 24; i++) points.push(`${n((w * i) / 24)},${n(base - amplitude * Math.sin(phase + (frequency * Math.PI * 2 * i) / 24))}`);
        const colour = layer === 0 ? mix(roles.ground, roles.back, 0.4) : layer === 1 ? roles.ground : mix(roles.ground, roles.dark, 0.4);
        svg += `<polygon points="0,${n(h)} ${points.join(" ")} ${n(w)},${n(h)}" fill="${hex(colour)}"/>`;
      }
      return svg;
    }
    case "water": {
      const water = linearGradient(
        canvas,
        [
          [0, mix(roles.ground, WHITE, 0.15)],
          [1, mix(roles.ground, BLACK, 0.3)],
        ],
        [0, 0, 0, 1],
      );
      let svg = `<rect x="0" y="${n(horizonY)}" width="${n(w)}" height="${n(h - horizonY + 1)}" fill="${water}"/>`;
      for (let i = 0; i < 12; i++) {
        const y = horizonY + (h - horizonY) * canvas.random();
        svg += `<ellipse cx="${n(w * canvas.random())}" cy="${n(y)}" rx="${n(w * (0.03 + 0.07 * canvas.random()) * scale)}" ry="${n(h * 0.004)}" fill="#FFFFFF" opacity="0.3"/>`;
      }
      return svg;
    }
    case "interior": {
      // Back wall with a window and a shelf, then the floor.
      const windowW = w * 0.22 * scale;
      const windowX = w * between(canvas, 0.1, 0.7);
      const windowTop = horizonY - h * 0.45 * scale;
      let svg = `<rect x="${n(windowX)}" y="${n(windowTop)}" width="${n(windowW)}" height="${n(h * 0.3 * scale)}" fill="${hex(mix(roles.light, WHITE, 0.2))}" opacity="0.55"/>`;
      svg += `<rect x="${n(windowX + windowW / 2 - 2)}" y="${n(windowTop)}" width="4" height="${n(h * 0.3 * scale)}" fill="${hex(roles.ground)}"/>`;
      const shelfX = windowX > w * 0.45 ? w * 0.08 : w * 0.6;
      svg += `<rect x="${n(shelfX)}" y="${n(horizonY - h * 0.3 * scale)}" width="${n(w * 0.25 * scale)}" height="${n(h * 0.015)}" fill="${hex(roles.ground)}"/>`;
      for (let i = 0; i < 3; i++) svg += `<rect x="${n(shelfX + w * (0.02 + 0.07 * i) * scale)}" y="${n(horizonY - h * (0.37 + 0.03 * (i % 2)) * scale)}" width="${n(w * 0.04 * scale)}" height="${n(h * (0.07 + 0.03 * (i % 2)) * scale)}" fill="${hex(i === 1 ? roles.accent : roles.ground)}"/>`;
      return svg + `<rect x="0" y="${n(horizonY)}" width="${n(w)}" height="${n(h - horizonY + 1)}" fill="${ground}"/>`;
    }
    case "studio": {
      const floor = linearGradient(
        canvas,
        [
          [0, roles.ground, 0.35],
          [1, roles.ground, 1],
        ],
        [0, 0, 0, 1],
      );
      return `<rect x="0" y="${n(horizonY)}" width="${n(w)}" height="${n(h - horizonY + 1)}" fill="${floor}"/>`;
    }
  }
}
