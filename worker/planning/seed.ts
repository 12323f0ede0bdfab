/**
 * Deterministic randomness for the local planner: the same brief and settings must give the
 * same plan on every machine, so we hash the inputs (cyrb53) and drive a small seeded PRNG
 * (mulberry32) instead of Math.random.
 */

export { cyrb53, mulberry32 } from "../../lib/random.ts";
import { cyrb53, mulberry32 } from "../../lib/random.ts";

/** The few random decisions the planner makes, on top of one PRNG stream. */
export class PlanRandom {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** True with probability p (p <= 0 never draws true, so creativity 0 changes nothing). */
  chance(p: number): boolean {
    const roll = this.next();
    return p > 0 && roll < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("cannot pick from an empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** Uniform in [-1, 1). */
  signed(): number {
    return this.next() * 2 - 1;
  }
}

/**
 * The plan seed: a hash of the normalised brief and every setting that shapes the plan.
 * Kept below 2^31 so it also fits the int32 `seed` inputs of image and video models.
 */
export function planSeed(parts: { prompt: string; duration_s: number; aspect_ratio: string; creativity_level: number; archetype?: string | null }): number {
  const canonical = JSON.stringify([
    parts.prompt.trim().replace(/\s+/g, " "),
    parts.duration_s,
    parts.aspect_ratio,
    Math.round(parts.creativity_level * 1000) / 1000,
    parts.archetype ?? null,
  ]);
  return cyrb53(canonical) % 2147483648;
}
