import { app } from "./api/routes.ts";
import { consumeDeadLetters, consumeJobs } from "./queue/consumer.ts";
import { runScheduled } from "./scheduled.ts";

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
  scheduled: (controller, env) => runScheduled(controller, env),
} satisfies ExportedHandler<Env>;
