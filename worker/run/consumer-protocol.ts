import { z } from "zod";
import type { Prediction } from "../../contracts/prediction.ts";
import { COST_PHASE_OF_KIND } from "../pricing/phases.ts";
import { TokenUsage, tokenCost } from "../pricing/prices.ts";
import { type JobStep, queueOf } from "../queue/messages.ts";
import type { Cue } from "../../contracts/media.ts";
import type { ClaimedJob, ReferenceOutput } from "../steps/step.ts";
import type { ChunkLastFrame } from "../chunks/output.ts";
import type { OwnWindowsInput } from "../chunks/windows.ts";
import { type AssemblyDecorations, OVERLAYS_JOB, type OverlaysOutput } from "../steps/assembly.ts";
import { advance, afterPublish } from "./advance.ts";
import { isWindow, ownWindowsInput } from "./assembly.ts";
import { messageStillDue, passRefused, takeWaitingPass } from "./busy-passes.ts";
import { awaitsDecorations, decorationsKnown, parkNormalize, resumeParked, runCues } from "./decorations-wait.ts";
import { type JobRow, type JobStatus, jobView } from "./jobs.ts";
import { type WorkJob, outputOf, workJob, workJobs } from "./work-jobs.ts";
import { bookCharge } from "./ledger.ts";
import { enterPhase, touchRun, updateProgress } from "./run-state.ts";
import { attemptDone, attemptStarted } from "./timings.ts";
import type { RunContext, RunState } from "./types.ts";

/**
 * The queue consumers' side of a job: a consumer claims a job's step (and is handed what it
 * needs), an ingest may publish what dependents need early, and the step reports the job
 * done. Every report names the job's attempt: one about an attempt or step the job has moved
 * past is dropped.
 */

/**
 * media-node answered busy (admission.ts): the step is sent again in `seconds`, and neither the
 * job's attempts nor its message's deliveries are spent. A start step waits `ready` like a job
 * the provider's create gate deferred; an ingest or normalize step (the job's prediction is
 * already paid for) keeps its status, its lease held past the new delivery.
 */
export async function deferStep(run: RunContext, jobId: string, attempt: number, step: JobStep, seconds: number, endedPhase = false): Promise<ClaimedJob | null> {
  const job = run.jobs.get(jobId);
  if (!job || job.attempt !== attempt || run.ended()) return null;
  const wait = Math.max(1, Math.ceil(seconds));
  const now = Date.now();
  if (step === "start") {
    const moved = run.jobs.apply("defer", job, { notBefore: now + wait * 1000 }, now);
    if (moved) run.event("job", { job: jobView(moved) });
  } else {
    if (job.status !== (step === "ingest" ? "ingesting" : "normalizing")) return null;
    if (step === "normalize" && !endedPhase && job.kind === "chunk" && endsChunkPhase(run, job.id)) return endingNormalize(run, job);
    run.jobs.renewLease(job.id, now + wait * 1000 + run.config.jobLeaseMs, job.status);
    await run.send([{ video_id: run.row()!.video_id, job_id: job.id, attempt, step }], wait);
    if (step === "normalize") passRefused(run, job);
  }
  await run.scheduleAlarm();
  return null;
}

/**
 * A chunk's normalize pass refused busy while other chunks still generated, and now every other
 * chunk has published: the video waits on it. Sent again on the media queue it would wait out
 * the retry delay and, locally, the batch in flight; instead it is claimed again for the consumer
 * that was refused, flagged `endsPhase`, which media-node admits like a finish (it waits in
 * process for the next encode slot, ahead of background passes). `endedPhase` on a refusal of a
 * pass already flagged: that one goes back on the queue, so two refusals never loop.
 */
async function endingNormalize(run: RunContext, job: JobRow): Promise<ClaimedJob | null> {
  if (awaitsDecorations(run, job)) {
    await parkNormalize(run, job);
    return null;
  }
  run.jobs.renewLease(job.id, Date.now() + run.config.jobLeaseMs, job.status);
  await run.scheduleAlarm();
  return claimedJob(run, job, "normalize");
}

