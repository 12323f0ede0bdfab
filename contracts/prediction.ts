import { z } from "zod";

/**
 * Replicate's predictions API, as documented (https://replicate.com/docs/reference/http).
 * Both the real service and adreel's draft model server speak exactly this.
 */

export const PredictionStatus = z.enum(["starting", "processing", "succeeded", "failed", "canceled", "aborted"]);
export type PredictionStatus = z.infer<typeof PredictionStatus>;

export const TERMINAL_STATUSES: readonly PredictionStatus[] = ["succeeded", "failed", "canceled", "aborted"];

export const WebhookEvent = z.enum(["start", "output", "logs", "completed"]);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

export const CreatePredictionBody = z.object({
  /** `owner/name`, `owner/name:version` or a bare version id; omitted on the model-scoped route. */
  version: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown()),
  webhook: z.string().url().optional(),
  webhook_events_filter: z.array(WebhookEvent).optional(),
});
export type CreatePredictionBody = z.infer<typeof CreatePredictionBody>;

export const Prediction = z.object({
  id: z.string().min(1),
  model: z.string().optional(),
  version: z.string().optional(),
  input: z.record(z.string(), z.unknown()).optional(),
  logs: z.string().nullish(),
  output: z.unknown().nullish(),
  data_removed: z.boolean().optional(),
  error: z.unknown().nullish(),
  status: PredictionStatus,
  source: z.string().optional(),
  created_at: z.string().nullish(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  urls: z.object({ get: z.string(), cancel: z.string(), stream: z.string().optional(), web: z.string().optional() }).partial().optional(),
  metrics: z.object({ predict_time: z.number().optional(), total_time: z.number().optional() }).passthrough().nullish(),
  webhook: z.string().nullish(),
  webhook_events_filter: z.array(z.string()).nullish(),
});
export type Prediction = z.infer<typeof Prediction>;

/** Output of a prediction as one URL: models answer with a string or a list of strings. */
export function firstOutputUrl(output: unknown): string | null {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    const found = output.find((item): item is string => typeof item === "string");
    return found ?? null;
  }
  return null;
}
