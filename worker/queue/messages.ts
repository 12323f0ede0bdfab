import { z } from "zod";
import type { JobKind } from "../../contracts/live.ts";

/** A unit of work on the `jobs` queue. The video's Durable Object decides what runs next. */
export const JobMessage = z.object({
  video_id: z.string().min(1),
  job_id: z.string().min(1),
  attempt: z.number().int().min(1),
  /**
   * `start` does the job's work (or creates its prediction); `ingest` stores a finished
   * prediction's output; `normalize` completes a job whose ingest published early what its
   * dependents need (a chunk's last frame) and left the heavy part (the normalize pass).
   */
  // Was `finish` before issue 14; messages queued under the old name are not read (no production data existed).
  step: z.enum(["start", "ingest", "normalize"]),
});
export type JobMessage = z.infer<typeof JobMessage>;
export type JobStep = JobMessage["step"];

/**
 * Steps that run long media-node work travel on queues of their own. A batch lasts as long as
 * its slowest message, and a local queue hands out one batch at a time, so:
 * - hand-offs on the critical path (a chunk's last frame, a composite, a prediction create)
 *   never wait behind an encode that nothing is waiting for (`jobs`);
 * - the chunks' normalize passes, the windows and the assembly (`media`) never wait behind the
 *   soundtrack's mix, which runs from the end of planning for seconds while the first chunks
 *   land (`audio`: the music's preparation and the soundtrack).
 */
const LONG_STEPS: Partial<Record<JobKind, { step: JobStep; queue: "media" | "audio" }[]>> = {
  chunk: [{ step: "normalize", queue: "media" }],
  stitch: [{ step: "start", queue: "media" }],
  mux: [{ step: "start", queue: "media" }],
  music: [{ step: "ingest", queue: "audio" }],
  soundtrack: [{ step: "start", queue: "audio" }],
};

export type QueueName = "jobs" | "media" | "audio";

export function queueOf(kind: JobKind, step: JobStep): QueueName {
  return LONG_STEPS[kind]?.find((s) => s.step === step)?.queue ?? "jobs";
}
