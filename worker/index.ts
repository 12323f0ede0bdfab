import { app } from "./api/routes.ts";
import { loadConfig } from "./config.ts";
import { workerLog } from "./log.ts";
import { consumeDeadLetters, consumeJobs } from "./queue/consumer.ts";
import { sweepStagedUploads } from "./references/staged-uploads.ts";

export { app };
export { VideoRun } from "./run/video-run.ts";
export { RequestLimiter } from "./auth/limiter.ts";
export { MediaNodeContainer } from "./media/container.ts";
export { LocalFront } from "./api/local-front.ts";

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
    else await consumeJobs(batch, env);
  },
  // wrangler.toml's one cron trigger: the sweep of staged uploads left behind.
  async scheduled(controller, env) {
    const log = workerLog(loadConfig(env).log, { cron: controller.cron });
    try {
      await sweepStagedUploads(env.MEDIA, controller.scheduledTime, log);
    } catch (error) {
      // Failed, so the invocation shows as failed in Workers Logs; the next run sweeps what this one left.
      log.error("asset.staging_sweep_failed", { error });
      throw error;
    }
  },
} satisfies ExportedHandler<Env>;
