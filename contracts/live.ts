import { z } from "zod";
import { CostEstimate, CostLedgerEntry, EndStatus, GenerateRequest, MissingReference, PendingUsd, Phase, PlanNote, ReferenceImage, SpentUsd, VideoStatus } from "./api.ts";
import { ChunkPlan, VideoSpec } from "./spec.ts";

/**
 * The live WebSocket of a video (`GET /api/video/{id}/live`). The VideoRun object types every
 * event it emits by these schemas, the OpenAPI document shows them, and clients narrow frames
 * on `type` with the inferred types: one definition, so the three cannot drift apart.
 *
 * Events are strict objects: a field the schema does not name is a bug in the emitter, and the
 * worker tests parse every frame of whole runs to catch it. The snapshot is the exception (see
 * LiveSnapshot).
 */

// ---------------------------------------------------------------- the job table, as clients see it

// Issue 14 renamed the kind `finalize` to `mux` and the status `finishing` to `normalizing`.
// Runs stored in a VideoRun's SQLite under the old names are not migrated: no production data
// existed when the names changed.

export const JobKind = z.enum(["plan", "reference", "storyboard", "chunk", "music", "voice", "soundtrack", "stitch", "mux"]);
export type JobKind = z.infer<typeof JobKind>;

export const JobStatus = z.enum([
  "waiting", // dependencies not done yet
  "ready", // may run, waiting for a prediction slot
  "queued", // message sent
  "running", // claimed by a consumer
  "creating", // prediction being created (idempotency guard)
  "predicting", // prediction running at the provider
  "ingesting", // output being stored / normalized
  "normalizing", // what dependents need is published (a chunk's last frame); the normalize pass runs
  "done",
  "failed",
  "cancelled",
]);
export type JobStatus = z.infer<typeof JobStatus>;

/** The id of chunk `chunkNum`'s job, as JobView shows it: `chunk:007`. */
export function chunkJobId(chunkNum: number): string {
  return `chunk:${String(chunkNum).padStart(3, "0")}`;
}

/** A job without its inputs, leases and prediction bookkeeping: what a viewer needs to draw it. */
export const JobView = z.strictObject({
  id: z.string().describe("`plan`, `reference:0`, `storyboard:2`, `chunk:007`, `music`, `voice:1`, `soundtrack`, `stitch` (after_all) or a progressive assembly's `overlays`, `stitch:<frame>` (a window), `seams:<frame>` (seam measures), and `mux`"),
  kind: JobKind,
  beat: z.number().int().nullable(),
  idx: z.number().int(),
  status: JobStatus,
  attempt: z.number().int().min(1),
  error: z.string().nullable(),
  // Kept after a retry succeeds, so a job that recovered still shows what it went through.
  errors: z.array(z.string()).describe("every failed attempt's reason, oldest first"),
});
export type JobView = z.infer<typeof JobView>;

// ---------------------------------------------------------------- the snapshot

/**
 * The whole run, sent first on every connection so a client never has to reconstruct it from
 * events. Not strict, unlike the events, so a newer server may add fields: clients must
 * ignore fields not named here (the run's own tests hold it to exactly these).
 */
export const LiveSnapshot = z.object({
  video_id: z.string(),
  tenant_id: z.string(),
  request: GenerateRequest,
  spec: VideoSpec.nullable(),
  chunk_plan: z.array(ChunkPlan).nullable(),
  cost_estimate: CostEstimate.nullable(),
  status: VideoStatus,
  phase: Phase,
  progress: z.number().min(0).max(100),
  error: z.string().nullable(),
  consistency_context: z.string().nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
  completed_at: z.number().int().nullable(),
  cost_usd: SpentUsd,
  cost_pending_usd: PendingUsd,
  cost_by_phase: z.record(z.string(), z.number()).describe("`cost_usd` by phase"),
  cost_ledger: z.array(CostLedgerEntry.extend({ at: z.number().int() })).describe("one line per prediction; `cost_usd` is the sum of their `actual_usd`, `cost_pending_usd` of the `estimate_usd` of those without one"),
  estimated_time_remaining: z.number().nullable().describe("seconds: the remaining jobs along their critical path, timed by the provider latency observed in this run (and in earlier videos before that); null until the spec exists, 0 once the video ended"),
  jobs: z.array(JobView),
  // A viewer that connects late rebuilds its previews from these instead of replaying every event.
  outputs: z.record(z.string(), z.unknown()).describe("each finished job's stored output (media keys, palettes, colour drift), by job id"),
  last_event: z.number().int().min(0).describe("the last event the snapshot includes: later ones follow live, or replay with `since`"),
});
export type LiveSnapshot = z.infer<typeof LiveSnapshot>;

// ---------------------------------------------------------------- events (as stored in the run's log)

const Progress = z.number().min(0).max(100);

export const QueuedEvent = z.strictObject({
  type: z.literal("queued"),
  status: z.literal("queued"),
  phase: z.literal("queued"),
  progress: z.literal(0),
});

export const PhaseEvent = z.strictObject({
  type: z.literal("phase"),
  phase: Phase,
  status: z.literal("processing"),
});

