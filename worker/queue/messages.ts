import { z } from "zod";

/** A unit of work on the `jobs` queue. The video's Durable Object decides what runs next. */
export const JobMessage = z.object({
  video_id: z.string().min(1),
  job_id: z.string().min(1),
  attempt: z.number().int().min(1),
  /** `start` does the job's work (or creates its prediction); `ingest` stores a finished prediction's output. */
  step: z.enum(["start", "ingest"]),
});
export type JobMessage = z.infer<typeof JobMessage>;
