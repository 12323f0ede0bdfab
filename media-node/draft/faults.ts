import type { DraftKnobs } from "./options.ts";

/**
 * Injected faults. With `failSeed` set, the n-th decision of each kind depends only on
 * (seed, n), so a test or benchmark that creates predictions in a fixed order sees the same
 * failures every run; a retried prediction is a new n and may succeed.
 */

export const INJECTED_FAILURE = "draft: injected failure";

/** splitmix32-style mix of (seed, stream, n) into [0, 1). */
function seededUnit(seed: number, stream: number, n: number): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b9) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 4294967296;
}

const STREAM_PREDICTION = 1;
const STREAM_CREATE = 2;
const WINDOW_MS = 60_000;

export class FaultInjector {
  private predictions = 0;
  private creates = 0;
  private recentCreates: number[] = [];

  constructor(private readonly knobs: () => DraftKnobs) {}

  /** Start the decision sequences again (after the seed or rates change). */
  reset(): void {
    this.predictions = 0;
    this.creates = 0;
  }

  private roll(stream: number, n: number): number {
    const seed = this.knobs().failSeed;
    return seed === null ? Math.random() : seededUnit(seed, stream, n);
  }

  /** Seconds the client must wait when this create is over the rate limit, else null. */
  throttle(now = Date.now()): number | null {
    const limit = this.knobs().rateLimitPerMinute;
    this.recentCreates = this.recentCreates.filter((at) => at > now - WINDOW_MS);
    if (limit === null) return null;
    if (this.recentCreates.length >= limit) {
      const oldest = this.recentCreates[0]!;
      return Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
    }
    this.recentCreates.push(now);
    return null;
  }

  /** True when this create request should answer 500. */
  createError(): boolean {
    const rate = this.knobs().createErrorRate;
    const n = this.creates++;
    return rate > 0 && this.roll(STREAM_CREATE, n) < rate;
  }

  /** Why a new prediction must fail (decided when it is created), or null. */
  failure(model: string, input: Record<string, unknown>): string | null {
    const { failModels, failInputs, failRate } = this.knobs();
    const n = this.predictions++;
    if (failModels.includes(model)) return `${INJECTED_FAILURE} (model ${model} is in failModels)`;
    const prompt = typeof input.prompt === "string" ? input.prompt : "";
    const match = failInputs.find((needle) => prompt.includes(needle));
    if (match !== undefined) return `${INJECTED_FAILURE} (prompt contains failInputs entry ${JSON.stringify(match)})`;
    if (failRate > 0 && this.roll(STREAM_PREDICTION, n) < failRate) return INJECTED_FAILURE;
    return null;
  }
}
