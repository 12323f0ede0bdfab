import type { Rgb } from "../lib/color.ts";
import { between, bust, type Canvas, figure, glow, hand, hex, n, place, product } from "./figures.ts";
import type { PlaceShape } from "./prompt-cues.ts";
import { BLACK, desaturate, mix, WHITE } from "./scene-palette.ts";
import type { Shot, ShotKind } from "./shot.ts";

/**
 * One composition per shot kind, like the panels of a storyboard: what is in the frame, how
 * big and where. Each returns the setting (`back`, which fills the frame and does not follow
 * camera framing) and the subjects (`subject`, which the camera words push, pull and shift).
 * Positions and sizes draw on the seeded random, so two beats of one kind still differ.
 */

export interface Composition {
  back: string;
  subject: string;
  /** Vignette strength: end cards stay clean. */
  vignette: number;
  /** Whether mirroring left↔right keeps the shot's meaning (it does unless there is reading order). */
  mirrorable: boolean;
}

type Compose = (canvas: Canvas, shot: Shot) => Composition;

const settingOf = (shot: Shot, fallback: PlaceShape = "studio"): PlaceShape => shot.place ?? fallback;

function clutter(canvas: Canvas, count: number, fromY: number, toY: number): string {
  const { w, h, roles } = canvas;
  let svg = "";
  for (let i = 0; i < count; i++) {
    const x = w * canvas.random();
    const y = between(canvas, fromY, toY);
    const size = h * between(canvas, 0.04, 0.1);
    const colour = [roles.dark, roles.ground, roles.figure, mix(roles.light, roles.dark, 0.5)][i % 4]!;
    svg += `<rect x="${n(x - size / 2)}" y="${n(y - size / 3)}" width="${n(size)}" height="${n(size * 0.66)}" rx="${n(size * 0.08)}" fill="${hex(colour)}" transform="rotate(${n(between(canvas, -50, 50))} ${n(x)} ${n(y)})" opacity="0.9"/>`;
  }
  return svg;
}

function sparkles(canvas: Canvas, cx: number, cy: number, spread: number, count: number, colour: Rgb): string {
  let svg = "";
  for (let i = 0; i < count; i++) {
    const a = canvas.random() * Math.PI * 2;
    const d = spread * between(canvas, 0.4, 1);
    const x = cx + Math.cos(a) * d;
    const y = cy + Math.sin(a) * d * 0.8;
    const r = canvas.s * between(canvas, 0.008, 0.02);
    svg += `<path d="M${n(x)},${n(y - r * 2)} L${n(x + r * 0.5)},${n(y - r * 0.5)} L${n(x + r * 2)},${n(y)} L${n(x + r * 0.5)},${n(y + r * 0.5)} L${n(x)},${n(y + r * 2)} L${n(x - r * 0.5)},${n(y + r * 0.5)} L${n(x - r * 2)},${n(y)} L${n(x - r * 0.5)},${n(y - r * 0.5)} Z" fill="${hex(colour)}" opacity="0.85"/>`;
  }
  return svg;
}

/** Light rays fanning out of a point: alternate wedges, `count` of them. */
function rays(canvas: Canvas, cx: number, cy: number, count: number, colour: Rgb, opacity: number): string {
  const reach = Math.hypot(canvas.w, canvas.h);
  const turn = canvas.random() * Math.PI;
  let svg = "";
  for (let i = 0; i < count; i += 2) {
    const a0 = turn + (i / count) * Math.PI * 2;
    const a1 = turn + ((i + 1) / count) * Math.PI * 2;
    svg += `<polygon points="${n(cx)},${n(cy)} ${n(cx + Math.cos(a0) * reach)},${n(cy + Math.sin(a0) * reach)} ${n(cx + Math.cos(a1) * reach)},${n(cy + Math.sin(a1) * reach)}" fill="${hex(colour)}" opacity="${opacity}"/>`;
  }
  return svg;
}

function pedestal(canvas: Canvas, cx: number, topY: number, radius: number): string {
  const { h, roles } = canvas;
  const depth = radius * 0.22;
  const side = mix(roles.ground, roles.dark, 0.35);
  return (
    `<rect x="${n(cx - radius)}" y="${n(topY)}" width="${n(radius * 2)}" height="${n(h - topY + 2)}" fill="${hex(side)}"/>` +
    `<ellipse cx="${n(cx)}" cy="${n(topY)}" rx="${n(radius)}" ry="${n(depth)}" fill="${hex(mix(roles.ground, roles.light, 0.3))}"/>`
  );
}