export const ProgressEvent = z.strictObject({
  type: z.literal("progress"),
  progress: Progress,
  phase: Phase,
  cost_usd: SpentUsd,
  cost_pending_usd: PendingUsd,
  estimated_time_remaining: z.number().nullable().describe("seconds: the remaining jobs along their critical path, timed by the provider latency observed in this run (and in earlier videos before that); null until the spec exists, 0 once the video ended"),
});

/** A job changed status. Which optional fields come depends on the status it reached. */
export const JobEvent = z.strictObject({
  type: z.literal("job"),
  job: JobView,
  prediction_id: z.string().optional().describe("status predicting: the prediction the attempt now waits for"),
  prediction_usd: z.number().optional().describe("status ingesting: what the ended prediction was priced at"),
  cost_usd: SpentUsd.optional().describe("status predicting or ingesting: the video's cost so far (as `cost_usd` of the snapshot: it never decreases)"),
  cost_pending_usd: PendingUsd.optional().describe("status predicting or ingesting: the estimate of the predictions still running"),
  output: z.unknown().optional().describe("status done: the job's stored output, as in the snapshot's `outputs`"),
  // Sent with the event so previews appear as work lands, without a request per job.
  preview_url: z.string().nullable().optional().describe("status done: a signed URL of the artefact (chunk MP4, storyboard or reference PNG); null when the job has none"),
  frame_url: z.string().optional().describe("chunk, status normalizing: a signed URL of the chunk's last frame (PNG), published before the chunk itself is ready; the next chunk of the beat starts from it. Status done: the same, for the chunk the phase ended with, normalized in its ingest (its frame comes with its clip)"),
});

export const JobRetryEvent = z.strictObject({
  type: z.literal("job_retry"),
  /** Already on its next attempt, back to `ready`. */
  job: JobView,
  reason: z.string().describe("why the attempt failed"),
});

export const SpecEvent = z.strictObject({
  type: z.literal("spec"),
  spec: VideoSpec,
  /** Null when a beat is regenerated on a run admitted without an estimate. */
  cost_estimate: CostEstimate.nullable(),
  // Enough to lay out the chunk grid before any chunk job exists.
  chunks: z.number().int().min(1).describe("how many chunks will be generated"),
});

export const ReferenceImagesReadyEvent = z.strictObject({
  type: z.literal("reference_images_ready"),
  message: z.string(),
  images: z.array(z.strictObject({ ...ReferenceImage.shape, index: z.number().int().min(0) })),
  missing: z.array(MissingReference).describe("references that failed every attempt: the video goes on without them (each was also announced in a `warning`)"),
  consistency_context: z.string(),
});

export const WarningEvent = z.strictObject({
  type: z.literal("warning"),
  message: z.string(),
  job_id: z.string().optional().describe("the job the warning is about (colour drift, a create waiting for the provider's rate), when it is about one"),
  callback_id: z.string().optional().describe("the `callback_url` notification being retried, when it is about one"),
});

export const DriftCorrectionEvent = z.strictObject({
  type: z.literal("drift_correction"),
  job_id: z.string().describe("the chunk job that is corrected: the next chunk of the drifting one's beat"),
  chunk_num: z.number().int().min(0).describe("the chunk whose last frame drifted"),
  next_chunk_num: z.number().int().min(0),
  drift: z.number().describe("ΔE2000 of the drifting chunk's last frame to the references' palette"),
  threshold: z.number(),
  action: z.enum(["end_frame", "reanchor"]).describe("end_frame: the next chunk ends on an end frame cut from the storyboard, which pulls the shot back; reanchor: it starts from the last frame recoloured toward the storyboard"),
  strength: z.number().min(0).max(1).optional().describe("reanchor: how far the recolouring goes (0 none, 1 the storyboard's palette statistics)"),
});

export const RegenerateEvent = z.strictObject({
  type: z.literal("regenerate"),
  beat: z.number().int().min(0),
  prompt: z.string().describe("the beat's prompt as it is now used (sanitised)"),
  prompt_changed: z.boolean(),
  chunk_nums: z.array(z.number().int().min(0)),
  status: z.literal("processing"),
  phase: z.literal("generating_chunks"),
});

const CallbackReport = {
  callback_id: z.string(),
  attempt: z.number().int().min(0),
  message: z.string(),
};
export const CallbackEvent = z.strictObject({ type: z.literal("callback"), ...CallbackReport });
export const CallbackFailedEvent = z.strictObject({ type: z.literal("callback_failed"), ...CallbackReport });

/**
 * The three ends share one shape because the run emits them from one place: a precise
 * per-end shape (error null only on complete, say) could not be checked there. `phase` equals
 * `status`; `final_video_url` is set on complete only, `error` on failed and cancelled only.
 */
function endEvent<S extends EndStatus>(status: S) {
  return z.strictObject({
    type: z.literal(status),
    status: z.literal(status),
    phase: EndStatus,
    progress: Progress,
    error: z.string().nullable(),
    cost_usd: SpentUsd,
    cost_pending_usd: PendingUsd.describe("predictions the end cancelled whose final cost the provider has not reported yet; they settle into `cost_usd` afterwards"),
    final_video_url: z.string().nullable().describe("complete: a signed, expiring URL of the final MP4; null otherwise"),
    generation_time_seconds: z.number(),
  });
}
export const CompleteEvent = endEvent("complete");
export const FailedEvent = endEvent("failed");
export const CancelledEvent = endEvent("cancelled");

