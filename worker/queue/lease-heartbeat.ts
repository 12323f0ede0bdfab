import type { Log } from "../log.ts";
import type { JobStep } from "./messages.ts";

/**
 * A step renews its job's lease while it works: the run sends a job again once its lease
 * lapses (recovery.ts), which is right for a consumer that was lost and wrong for one that is
 * merely slow (a soundtrack mix or a stitch under load outlasting the lease would run twice).
 * Three renewals per lease leave two chances for a late one before the lease lapses.
 */
const RENEWALS_PER_LEASE = 3;

/** The run's side of a renewal: the new lease, or null when the job has moved on (refused). */
export interface LeaseHolder {
  renewLease(jobId: string, attempt: number, step: JobStep): Promise<number | null>;
}

export interface Heartbeat {
  /** Settles with the reason once a renewal is refused: the step's result must not be reported. */
  lost: Promise<string>;
  stop(): void;
}

/**
 * Renews the job's lease every `leaseMs` / 3 until stopped. A renewal that fails to reach the
 * run is tried again at the next beat: the lease has time left for it.
 */
export function startHeartbeat(run: LeaseHolder, job: { job_id: string; attempt: number; step: JobStep }, leaseMs: number, log: Log): Heartbeat {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lose: (reason: string) => void = () => {};
  const lost = new Promise<string>((resolve) => (lose = resolve));
  const beat = async () => {
    if (stopped) return;
    try {
      const renewed = await run.renewLease(job.job_id, job.attempt, job.step);
      if (stopped) return;
      if (renewed === null) {
        stopped = true;
        lose(`the run refused to renew the lease of ${job.job_id} (attempt ${job.attempt}, ${job.step}): the job has moved on`);
        return;
      }
    } catch (error) {
      log.warn("job.lease_renewal_failed", { error });
    }
    if (!stopped) timer = setTimeout(beat, leaseMs / RENEWALS_PER_LEASE);
  };
  timer = setTimeout(beat, leaseMs / RENEWALS_PER_LEASE);
  return {
    lost,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