const wide: Compose = (c, shot) => {
  const horizon = c.h * between(c, 0.6, 0.72);
  const sunX = c.w * between(c, 0.15, 0.85);
  let back = glow(c, sunX, horizon - c.h * between(c, 0.2, 0.35), c.s * 0.5, mix(c.roles.light, WHITE, 0.3), 0.5);
  back += `<circle cx="${n(sunX)}" cy="${n(horizon - c.h * 0.28)}" r="${n(c.s * 0.06)}" fill="${hex(mix(c.roles.light, WHITE, 0.35))}"/>`;
  back += place(c, settingOf(shot, "hills"), horizon, 0.55);
  let subject = "";
  const x = c.w * between(c, 0.25, 0.75);
  if (shot.person) subject += figure(c, x, horizon + c.h * 0.08, c.h * between(c, 0.12, 0.17), shot.troubled ? "slump" : "stand");
  else if (shot.showsProduct) subject += product(c, shot.product, x, horizon + c.h * 0.08, c.h * 0.12);
  if (shot.troubled) subject += clutter(c, 6, c.h * 0.85, c.h * 0.98);
  return { back, subject, vignette: 0.35, mirrorable: true };
};

const medium: Compose = (c, shot) => {
  const horizon = c.h * between(c, 0.56, 0.68);
  const back = place(c, settingOf(shot, "interior"), horizon);
  const ground = c.h * between(c, 0.9, 0.97);
  const figureX = c.w * between(c, 0.26, 0.42);
  let subject = "";
  if (shot.troubled) subject += `<rect width="${c.w}" height="${c.h}" fill="#000000" opacity="0.22"/>` + clutter(c, 12, c.h * 0.72, c.h * 0.98);
  if (shot.person) subject += figure(c, figureX, ground, c.h * between(c, 0.62, 0.74), shot.troubled ? "slump" : shot.showsProduct ? "hold" : "stand");
  if (shot.showsProduct) subject += product(c, shot.product, shot.person ? c.w * between(c, 0.62, 0.76) : c.w * 0.5, ground, c.h * between(c, 0.24, 0.32));
  return { back, subject, vignette: 0.4, mirrorable: true };
};

const close: Compose = (c, shot) => {
  const back = glow(c, c.w * between(c, 0.3, 0.7), c.h * 0.35, c.s * 0.7, c.roles.light, 0.35);
  const r = c.h * between(c, 0.16, 0.19);
  const cx = c.w * between(c, 0.4, 0.6);
  let subject = bust(c, cx, c.h * between(c, 0.36, 0.42), r, c.h, c.roles.figure, shot.troubled ? between(c, -12, -6) : between(c, -4, 4), shot.troubled ? "frown" : "neutral");
  if (shot.showsProduct) subject += product(c, shot.product, cx > c.w / 2 ? c.w * 0.1 : c.w * 0.9, c.h * 1.05, c.h * 0.45);
  if (shot.troubled) subject += clutter(c, 10, c.h * 0.05, c.h * 0.3) + clutter(c, 8, c.h * 0.85, c.h);
  return { back, subject, vignette: 0.55, mirrorable: true };
};

const detail: Compose = (c, shot) => {
  const surface = c.h * between(c, 0.62, 0.72);
  const back = `<rect x="0" y="${n(surface)}" width="${c.w}" height="${n(c.h - surface + 1)}" fill="${hex(c.roles.ground)}"/>` + glow(c, c.w * 0.6, c.h * 0.4, c.s * 0.6, c.roles.light, 0.4);
  const cx = c.w * between(c, 0.52, 0.64);
  const size = c.h * between(c, 0.78, 0.92);
  let subject = product(c, shot.product, cx, c.h * 1.04, size, false);
  const touchX = cx - size * 0.12;
  const touchY = c.h * 1.04 - size * between(c, 0.45, 0.6);
  subject += `<circle cx="${n(touchX)}" cy="${n(touchY)}" r="${n(c.s * 0.1)}" fill="none" stroke="${hex(mix(c.roles.light, WHITE, 0.4))}" stroke-width="${n(c.s * 0.008)}" opacity="0.9"/>`;
  subject += `<circle cx="${n(touchX)}" cy="${n(touchY)}" r="${n(c.s * 0.16)}" fill="none" stroke="${hex(c.roles.accent)}" stroke-width="${n(c.s * 0.004)}" opacity="0.7"/>`;
  subject += hand(c, touchX - c.s * 0.02, touchY + c.s * 0.26, c.s * 0.3, between(c, 20, 40));
  return { back, subject, vignette: 0.45, mirrorable: true };
};