// The planner's notes are part of the dry-run answer too, so they are defined with the API's contracts.
export { PlanNote, PlanNoteType } from "./api.ts";

export const LiveEvent = z.discriminatedUnion("type", [
  QueuedEvent,
  PhaseEvent,
  ProgressEvent,
  JobEvent,
  JobRetryEvent,
  SpecEvent,
  ReferenceImagesReadyEvent,
  WarningEvent,
  DriftCorrectionEvent,
  RegenerateEvent,
  CallbackEvent,
  CallbackFailedEvent,
  CompleteEvent,
  FailedEvent,
  CancelledEvent,
  PlanNote,
]);
export type LiveEvent = z.infer<typeof LiveEvent>;
export type LiveEventType = LiveEvent["type"];

/**
 * The fields an event of type `T` carries besides `type`. Distributes over a union of types,
 * so a call that emits one of several (the three ends) is checked against each.
 */
export type LiveEventData<T extends LiveEventType> = LiveEvent extends infer E ? (E extends LiveEvent ? (T extends E["type"] ? Omit<E, "type"> : never) : never) : never;

/** Why `event` is not a LiveEvent, or null when it is. */
export function liveEventIssues(event: unknown): string | null {
  const parsed = LiveEvent.safeParse(event);
  return parsed.success ? null : parsed.error.issues.map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`).join("; ");
}

// ---------------------------------------------------------------- frames (as sent on the socket)

const Envelope = {
  id: z.number().int().min(1).describe("the event's place in the run's log: reconnect with the last one seen as `since`"),
  // The run's own clock, so timings do not depend on when a client happened to look.
  at: z.number().int().describe("when the run emitted it, in milliseconds since the epoch"),
};

function sent<Shape extends z.ZodRawShape>(event: z.ZodObject<Shape, z.core.$strict>, title: string, description: string) {
  return event.extend(Envelope).meta({ title, description });
}

export const LiveSnapshotFrame = z
  .strictObject({
    id: z.number().int().min(0).describe("the snapshot's `last_event`"),
    type: z.literal("snapshot"),
    snapshot: LiveSnapshot.nullable().describe("null when the id names no run"),
  })
  .meta({ title: "LiveSnapshotFrame", description: "Sent first on every connection: the whole run." });

/**
 * Every frame the server sends. `title` names each variant (the OpenAPI document makes each a
 * component, so readers see one object per type instead of one object with every field optional).
 */
export const LiveMessage = z.discriminatedUnion("type", [
  LiveSnapshotFrame,
  sent(QueuedEvent, "LiveQueuedEvent", "The video was accepted (the first event of every run)."),
  sent(PhaseEvent, "LivePhaseEvent", "The run entered a phase."),
  sent(ProgressEvent, "LiveProgressEvent", "Progress rose (it never falls within a run), with the cost so far and the time remaining."),
  sent(JobEvent, "LiveJobEvent", "A job changed status; a finished chunk, storyboard frame or reference carries a signed `preview_url`."),
  sent(JobRetryEvent, "LiveJobRetryEvent", "A job's attempt failed and the job will run again."),
  sent(SpecEvent, "LiveSpecEvent", "The plan: the spec, its cost estimate and the number of chunks (again when a regenerated beat changes a prompt)."),
  sent(ReferenceImagesReadyEvent, "LiveReferenceImagesReadyEvent", "The three reference images every later shot is conditioned on, signed, with the consistency context built from them."),
  sent(WarningEvent, "LiveWarningEvent", "Something went wrong and was handled (lost work re-sent, colour drift, a failed provider call, a callback retried)."),
  sent(DriftCorrectionEvent, "LiveDriftCorrectionEvent", "A chunk drifted from the references' colours: the next chunk of its beat is brought back toward the storyboard (docs/SEAMS.md)."),
  sent(RegenerateEvent, "LiveRegenerateEvent", "A beat of the complete video is being rendered again."),
  sent(CallbackEvent, "LiveCallbackEvent", "The `callback_url` was notified."),
  sent(CallbackFailedEvent, "LiveCallbackFailedEvent", "The `callback_url` notification was given up (or never sent)."),
  sent(CompleteEvent, "LiveCompleteEvent", "The video is complete; `final_video_url` is the MP4."),
  sent(FailedEvent, "LiveFailedEvent", "The video failed; `error` says why."),
  sent(CancelledEvent, "LiveCancelledEvent", "The video was cancelled; `error` says why."),
  sent(PlanNote, "LivePlanNoteEvent", "A note from the planner: what it decided or repaired on the way."),
]);
export type LiveMessage = z.infer<typeof LiveMessage>;
/** A frame that is an event of the run's log (every frame but the snapshot). */
export type LiveEventMessage = Exclude<LiveMessage, { type: "snapshot" }>;