/** A consumer takes a job. Null means the message is stale (job moved on): acknowledge and drop it. */
export async function claimJob(run: RunContext, jobId: string, attempt: number, step: JobStep): Promise<ClaimedJob | null> {
  const state = run.state();
  const job = run.jobs.get(jobId);
  if (!state || !job || job.attempt !== attempt || run.ended()) return null;
  const now = Date.now();
  const leaseUntil = now + run.config.jobLeaseMs;
  if (step === "start") {
    if (!run.jobs.apply("claim", job, { leaseUntil }, now)) return null;
    attemptStarted(run.sql, run.config, job, now);
    // The planner starting is the run's first phase change a client can see.
    if (job.kind === "plan") await enterPhase(run, "planning");
  } else {
    if (job.status !== (step === "ingest" ? "ingesting" : "normalizing")) return null;
    // A refused pass handed to a consumer whose slot freed (busy-passes.ts): its delayed message is stale.
    if (step === "normalize" && !messageStillDue(run, job)) return null;
    if (step === "normalize" && awaitsDecorations(run, job)) {
      await parkNormalize(run, job);
      return null;
    }
    run.jobs.renewLease(job.id, leaseUntil, job.status);
  }
  await run.scheduleAlarm();
  // The claim changed none of what the step is handed from the run's row (its phase at most).
  return claimedJob(run, job, step, state);
}

/**
 * The ingest step of a job whose prediction the webhook just reported succeeded, for the webhook
 * to run (predictions.ts `settle` with `handOff`): claimed as a queue consumer's claim would, the
 * lease `predicted` set held. Null when the job has moved on meanwhile.
 */
export function handedIngest(run: RunContext, jobId: string, attempt: number): ClaimedJob | null {
  const job = run.jobs.get(jobId);
  if (!job || job.attempt !== attempt || job.status !== "ingesting" || run.ended()) return null;
  return claimedJob(run, job, "ingest");
}

/** What a consumer's step is handed with the job: the video, its references, the job, and what earlier steps stored. */
function claimedJob(run: RunContext, job: JobRow, step: JobStep, state = run.state()!): ClaimedJob {
  const stored = step !== "start" ? (JSON.parse(job.output ?? "null") as { prediction?: Prediction; published?: unknown } | null) : null;
  return {
    step,
    video: { video_id: state.video_id, tenant_id: state.tenant_id, request: state.request, spec: state.spec, consistency_context: state.consistency_context },
    references: referenceOutputs(run),
    job: { id: job.id, kind: job.kind, beat: job.beat, idx: job.idx, attempt: job.attempt, input: JSON.parse(job.input), prediction_id: job.prediction_id },
    prediction: stored?.prediction ?? null,
    published: stored?.published ?? null,
    ...(job.kind === "chunk" && (step === "normalize" || (step === "ingest" && passInIngest(run, job)))
      ? { ...passInputs(run, job, state), endsPhase: step === "ingest" || endsChunkPhase(run, job.id) }
      : {}),
  };
}

/**
 * The chunk the phase ends with, its ingest claimed: a beat's last (no chunk waits on its frame),
 * no other chunk generating, and the decorations its pass draws known (or none drawn: a run
 * stitching after all). Its ingest runs the normalize pass itself (steps/chunk.ts), the claim
 * handed what a normalize claim is.
 */
function passInIngest(run: Pick<RunContext, "jobs" | "state" | "sql">, job: JobRow): boolean {
  return lastInBeat(job) && endsChunkPhase(run, job.id) && (decorationsKnown(run) || workJob(run.sql, OVERLAYS_JOB) === null);
}

/** A beat's last chunk: no chunk is created from its frame. */
function lastInBeat(job: Pick<WorkJob, "input">): boolean {
  return (JSON.parse(job.input) as { last_in_beat?: boolean }).last_in_beat === true;
}

/** A chunk's statuses before its last frame is published: it is still generating. */
const GENERATING: readonly JobStatus[] = ["waiting", "ready", "queued", "running", "creating", "predicting", "ingesting"];