const craft: Compose = (c, shot) => {
  const bench = c.h * between(c, 0.58, 0.66);
  const warm = mix(c.roles.light, [255, 196, 120], 0.25);
  let back = glow(c, c.w * between(c, 0.3, 0.7), c.h * 0.1, c.s * 0.9, warm, 0.5);
  back += `<rect x="0" y="${n(bench)}" width="${c.w}" height="${n(c.h - bench + 1)}" fill="${hex(mix(c.roles.ground, c.roles.dark, 0.2))}"/>`;
  back += `<rect x="0" y="${n(bench)}" width="${c.w}" height="${n(c.h * 0.015)}" fill="${hex(mix(c.roles.ground, c.roles.light, 0.35))}"/>`;
  const cx = c.w * between(c, 0.42, 0.58);
  const base = bench + c.h * 0.12;
  let subject = "";
  // Tools on the bench.
  for (let i = 0; i < 3; i++) {
    const x = c.w * (i < 2 ? between(c, 0.05, 0.25) : between(c, 0.75, 0.92));
    const y = bench + c.h * between(c, 0.08, 0.3);
    subject += `<rect x="${n(x)}" y="${n(y)}" width="${n(c.w * 0.12)}" height="${n(c.h * 0.025)}" rx="${n(c.h * 0.012)}" fill="${hex(i === 1 ? c.roles.accent : c.roles.dark)}" transform="rotate(${n(between(c, -30, 30))} ${n(x)} ${n(y)})"/>`;
  }
  subject += product(c, shot.product, cx, base, c.h * between(c, 0.42, 0.5));
  subject += hand(c, cx - c.s * 0.32, base + c.s * 0.05, c.s * 0.24, between(c, 35, 55));
  subject += hand(c, cx + c.s * 0.32, base + c.s * 0.02, c.s * 0.24, between(c, -55, -35));
  return { back, subject, vignette: 0.5, mirrorable: true };
};

const hero: Compose = (c, shot) => {
  const cx = c.w * between(c, 0.36, 0.64);
  const top = c.h * between(c, 0.66, 0.8);
  let back = glow(c, cx + c.w * between(c, -0.12, 0.12), top - c.h * between(c, 0.2, 0.4), c.s * between(c, 0.45, 0.7), mix(c.roles.accent, WHITE, 0.5), 0.55);
  back += `<rect x="0" y="${n(top + c.h * 0.05)}" width="${c.w}" height="${n(c.h)}" fill="${hex(mix(c.roles.back, c.roles.dark, 0.35))}"/>`;
  const size = c.h * between(c, 0.46, 0.56);
  let subject = pedestal(c, cx, top, size * 0.7);
  subject += product(c, shot.product, cx, top, size, false);
  subject += `<ellipse cx="${n(cx)}" cy="${n(top)}" rx="${n(size * 0.55)}" ry="${n(size * 0.06)}" fill="${hex(WHITE)}" opacity="0.18"/>`;
  subject += sparkles(c, cx, top - size * 0.6, size * 0.8, 3, mix(c.roles.light, WHITE, 0.5));
  return { back, subject, vignette: 0.5, mirrorable: true };
};

const reveal: Compose = (c, shot) => {
  const horizon = c.h * between(c, 0.62, 0.7);
  const px = c.w * between(c, 0.58, 0.7);
  const size = c.h * between(c, 0.34, 0.42);
  const base = c.h * between(c, 0.86, 0.92);
  let back = place(c, settingOf(shot, "interior"), horizon);
  back += rays(c, px, base - size * 0.5, 18, mix(c.roles.light, WHITE, 0.4), 0.22);
  back += glow(c, px, base - size * 0.5, c.s * 0.55, mix(c.roles.light, WHITE, 0.4), 0.75);
  let subject = product(c, shot.product, px, base, size);
  subject += sparkles(c, px, base - size * 0.5, size, 6, WHITE);
  if (shot.person) subject += figure(c, c.w * between(c, 0.18, 0.3), c.h * 0.97, c.h * 0.64, "reach", c.roles.figure, 1);
  return { back, subject, vignette: 0.3, mirrorable: true };
};

