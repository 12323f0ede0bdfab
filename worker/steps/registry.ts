import type { JobKind } from "../../contracts/live.ts";
import { chunkSteps } from "./chunk.ts";
import { muxSteps } from "./mux.ts";
import { musicSteps } from "./music.ts";
import { planSteps } from "./plan.ts";
import { referenceSteps } from "./reference.ts";
import type { JobSteps } from "./step.ts";
import { stitchSteps } from "./stitch.ts";
import { storyboardSteps } from "./storyboard.ts";
import { soundtrackSteps, voiceSteps } from "./voice.ts";

/** The steps of each job kind: the queue consumer runs the one a message names. */
export const STEPS: Record<JobKind, JobSteps> = {
  plan: planSteps,
  reference: referenceSteps,
  storyboard: storyboardSteps,
  chunk: chunkSteps,
  music: musicSteps,
  voice: voiceSteps,
  soundtrack: soundtrackSteps,
  stitch: stitchSteps,
  mux: muxSteps,
};