/**
 * No other chunk of the video is still generating: what is left of the chunk phase is normalize
 * passes, and the video waits on this one. Read when the step is claimed, so a pass refused busy
 * earlier is flagged on the delivery after the last chunk's frame is published. A beat's last
 * chunk being ingested generates nothing another chunk waits on (what is left of it is its pass,
 * maybe run in that very ingest): two beats ending at once each end the phase.
 */
function endsChunkPhase(run: Pick<RunContext, "sql">, jobId: string): boolean {
  return workJobs(run.sql).every((chunk) => chunk.kind !== "chunk" || chunk.id === jobId || !GENERATING.includes(chunk.status) || (chunk.status === "ingesting" && lastInBeat(chunk)));
}

/** Where a job stands while each consumer step works on it. */
const WORKING_STATUS: Record<JobStep, JobStatus> = { start: "running", ingest: "ingesting", normalize: "normalizing" };
const STEP_OF_STATUS: Partial<Record<JobStatus, JobStep>> = Object.fromEntries(Object.entries(WORKING_STATUS).map(([step, status]) => [status, step]));

/**
 * A working step's heartbeat (queue/lease-heartbeat.ts): the job's lease is renewed for another
 * `jobLeaseMs` and the new one answered; null refuses it because the job moved on — another
 * attempt, another status (done, failed, cancelled), or the video ended. Two deliveries of one
 * step (a message sent again) may both renew: the first report wins, as without the heartbeat;
 * dropping the other's work mid-encode would only leave media-node's slot busy for nothing.
 * The alarm's due time is left as it is: waking early to find the lease renewed costs nothing.
 */
export function renewStepLease(run: RunContext, jobId: string, attempt: number, step: JobStep): number | null {
  const job = run.jobs.get(jobId);
  if (!job || job.attempt !== attempt || run.ended() || job.status !== WORKING_STATUS[step]) return null;
  const until = Date.now() + run.config.jobLeaseMs;
  run.jobs.renewLease(job.id, until, job.status);
  return until;
}

/**
 * What a chunk's normalize pass is handed besides the job:
 * - `cues`: the cues burned captions will draw, once the voice is timed (decorations-wait.ts
 *   `timedCues`: usually before the chunks are normalized), so the chunk is normalized with
 *   keyframes where they end and the stitch copies again right after each;
 * - once the decorations are known (the layers rendered and, when captions are burned, the voice
 *   timed), `decorations`, what the pass draws (chunks/decorations.ts), and `windows`, the windows
 *   it leaves that it can render (progressive assembly: assembly.ts ownWindowsInput). Before
 *   that the chunk is normalized plain and its decorated frames are drawn by the stitch.
 * Copies of the kept (frozen) lists: the claim's payload is the caller's to change.
 */
function passInputs(run: Pick<RunContext, "jobs" | "state" | "sql">, job: JobRow, state: RunState): { cues: Cue[]; decorations?: AssemblyDecorations; windows?: OwnWindowsInput } {
  const kept = runCues(run) ?? [];
  const overlays = workJob(run.sql, OVERLAYS_JOB);
  if (!overlays?.output || !decorationsKnown(run)) return { cues: [...kept] };
  const decorations = { overlays: [...outputOf<OverlaysOutput>(overlays).layers], cues: [...kept] };
  const windows = state.spec && state.chunk_plan ? ownWindowsInput({ spec: state.spec, chunkPlan: state.chunk_plan, jobs: workJobs(run.sql), cues: kept }, job.idx) : null;
  return { cues: [...kept], decorations, ...(windows ? { windows } : {}) };
}

/**
 * The job's step finished it: its output is stored, previewable at once, and the pipeline moves
 * on. With `handOff` the next piece of the assembly it makes ready (the final assembly, else a
 * window) is claimed for the reporting consumer and answered, to run at once in place of a queue
 * message and its claim: the final MP4 is the last chunk's consumer's next step. Only a consumer
 * of the media queue is handed one (a chunk's normalize, a window, a seam measure): the piece
 * would travel there, and a consumer of another queue would hold that queue's batch with it.
 * With no such piece, a media consumer whose work just freed an encode slot is handed a normalize
 * pass refused busy earlier, if one waits (busy-passes.ts).
 */