const portrait: Compose = (c, shot) => {
  let back = place(c, settingOf(shot, "interior"), c.h * between(c, 0.55, 0.65));
  // Shallow depth of field: out-of-focus lights over a softened setting.
  back += `<rect width="${c.w}" height="${c.h}" fill="${hex(c.roles.back)}" opacity="0.45"/>`;
  for (let i = 0; i < 9; i++) back += `<circle cx="${n(c.w * c.random())}" cy="${n(c.h * between(c, 0.05, 0.6))}" r="${n(c.s * between(c, 0.03, 0.08))}" fill="${hex(mix(c.roles.light, WHITE, 0.3))}" opacity="${between(c, 0.12, 0.3).toFixed(2)}"/>`;
  const cx = c.w * between(c, 0.46, 0.54);
  let subject = bust(c, cx, c.h * between(c, 0.34, 0.4), c.h * between(c, 0.12, 0.14), c.h, c.roles.figure, between(c, -3, 3), "smile");
  if (shot.showsProduct) subject += product(c, shot.product, cx + c.h * 0.3, c.h * 1.02, c.h * 0.3);
  const bandY = c.h * 0.8;
  const bandX = c.w * between(c, 0.04, 0.08);
  subject += `<rect x="${n(bandX)}" y="${n(bandY)}" width="${n(c.w * 0.42)}" height="${n(c.h * 0.1)}" rx="${n(c.h * 0.015)}" fill="${hex(c.roles.accent)}" opacity="0.92"/>`;
  subject += `<rect x="${n(bandX + c.w * 0.025)}" y="${n(bandY + c.h * 0.035)}" width="${n(c.w * 0.22)}" height="${n(c.h * 0.03)}" rx="${n(c.h * 0.01)}" fill="${hex(mix(c.roles.light, WHITE, 0.5))}"/>`;
  return { back, subject, vignette: 0.45, mirrorable: false };
};

const montage: Compose = (c, shot) => {
  const landscape = c.w >= c.h;
  const [columns, rows] = landscape ? [3, 2] : [2, 3];
  const gutter = c.s * 0.025;
  const tileW = (c.w - gutter * (columns + 1)) / columns;
  const tileH = (c.h - gutter * (rows + 1)) / rows;
  const tints: Rgb[] = [c.roles.back, c.roles.ground, mix(c.roles.accent, c.roles.back, 0.35), mix(c.roles.light, c.roles.back, 0.3), c.roles.back2, mix(c.roles.figure, c.roles.light, 0.55)];
  const productTile = Math.floor(c.random() * columns * rows);
  const back = `<rect width="${c.w}" height="${c.h}" fill="${hex(mix(c.roles.dark, BLACK, 0.2))}"/>`;
  let subject = "";
  let tile = 0;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++, tile++) {
      const x = gutter + column * (tileW + gutter);
      const y = gutter + row * (tileH + gutter);
      const clip = `m${tile}${c.nextId++}`;
      c.defs.push(`<clipPath id="${clip}"><rect x="${n(x)}" y="${n(y)}" width="${n(tileW)}" height="${n(tileH)}" rx="${n(c.s * 0.012)}"/></clipPath>`);
      const tint = tints[(tile + Math.floor(c.random() * 2)) % tints.length]!;
      let inside = `<rect x="${n(x)}" y="${n(y)}" width="${n(tileW)}" height="${n(tileH)}" fill="${hex(tint)}"/>`;
      inside += glow(c, x + tileW * between(c, 0.2, 0.8), y + tileH * 0.3, tileW * 0.6, c.roles.light, 0.35);
      if (tile === productTile && shot.showsProduct) {
        inside += product(c, shot.product, x + tileW / 2, y + tileH * 0.9, tileH * 0.65);
      } else {
        const r = tileH * between(c, 0.16, 0.24);
        const figureTint = tile % 2 ? c.roles.figure : mix(c.roles.figure, c.roles.dark, 0.5);
        // Different people: each tile gets its own hair and collar.
        const recurring = c.characterStyle;
        c.characterStyle = recurring + tile;
        inside += bust(c, x + tileW * between(c, 0.3, 0.7), y + tileH * between(c, 0.35, 0.5), r, y + tileH, figureTint, between(c, -8, 8), "smile");
        c.characterStyle = recurring;
      }
      if (tile % 3 === 1) {
        // A row of rating stars: the montage says "people like it".
        for (let star = 0; star < 5; star++) inside += starShape(x + tileW * 0.1 + star * tileW * 0.08, y + tileH * 0.12, tileW * 0.03, mix(c.roles.light, WHITE, 0.5));
      }
      subject += `<g clip-path="url(#${clip})">${inside}</g>`;
    }
  }
  return { back, subject, vignette: 0.2, mirrorable: false };
};

