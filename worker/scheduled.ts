import { loadConfig } from "./config.ts";
import { workerLog } from "./log.ts";
import { sweepStagedUploads } from "./references/staged-uploads.ts";

/**
 * The Worker's `scheduled` handler, for wrangler.toml's one cron trigger: the sweep of staged
 * uploads left behind (references/staged-uploads.ts). Ages are judged at the run's scheduled time.
 */
export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const log = workerLog(loadConfig(env).log, { cron: controller.cron });
  try {
    await sweepStagedUploads(env.MEDIA, controller.scheduledTime, log);
  } catch (error) {
    // Failed, so the invocation shows as failed in Workers Logs; the next run sweeps what this one left.
    log.error("asset.staging_sweep_failed", { error });
    throw error;
  }
}

/**
 * Miniflare fires no cron triggers of its own: on the local stack, its front (api/local-front.ts)
 * runs the handler at LOCAL_SCHEDULED_PATH with Miniflare's own parameters, `cron` and `time` (ms
 * since the epoch; Miniflare 4's `/cdn-cgi/local/scheduled`), which the stack's Worker host calls
 * on wrangler.toml's schedule and the fault suite with a time of its choosing. Answers 200 `ok`,
 * or 500 with the failure.
 */
export async function runScheduledLocally(request: Request, env: Env): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const time = Number(params.get("time") ?? Date.now());
  if (!Number.isFinite(time)) return new Response(`time: expected ms since the epoch, got ${params.get("time")}`, { status: 400 });
  const controller = { type: "scheduled", cron: params.get("cron") ?? "", scheduledTime: time, noRetry: () => undefined } as unknown as ScheduledController;
  try {
    await runScheduled(controller, env);
    return new Response("ok");
  } catch (error) {
    return new Response(`scheduled handler failed: ${(error as Error).message}`, { status: 500 });
  }
}