export async function jobDone(run: RunContext, jobId: string, attempt: number, output: unknown, handOff = false): Promise<ClaimedJob | null> {
  if (run.ended()) return null;
  const now = Date.now();
  const before = run.jobs.get(jobId);
  // A chunk done from its ingest ran its normalize pass there (passInIngest): media work too.
  const reportedStep = before?.kind === "chunk" && before.status === "ingesting" ? "normalize" : STEP_OF_STATUS[before?.status ?? "waiting"] ?? "start";
  const reportedOnMedia = before !== null && queueOf(before.kind, reportedStep) === "media";
  const done = run.jobs.apply("complete", { id: jobId, attempt }, { output }, now);
  if (!done) return null;
  attemptDone(run.sql, jobId, attempt, now);
  bookTokens(run, done, output);
  touchRun(run.sql, now);
  // Each finished artefact is previewable at once (progressive preview of chunks, boards, references).
  const key = (output as { key?: unknown } | null)?.key;
  const preview_url = typeof key === "string" ? await run.sign(key) : null;
  // A chunk normalized in its ingest published no frame before: its frame comes with its clip.
  const frameKey = reportedStep === "normalize" && before?.status === "ingesting" ? (output as { last_frame_key?: unknown } | null)?.last_frame_key : undefined;
  run.event("job", { job: jobView(done), output, preview_url, ...(typeof frameKey === "string" ? { frame_url: await run.sign(frameKey) } : {}) });
  const next = await advance(run, done, handOff && reportedOnMedia ? isAssemblyStep : undefined);
  await resumeParked(run);
  await run.syncIndex();
  if (!next) return handOff && reportedOnMedia ? waitingPassFor(run) : null;
  attemptStarted(run.sql, run.config, next, now);
  return claimedJob(run, next, "start");
}

/** A normalize pass refused busy earlier, claimed for the media consumer whose slot just freed (busy-passes.ts); null when none waits. */
async function waitingPassFor(run: RunContext): Promise<ClaimedJob | null> {
  const pass = takeWaitingPass(run, (job) => !awaitsDecorations(run, job));
  if (!pass) return null;
  run.jobs.renewLease(pass.id, Date.now() + run.config.jobLeaseMs, pass.status);
  await run.scheduleAlarm();
  return claimedJob(run, pass, "normalize");
}

/** The assembly's pieces a consumer takes over from the step that made them ready: the final assembly, a window. */
const isAssemblyStep = (job: JobRow) => (job.kind === "mux" || isWindow(job));

const ReportedTokens = z.object({ usage: TokenUsage });

/**
 * A step that called a language model (the OpenAI planner, the vision analyser) reports the
 * tokens it spent in its output: they are priced at the model's token prices and booked as the
 * job's charge under the phase the estimate puts the job in. Booked once per attempt.
 */
function bookTokens(run: RunContext, job: JobRow, output: unknown): void {
  const reported = ReportedTokens.safeParse(output);
  if (!reported.success) return;
  const { usage } = reported.data;
  const usd = tokenCost(usage.model, usage);
  if (usd === null) {
    run.event("warning", { message: `${job.id}: ${usage.input_tokens + usage.output_tokens} tokens of ${usage.model}, a model without a known token price, are not in the cost`, job_id: job.id });
    return;
  }
  bookCharge(run.sql, { id: `tokens:${job.id}#${job.attempt}`, jobId: job.id, attempt: job.attempt, phase: COST_PHASE_OF_KIND[job.kind], detail: usage.model, usd });
}

/**
 * What a publishing consumer offers to run itself: `true`, the released dependent's start step,
 * or the chunk phase's last normalize pass; `"own_pass"` also the chunk's own normalize pass, from
 * a consumer that holds no queue batch (the webhook's ingest) — after the dependent's start, which
 * the chain waits on. On the media queue a pass waited for the batch in flight to end (locally one
 * batch at a time), behind windows and seam measures of a second or two each: in traced runs at
 * 3 s latency, 1.75 s for a beat's last chunk's pass and 4 s for a chained one's, which then ended
 * the phase. Refused busy, the pass goes on the queue as any refused pass (busy-passes.ts).
 */