function starShape(cx: number, cy: number, r: number, colour: Rgb, points = 5, inner = 0.45): string {
  const corners: string[] = [];
  for (let i = 0; i < points * 2; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / points;
    const d = i % 2 ? r * inner : r;
    corners.push(`${n(cx + Math.cos(a) * d)},${n(cy + Math.sin(a) * d)}`);
  }
  return `<polygon points="${corners.join(" ")}" fill="${hex(colour)}"/>`;
}

const lifestyle: Compose = (c, shot) => {
  const horizon = c.h * between(c, 0.58, 0.68);
  const sunX = c.w * (c.random() < 0.5 ? between(c, 0.05, 0.25) : between(c, 0.75, 0.95));
  let back = glow(c, sunX, c.h * 0.12, c.s * 0.9, mix(c.roles.light, [255, 214, 150], 0.3), 0.7);
  back += place(c, settingOf(shot, "hills"), horizon, 0.8);
  back += `<circle cx="${n(sunX)}" cy="${n(c.h * 0.12)}" r="${n(c.s * 0.07)}" fill="${hex(mix(c.roles.light, WHITE, 0.5))}"/>`;
  const people = shot.crowd ? 3 : 2;
  const poses = ["cheer", "hold", "stand"] as const;
  let subject = "";
  const spacing = c.w * between(c, 0.16, 0.22);
  const start = c.w * between(c, 0.25, 0.4);
  for (let i = 0; i < people; i++) {
    const tint = i === 0 ? c.roles.figure : mix(c.roles.figure, i === 1 ? c.roles.accent : c.roles.ground, 0.4);
    subject += figure(c, start + i * spacing, c.h * between(c, 0.9, 0.96), c.h * between(c, 0.42, 0.52), poses[i % 3]!, tint, i % 2 ? -1 : 1);
  }
  if (shot.showsProduct) subject += product(c, shot.product, start + spacing * 0.55, c.h * 0.72, c.h * 0.12, false);
  return { back, subject, vignette: 0.3, mirrorable: true };
};

