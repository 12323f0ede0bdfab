import type { Prediction } from "../../contracts/prediction.ts";
import type { ProviderClient } from "./client.ts";

/**
 * Finding a prediction we may have created without learning its id (the consumer died, or
 * the create call failed without an answer). Every prediction adreel creates carries a
 * webhook URL naming its video, job and attempt, and Replicate returns `webhook` in its
 * prediction objects, so the provider's recent list tells whether that attempt exists.
 */

export type PredictionLookup =
  /** The attempt's prediction exists: adopt it, never create another. */
  | { kind: "found"; prediction: Prediction }
  /** Every prediction since `since` was checked and none is this attempt's: creating is safe. */
  | { kind: "absent" }
  /** The list could not settle it (no `webhook` field, too many pages): do not create again. */
  | { kind: "unknown"; reason: string };

/** Clock skew allowed between us and the provider when comparing creation times. */
export const LOOKUP_SKEW_MS = 5 * 60_000;

export async function findPredictionByWebhook(client: ProviderClient, webhook: string, sinceMs: number, maxPages = 5): Promise<PredictionLookup> {
  const horizon = sinceMs - LOOKUP_SKEW_MS;
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const { results, next } = await client.list(cursor);
    for (const prediction of results) {
      if (prediction.webhook === webhook) return { kind: "found", prediction };
      const created = prediction.created_at ? Date.parse(prediction.created_at) : Number.NaN;
      // Newest first: once past the horizon, nothing older can be ours.
      if (Number.isFinite(created) && created < horizon) return { kind: "absent" };
      // A prediction object without the field (as opposed to `null`: no webhook) means this
      // provider does not report webhooks, so "not found" would prove nothing.
      if (prediction.webhook === undefined) return { kind: "unknown", reason: "the provider's prediction list does not report webhook URLs" };
    }
    if (!next) return { kind: "absent" };
    cursor = next;
  }
  return { kind: "unknown", reason: `no match in the newest ${maxPages} pages of predictions` };
}
