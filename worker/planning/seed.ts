/**
 * Deterministic randomness for the local planner: the same brief and settings must give the
 * same plan on every machine, so we hash the inputs (cyrb53) and drive a small seeded PRNG
 * (mulberry32) instead of Math.random.
 */

/** cyrb53: a fast 53-bit string hash (public domain, bryc). Not cryptographic; only for seeding. */
export function cyrb53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