const steps: Compose = (c, shot) => {
  const landscape = c.w >= c.h;
  const gap = c.s * 0.08;
  const margin = c.s * 0.06;
  const panelW = landscape ? (c.w - 2 * margin - 2 * gap) / 3 : c.w - 2 * margin;
  const panelH = landscape ? c.h * 0.6 : (c.h - 2 * margin - 2 * gap) / 3;
  const back = `<rect width="${c.w}" height="${c.h}" fill="${hex(c.roles.back)}" opacity="0.6"/>`;
  let subject = "";
  for (let i = 0; i < 3; i++) {
    const x = landscape ? margin + i * (panelW + gap) : margin;
    const y = landscape ? c.h * 0.25 + between(c, -0.03, 0.03) * c.h : margin + i * (panelH + gap);
    const panel = mix(c.roles.light, c.roles.back, 0.25 + 0.1 * i);
    subject += `<rect x="${n(x)}" y="${n(y)}" width="${n(panelW)}" height="${n(panelH)}" rx="${n(c.s * 0.02)}" fill="${hex(panel)}"/>`;
    // Step number as dots: no text rendering needed, still countable.
    for (let dot = 0; dot <= i; dot++) subject += `<circle cx="${n(x + c.s * 0.04 + dot * c.s * 0.035)}" cy="${n(y - c.s * 0.045)}" r="${n(c.s * 0.012)}" fill="${hex(c.roles.accent)}"/>`;
    const cx = x + panelW / 2;
    const base = y + panelH * 0.88;
    const size = Math.min(panelH * 0.6, panelW * 0.9);
    if (i === 0) subject += product(c, shot.product, cx, base, size * 0.8);
    if (i === 1) subject += product(c, shot.product, cx + panelW * 0.08, base, size * 0.8) + hand(c, cx - panelW * 0.15, base - size * 0.2, size * 0.35, 30);
    if (i === 2) {
      subject += glow(c, cx, base - size * 0.4, size * 0.7, mix(c.roles.accent, WHITE, 0.5), 0.6) + product(c, shot.product, cx, base, size * 0.8);
      subject += `<path d="M${n(x + panelW * 0.68)},${n(y + panelH * 0.2)} l${n(size * 0.08)},${n(size * 0.08)} l${n(size * 0.16)},${n(-size * 0.18)}" stroke="${hex(c.roles.accent)}" stroke-width="${n(c.s * 0.014)}" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`;
    }
    if (i < 2) {
      const ax = landscape ? x + panelW + gap / 2 : cx;
      const ay = landscape ? y + panelH / 2 : y + panelH + gap / 2;
      const a = c.s * 0.025;
      subject += landscape
        ? `<path d="M${n(ax - a / 2)},${n(ay - a)} L${n(ax + a / 2)},${n(ay)} L${n(ax - a / 2)},${n(ay + a)}" stroke="${hex(c.roles.accent)}" stroke-width="${n(c.s * 0.012)}" fill="none" stroke-linecap="round"/>`
        : `<path d="M${n(ax - a)},${n(ay - a / 2)} L${n(ax)},${n(ay + a / 2)} L${n(ax + a)},${n(ay - a / 2)}" stroke="${hex(c.roles.accent)}" stroke-width="${n(c.s * 0.012)}" fill="none" stroke-linecap="round"/>`;
    }
  }
  return { back, subject, vignette: 0.2, mirrorable: false };
};

const split: Compose = (c, shot) => {
  const landscape = c.w >= c.h;
  const cut = (landscape ? c.w : c.h) * between(c, 0.47, 0.53);
  const [bx, by, bw, bh] = landscape ? [0, 0, cut, c.h] : [0, 0, c.w, cut];
  const [ax, ay, aw, ah] = landscape ? [cut, 0, c.w - cut, c.h] : [0, cut, c.w, c.h - cut];
  const horizon = c.h * between(c, 0.58, 0.66);
  let back = place(c, settingOf(shot, "interior"), horizon);
  // Before: the same world, drained and dim. After: the same world, lit.
  back += `<rect x="${n(bx)}" y="${n(by)}" width="${n(bw)}" height="${n(bh)}" fill="${hex(desaturate(c.roles.dark, 0.6))}" opacity="0.55"/>`;
  back += `<rect x="${n(ax)}" y="${n(ay)}" width="${n(aw)}" height="${n(ah)}" fill="${hex(mix(c.roles.light, WHITE, 0.3))}" opacity="0.22"/>`;
  const size = (landscape ? c.h : c.h / 2) * 0.6;
  const beforeX = bx + bw / 2;
  const afterX = ax + aw / 2;
  const groundBefore = by + bh * 0.95;
  const groundAfter = ay + ah * 0.95;
  let subject = clutter(c, 8, groundBefore - size * 0.3, groundBefore);
  if (shot.person) {
    subject += figure(c, beforeX, groundBefore, size, "slump", desaturate(c.roles.figure, 0.5));
    subject += figure(c, afterX - size * 0.15, groundAfter, size, "cheer");
  }
  subject += product(c, shot.product, afterX + size * (shot.person ? 0.3 : 0), groundAfter, size * 0.4);
  subject += sparkles(c, afterX, groundAfter - size * 0.6, size * 0.6, 5, WHITE);
  const line = landscape ? `<rect x="${n(cut - c.s * 0.006)}" y="0" width="${n(c.s * 0.012)}" height="${c.h}"` : `<rect x="0" y="${n(cut - c.s * 0.006)}" width="${c.w}" height="${n(c.s * 0.012)}"`;
  subject += `${line} fill="${hex(mix(c.roles.light, WHITE, 0.6))}"/>`;
  return { back, subject, vignette: 0.3, mirrorable: false };
};

