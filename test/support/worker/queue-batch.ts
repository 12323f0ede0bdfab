import { env } from "cloudflare:workers";
import { consumeJobs } from "../../../worker/queue/consumer.ts";
import type { JobMessage } from "../../../worker/queue/messages.ts";
import type { Harness } from "./run-driver.ts";

/** What the consumer did with each message of a batch (getQueueResult does not report retry delays). */
export interface Outcome {
  acks: string[];
  retries: { id: string; delaySeconds: number | undefined }[];
}

/** A batch as the Queues runtime hands it to the consumer, recording acks and retries with their delays. */
export async function deliver(h: Harness, messages: { body: JobMessage; attempts: number }[]): Promise<Outcome> {
  const outcome: Outcome = { acks: [], retries: [] };
  const batch: MessageBatch<unknown> = {
    queue: "adreel-jobs",
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    messages: messages.map((m, i) => {
      const id = `m${i}-${crypto.randomUUID()}`;
      return {
        id,
        timestamp: new Date(),
        attempts: m.attempts,
        body: m.body,
        ack: () => void outcome.acks.push(id),
        retry: (options?: QueueRetryOptions) => void outcome.retries.push({ id, delaySeconds: options?.delaySeconds }),
      };
    }),
    ackAll: () => {
      throw new Error("the consumer acknowledges messages one by one");
    },
    retryAll: () => {
      throw new Error("the consumer retries messages one by one");
    },
  };
  await consumeJobs(batch, env, h.deps);
  return outcome;
}

/** A job's start step, as dispatch puts it on the queue. */
export function start(h: Harness, jobId: string, attempt = 1): JobMessage {
  return { video_id: h.videoId, job_id: jobId, attempt, step: "start" };
}
