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
const STREAM_GET = 3;
const STREAM_MALFORMED = 4;
const STREAM_HANG = 5;
const WINDOW_MS = 60_000;

export class FaultInjector {
  private predictions = 0;
  private creates = 0;
  private gets = 0;
  private answers = 0;
  private hangs = 0;
  private recentCreates: number[] = [];
  private readonly knobs: () => DraftKnobs;

  constructor(knobs: () => DraftKnobs) {
    this.knobs = knobs;
  }

  /** Start the decision sequences again (after the seed or rates change). */
  reset(): void {
    this.predictions = 0;
    this.creates = 0;
    this.gets = 0;
    this.answers = 0;
    this.hangs = 0;
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

  /** True when this `GET /v1/predictions/{id}` should answer 500. */
  getError(): boolean {
    const rate = this.knobs().getErrorRate;
    const n = this.gets++;
    return rate > 0 && this.roll(STREAM_GET, n) < rate;
  }

  /** How to garble this create/get answer, or null to answer it intact. */
  malformation(): Malformation | null {
    const rate = this.knobs().malformedRate;
    const n = this.answers++;
    if (!(rate > 0 && this.roll(STREAM_MALFORMED, n) < rate)) return null;
    return MALFORMATIONS[n % MALFORMATIONS.length]!;
  }

  /** True when a new prediction should hang (processing until cancelled). */
  hang(): boolean {
    const rate = this.knobs().hangRate;
    const n = this.hangs++;
    return rate > 0 && this.roll(STREAM_HANG, n) < rate;
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

/** Ways a provider answer goes wrong: required fields missing, or a status outside the protocol. */
export type Malformation = "no id" | "no status" | "garbage status";
const MALFORMATIONS: Malformation[] = ["no status", "garbage status", "no id"];

/** The answer `prediction` garbled as `how` (a copy; the prediction itself is unchanged). */
export function malform(prediction: object, how: Malformation): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...prediction };
  if (how === "no id") delete copy.id;
  else if (how === "no status") delete copy.status;
  else copy.status = "reticulating";
  return copy;
}
