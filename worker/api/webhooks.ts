import { createRoute } from "@hono/zod-openapi";
import { WebhookReceipt } from "../../contracts/api.ts";
import { receiveWebhook } from "../providers/webhook.ts";
import { runHandedOff } from "../queue/consumer.ts";
import { type ClaimedJob, stepDeps } from "../steps/step.ts";
import { errorResponse, jsonResponse, router, serve } from "./router.ts";

/**
 * The provider's prediction webhooks, mounted at /webhooks. The signature covers the raw body,
 * so the route documents its query, headers and body but validates nothing before the
 * handler has verified the signature (providers/webhook.ts): a forged delivery is a 401,
 * whatever it holds.
 */

const stringParam = (name: string, where: "query" | "header", description: string, schema: Record<string, unknown> = { type: "string" }) => ({ name, in: where, required: true, description, schema });

export const predictionWebhookRoute = createRoute({
  method: "post",
  path: "/replicate",
  operationId: "receivePredictionWebhook",
  tags: ["webhooks"],
  summary: "Prediction webhook (called by the model provider)",
  description:
    "Where Replicate (or the local draft model server) reports prediction progress. Signed with the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`, HMAC-SHA256 by the webhook secret); unsigned, forged, stale and duplicate deliveries change nothing. The URL, set by adreel when it creates the prediction, names the video, job and attempt.",
  security: [],
  parameters: [
    stringParam("video", "query", "The video id."),
    stringParam("job", "query", "The job within the video, e.g. `chunk:003`."),
    stringParam("attempt", "query", "The job's attempt the prediction belongs to.", { type: "integer", minimum: 1 }),
    { ...stringParam("provider", "query", "The provider that made the prediction (`draft` or `replicate`): its webhook secret verifies the signature. Absent: the configured provider.", { type: "string", enum: ["draft", "replicate"] }), required: false },
    stringParam("webhook-id", "header", "Unique delivery id."),
    stringParam("webhook-timestamp", "header", "Unix seconds; deliveries older than 5 minutes are refused."),
    stringParam("webhook-signature", "header", "`v1,<base64 signature>` (several separated by spaces)."),
  ],
  request: { body: { description: "The prediction.", required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Prediction" } } } } },
  responses: {
    200: jsonResponse(WebhookReceipt, "Verified."),
    400: errorResponse("The URL does not name video, job and attempt, names a provider this deployment does not use, or the body is not a prediction."),
    401: errorResponse("Missing, invalid or stale signature."),
    413: errorResponse("The body is larger than 1 MiB."),
  },
});

export const webhooksApi = router();
/**
 * A success's ingest (a chunk's last frame, then the next chunk's create) runs in this request's
 * isolate once the provider has its answer, instead of waiting on the jobs queue for a consumer
 * (a local queue hands out one batch at a time: an ingest waited there behind another's last
 * frame). It holds the job's lease like a consumer; failing, it is handed back to the queue.
 * Cloudflare cancels what waitUntil still runs 30 s after the response (as reported in
 * github.com/Menci/Floway/issues/411, read 2026-12-05): an ingest cut off there is like one whose
 * isolate died, and its lapsed lease puts it on the queue (run/recovery.ts).
 */
serve(webhooksApi, predictionWebhookRoute, (c) => {
  const config = c.get("config");
  return receiveWebhook(c, config, (videoId, ingest) => {
    const deps = stepDeps(c.env, config);
    const claimed = ingest as ClaimedJob;
    // Said in the log, where bench/chunks.ts counts the ingests that went without a queue message.
    deps.log.info("webhook.ingest_taken", { video_id: videoId, job_id: claimed.job.id, attempt: claimed.job.attempt });
    c.executionCtx.waitUntil(runHandedOff(deps, videoId, claimed));
  });
});
