import { Prediction } from "../../contracts/prediction.ts";
import { verifyWebhook } from "../../contracts/signing.ts";
import type { AppContext } from "../app.ts";
import { type Config, webhookSecretOf } from "../config.ts";

/**
 * Prediction webhooks (Replicate's, or the draft server's: same signature scheme). The URL
 * names the video, the job and the attempt; the signature proves the body came from the
 * provider. Unsigned, forged and stale deliveries get 401 and change nothing.
 */

/** `config` is the video's (videoConfig): the URL names the provider that makes the prediction, whose secret signs its webhooks. */
export async function webhookUrl(config: Pick<Config, "publicBaseUrl" | "provider">, videoId: string, jobId: string, attempt: number): Promise<string> {
  const query = new URLSearchParams({ video: videoId, job: jobId, attempt: String(attempt), provider: config.provider });
  return `${config.publicBaseUrl}/webhooks/replicate?${query}`;
}

const MAX_BODY = 1024 * 1024;

/**
 * Takes over a succeeded prediction's ingest step, claimed for it (VideoRun.onPrediction with
 * `handOff`): the route runs it after answering (api/webhooks.ts). RPC typing cannot express the
 * step's `unknown` fields, so it comes as `unknown`; it is a ClaimedJob by construction.
 */
export type IngestTaker = (videoId: string, ingest: unknown) => void;

/** `takeIngest`: run a success's ingest here instead of on the jobs queue (`WEBHOOK_INGEST`, config.ts). */
export async function receiveWebhook(c: AppContext, config: Config, takeIngest?: IngestTaker): Promise<Response> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_BODY) return c.json({ error: "webhook body too large" }, 413);
  const body = await c.req.text();
  if (body.length > MAX_BODY) return c.json({ error: "webhook body too large" }, 413);
  // A draft's predictions are made (and signed) by the draft provider, a standard video's by the real one.
  const secret = webhookSecretOf(config, c.req.query("provider"));
  if (secret === null) return c.json({ error: `webhook URL names provider ${c.req.query("provider")}, which this deployment does not use` }, 400);
  const verdict = await verifyWebhook(secret, { get: (name) => c.req.header(name) ?? null }, body);
  if (!verdict.ok) return c.json({ error: `webhook rejected: ${verdict.reason}` }, 401);
  const video = c.req.query("video");
  const job = c.req.query("job");
  const attempt = Number(c.req.query("attempt"));
  if (!video || !job || !Number.isInteger(attempt) || attempt < 1) return c.json({ error: "webhook URL must name video, job and attempt" }, 400);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return c.json({ error: "webhook body is not JSON" }, 400);
  }
  const prediction = Prediction.safeParse(json);
  if (!prediction.success) return c.json({ error: `webhook body is not a prediction: ${prediction.error.issues[0]?.path.join(".")} ${prediction.error.issues[0]?.message}` }, 400);
  const run = c.env.VIDEO_RUN.get(c.env.VIDEO_RUN.idFromName(video));
  const handOff = takeIngest !== undefined && config.webhookIngest;
  // RPC typing cannot express the ClaimedJob's `unknown` fields (it makes the answer `never`).
  const result = (await run.onPrediction(job, attempt, prediction.data, verdict.id, handOff)) as unknown as { accepted: boolean; ingest?: unknown };
  if (result.ingest) takeIngest!(video, result.ingest);
  return c.json({ ok: true, accepted: result.accepted });
}