const hook: Compose = (c, shot) => {
  const horizon = c.h * between(c, 0.6, 0.7);
  const x = c.w * between(c, 0.38, 0.55);
  const ground = c.h * between(c, 0.86, 0.92);
  let back = place(c, settingOf(shot, "city"), horizon, 0.9);
  back += `<rect width="${c.w}" height="${c.h}" fill="${hex(mix(c.roles.dark, BLACK, 0.5))}" opacity="0.55"/>`;
  // A spotlight cone falling on the figure from above.
  const beam = mix(c.roles.light, WHITE, 0.5);
  const topX = x + c.w * between(c, -0.15, 0.15);
  back += `<polygon points="${n(topX - c.w * 0.04)},0 ${n(topX + c.w * 0.04)},0 ${n(x + c.w * 0.16)},${n(ground)} ${n(x - c.w * 0.16)},${n(ground)}" fill="${hex(beam)}" opacity="0.22"/>`;
  back += `<ellipse cx="${n(x)}" cy="${n(ground)}" rx="${n(c.w * 0.17)}" ry="${n(c.h * 0.05)}" fill="${hex(beam)}" opacity="0.45"/>`;
  let subject = "";
  if (shot.person) subject += figure(c, x, ground, c.h * between(c, 0.52, 0.62), shot.troubled ? "slump" : "reach", c.roles.figure, 1);
  // The product, teased: big, cut by the frame edge, half in shadow.
  const size = c.h * between(c, 0.6, 0.75);
  subject += `<g opacity="0.92">${product(c, shot.product, c.w * between(c, 0.95, 1.02), c.h * 1.08, size, false)}</g>`;
  subject += `<rect x="${n(c.w * 0.8)}" y="0" width="${n(c.w * 0.25)}" height="${c.h}" fill="#000000" opacity="0.25"/>`;
  return { back, subject, vignette: 0.6, mirrorable: true };
};

const offer: Compose = (c, shot) => {
  const cx = c.w * between(c, 0.42, 0.5);
  const cy = c.h * between(c, 0.5, 0.58);
  let back = `<rect width="${c.w}" height="${c.h}" fill="${hex(c.roles.back)}"/>`;
  back += rays(c, cx, cy, 24, c.roles.accent, 0.55);
  back += glow(c, cx, cy, c.s * 0.45, mix(c.roles.light, WHITE, 0.4), 0.8);
  const size = c.h * between(c, 0.38, 0.46);
  let subject = product(c, shot.product, cx, cy + size * 0.5, size);
  // Price badge: a big round sticker with a star, top corner.
  const badgeX = c.w * between(c, 0.72, 0.82);
  const badgeY = c.h * between(c, 0.24, 0.32);
  const badgeR = c.s * between(c, 0.15, 0.19);
  subject += starShape(badgeX, badgeY, badgeR * 1.12, mix(c.roles.light, WHITE, 0.3), 16, 0.86);
  subject += `<circle cx="${n(badgeX)}" cy="${n(badgeY)}" r="${n(badgeR * 0.86)}" fill="${hex(c.roles.figure)}"/>`;
  subject += starShape(badgeX, badgeY, badgeR * 0.45, mix(c.roles.light, WHITE, 0.4));
  for (let i = 0; i < 18; i++) {
    const x = c.w * c.random();
    const y = c.h * c.random();
    subject += `<rect x="${n(x)}" y="${n(y)}" width="${n(c.s * 0.018)}" height="${n(c.s * 0.009)}" fill="${hex([c.roles.light, c.roles.accent, c.roles.ground][i % 3]!)}" transform="rotate(${n(c.random() * 180)} ${n(x)} ${n(y)})"/>`;
  }
  return { back, subject, vignette: 0.15, mirrorable: true };
};

