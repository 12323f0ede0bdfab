import { z } from "zod";
import { GenerateRequest } from "../../contracts/api.ts";
import { PlanNote } from "../../contracts/live.ts";
import { ClipContract, VideoSpec } from "../../contracts/spec.ts";

/**
 * What a planner needs from a generate request (same names, same defaults). Not strict like
 * GenerateRequest: a whole generate request may be passed and its other fields are ignored.
 */
const { prompt, duration_s, aspect_ratio, creativity_level, archetype, copy, voiceover, captions } = GenerateRequest.shape;
export const PlanRequest = z.object({
  prompt,
  duration_s,
  aspect_ratio,
  creativity_level,
  archetype,
  copy,
  voiceover,
  captions,
  /** The video model's clip contract to time the beats for (planning/plan.ts chooses it); absent: 2 s chunks. */
  clip: ClipContract.optional(),
});
export type PlanRequest = z.infer<typeof PlanRequest>;
export type PlanRequestInput = z.input<typeof PlanRequest>;

/** Something the planner decided or repaired on the way, e.g. a fallback with its reason. The run forwards each to the live socket, so its types are the socket's. */
export const PlanEvent = PlanNote;
export type PlanEvent = PlanNote;

/** Language-model tokens spent while planning (absent for the local planner). */
export const PlanUsage = z.object({
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
});
export type PlanUsage = z.infer<typeof PlanUsage>;

export const PlanResult = z.object({
  spec: VideoSpec,
  events: z.array(PlanEvent),
  usage: PlanUsage.optional(),
});
export type PlanResult = z.infer<typeof PlanResult>;

export interface Planner {
  plan(request: PlanRequestInput): Promise<PlanResult>;
}