export type PublishHandOff = boolean | "own_pass";

/**
 * An ingest published what the job's dependents need (a chunk's last frame) ahead of its
 * heavy part: they may start now, and the job's `normalize` step completes it. With `handOff`
 * the publishing consumer offers to run the released dependent's start step itself: when the
 * per-video cap lets it start now it is claimed for that consumer (`handOff`) and answered, in
 * place of a queue message and the claim its consumer would make (issue 16's thin chain).
 */
export async function publishOutput(run: RunContext, jobId: string, attempt: number, output: unknown, handOff: PublishHandOff = false): Promise<ClaimedJob | null> {
  const job = run.jobs.get(jobId);
  if (!job || run.ended()) return null;
  const stored = JSON.parse(job.output ?? "null") as { prediction?: Prediction } | null;
  const now = Date.now();
  const published = run.jobs.apply("publish", { id: jobId, attempt }, { output: { prediction: stored?.prediction ?? null, published: output ?? null }, leaseUntil: now + run.config.jobLeaseMs }, now);
  if (!published) return null;
  touchRun(run.sql, now);
  const frameKey = (output as { last_frame_key?: unknown } | null)?.last_frame_key;
  run.event("job", { job: jobView(published), ...(typeof frameKey === "string" ? { frame_url: await run.sign(frameKey) } : {}) });
  await afterPublish(run, published, output as ChunkLastFrame);
  // The last chunk to publish: the phase now ends with its normalize pass, which the publishing
  // consumer runs itself rather than queue it behind the media queue's encodes in flight; so does
  // a beat's last chunk's, offered a consumer of its own.
  const tail = handOff !== false && published.kind === "chunk" && (endsChunkPhase(run, jobId) || (handOff === "own_pass" && lastInBeat(published)));
  const ownPass = handOff === "own_pass" && published.kind === "chunk";
  if (!tail && !ownPass) await run.send([{ video_id: run.row()!.video_id, job_id: jobId, attempt, step: "normalize" }]);
  await updateProgress(run);
  const next = await run.dispatch(handOff !== false && !tail ? jobId : undefined);
  // Every other chunk done and the decorations not known: it waits for them (decorations-wait.ts).
  if (tail && awaitsDecorations(run, published)) {
    await parkNormalize(run, published);
    return null;
  }
  if (tail) return claimedJob(run, published, "normalize");
  const pass = ownPass ? claimedJob(run, published, "normalize") : undefined;
  if (!next) return pass ?? null;
  attemptStarted(run.sql, run.config, next, now);
  return { ...claimedJob(run, next, "start"), ...(pass ? { then: pass } : {}) };
}

/**
 * A handed-off step could not finish in its consumer (transient trouble): it goes on the queue
 * like any such step, `delaySeconds` from now, on the same attempt.
 */
export async function handBack(run: RunContext, jobId: string, attempt: number, delaySeconds: number, step: JobStep = "start"): Promise<void> {
  // A handed-off ingest or normalize keeps its status and goes on its queue, as a busy one would.
  if (step !== "start") {
    await deferStep(run, jobId, attempt, step, delaySeconds, true);
    return;
  }
  const job = run.jobs.get(jobId);
  if (!job || job.attempt !== attempt || run.ended()) return;
  const now = Date.now();
  if (!run.jobs.apply("requeue", job, { leaseUntil: now + delaySeconds * 1000 + run.config.jobLeaseMs }, now)) return;
  await run.send([{ video_id: run.row()!.video_id, job_id: jobId, attempt, step: "start" }], delaySeconds);
  await run.scheduleAlarm();
}

export function referenceOutputs(run: Pick<RunContext, "sql">): ReferenceOutput[] {
  return workJobs(run.sql)
    .flatMap((j) => (j.kind === "reference" && j.status === "done" ? [outputOf<ReferenceOutput>(j)] : []))
    .sort((a, b) => a.index - b.index);
}