const logo: Compose = (c, shot) => {
  const cx = c.w * between(c, 0.46, 0.54);
  const cy = c.h * between(c, 0.4, 0.46);
  const r = c.s * between(c, 0.2, 0.25);
  let back = `<rect width="${c.w}" height="${c.h}" fill="${hex(c.roles.back)}"/>`;
  back += glow(c, cx, cy, c.s * 0.7, mix(c.roles.back, WHITE, 0.25), 0.6);
  let subject = `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(r)}" fill="${hex(c.roles.accent)}"/>`;
  subject += `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(r * 1.18)}" fill="none" stroke="${hex(mix(c.roles.light, WHITE, 0.3))}" stroke-width="${n(c.s * 0.012)}"/>`;
  subject += product(c, shot.product, cx, cy + r * 0.55, r * 1.1, false);
  // Wordmark space: a clean rule under the emblem.
  subject += `<rect x="${n(cx - c.w * 0.16)}" y="${n(cy + r * 1.5)}" width="${n(c.w * 0.32)}" height="${n(c.h * 0.035)}" rx="${n(c.h * 0.017)}" fill="${hex(mix(c.roles.light, WHITE, 0.2))}"/>`;
  subject += `<rect x="${n(cx - c.w * 0.1)}" y="${n(cy + r * 1.5 + c.h * 0.06)}" width="${n(c.w * 0.2)}" height="${n(c.h * 0.018)}" rx="${n(c.h * 0.009)}" fill="${hex(c.roles.light)}" opacity="0.6"/>`;
  return { back, subject, vignette: 0.15, mirrorable: false };
};

const cta: Compose = (c, shot) => {
  const tiltTop = c.w * between(c, 0.5, 0.62);
  const tiltBottom = tiltTop - c.w * between(c, 0.12, 0.2);
  let back = `<rect width="${c.w}" height="${c.h}" fill="${hex(c.roles.back)}"/>`;
  back += `<polygon points="${n(tiltTop)},0 ${n(c.w)},0 ${n(c.w)},${c.h} ${n(tiltBottom)},${c.h}" fill="${hex(c.roles.accent)}"/>`;
  back += `<circle cx="${n(c.w * between(c, 0.05, 0.2))}" cy="${n(c.h * between(c, 0.1, 0.25))}" r="${n(c.s * 0.22)}" fill="${hex(c.roles.ground)}" opacity="0.8"/>`;
  const size = c.h * between(c, 0.5, 0.6);
  const px = (tiltTop + c.w) / 2 + c.w * 0.03;
  let subject = glow(c, px, c.h * 0.5, size * 0.6, mix(c.roles.light, WHITE, 0.4), 0.3);
  subject += product(c, shot.product, px, c.h * 0.5 + size * 0.5, size);
  // The banner: a wide button shape with an arrow, where the call to action goes.
  const bx = c.w * between(c, 0.06, 0.1);
  const by = c.h * between(c, 0.58, 0.66);
  const bw = c.w * 0.4;
  const bh = c.h * 0.14;
  subject += `<rect x="${n(bx)}" y="${n(by)}" width="${n(bw)}" height="${n(bh)}" rx="${n(bh / 2)}" fill="${hex(mix(c.roles.light, WHITE, 0.3))}"/>`;
  subject += `<rect x="${n(bx + bh * 0.45)}" y="${n(by + bh * 0.4)}" width="${n(bw * 0.5)}" height="${n(bh * 0.2)}" rx="${n(bh * 0.1)}" fill="${hex(c.roles.back)}" opacity="0.7"/>`;
  const ax = bx + bw - bh * 0.75;
  const ay = by + bh / 2;
  subject += `<path d="M${n(ax - bh * 0.15)},${n(ay - bh * 0.22)} L${n(ax + bh * 0.1)},${n(ay)} L${n(ax - bh * 0.15)},${n(ay + bh * 0.22)}" stroke="${hex(c.roles.accent)}" stroke-width="${n(bh * 0.1)}" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`;
  subject += `<rect x="${n(bx)}" y="${n(by - c.h * 0.2)}" width="${n(bw * 0.9)}" height="${n(c.h * 0.07)}" rx="${n(c.h * 0.02)}" fill="${hex(mix(c.roles.light, WHITE, 0.5))}" opacity="0.9"/>`;
  subject += `<rect x="${n(bx)}" y="${n(by - c.h * 0.1)}" width="${n(bw * 0.6)}" height="${n(c.h * 0.035)}" rx="${n(c.h * 0.017)}" fill="${hex(c.roles.light)}" opacity="0.6"/>`;
  return { back, subject, vignette: 0.1, mirrorable: false };
};

export const COMPOSITIONS: Record<ShotKind, Compose> = { wide, medium, close, detail, craft, hero, reveal, portrait, montage, lifestyle, steps, split, hook, offer, logo, cta };
