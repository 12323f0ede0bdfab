import { z } from "zod";
import { type ClipContract, clipMaxOutputFrames } from "./spec.ts";
import flux11Pro from "./models/black-forest-labs__flux-1.1-pro.json" with { type: "json" };
import fluxDev from "./models/black-forest-labs__flux-dev.json" with { type: "json" };
import fluxSchnell from "./models/black-forest-labs__flux-schnell.json" with { type: "json" };
import nanoBananaPro from "./models/google__nano-banana-pro.json" with { type: "json" };
import musicgen from "./models/meta__musicgen.json" with { type: "json" };
import speech02Turbo from "./models/minimax__speech-02-turbo.json" with { type: "json" };
import sd35Large from "./models/stability-ai__stable-diffusion-3.5-large.json" with { type: "json" };
import wan22I2vFast from "./models/wan-video__wan-2.2-i2v-fast.json" with { type: "json" };

/**
 * The hosted models adreel knows, as their published contracts say: official or community,
 * pinned version, the route Replicate accepts, the vendored input JSON schema, output facts and
 * list price. The facts, their sources and dates live in `contracts/models/*.json` (researched
 * 2026-12-04, see docs/MODELS.md); this module parses every file with one schema, so a fact
 * missing or mistyped there fails the build's tests instead of a paid run.
 */

export const ModelKind = z.enum(["image", "video", "audio", "speech"]);
export type ModelKind = z.infer<typeof ModelKind>;

const Source = z.object({ url: z.string().min(1), what: z.string().min(1) });

/** A JSON schema object as vendored (validated by ajv in Node and @cfworker/json-schema in workerd). */
const InputSchema = z
  .object({ type: z.literal("object"), properties: z.record(z.string(), z.record(z.string(), z.unknown())), required: z.array(z.string()).optional() })
  .passthrough();

/** How Replicate bills the model, as published. */
export const ListPrice = z.discriminatedUnion("unit", [
  z.object({ unit: z.literal("per_image"), usd: z.number().positive(), source: z.string().min(1), tiers: z.array(z.object({ resolution: z.string(), usd: z.number() })).optional() }),
  z.object({
    unit: z.literal("per_video"),
    usd: z.number().positive(),
    source: z.string().min(1),
    tiers: z.array(z.object({ resolution: z.string(), variant: z.string(), usd: z.number().positive() })),
  }),
  z.object({ unit: z.literal("per_gpu_second"), usd: z.number().positive(), source: z.string().min(1) }),
  z.object({ unit: z.literal("per_1k_input_characters"), usd: z.number().positive(), source: z.string().min(1) }),
]);
export type ListPrice = z.infer<typeof ListPrice>;

export const ModelContract = z
  .object({
    model: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/),
    official: z.boolean(),
    version: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    route: z.enum(["models", "versions"]),
    kind: ModelKind,
    retrieved: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    sources: z.array(Source).min(1),
    input_schema: InputSchema,
    output: z.object({ schema: z.record(z.string(), z.unknown()).nullable(), format: z.string().min(1) }).passthrough(),
    price: ListPrice,
    unknowns: z.array(z.string()),
  })
  .passthrough()
  .superRefine((contract, context) => {
    // Replicate's rule (replicate-api.json routes): only official models run on the model-scoped route.
    if (contract.official !== (contract.route === "models")) context.addIssue({ code: "custom", path: ["route"], message: "official models use the models route, community models the versions route" });
    if (!contract.official && !contract.version) context.addIssue({ code: "custom", path: ["version"], message: "a community model needs a pinned version" });
  });
export type ModelContract = z.infer<typeof ModelContract>;

function parse(raw: unknown): ModelContract {
  const parsed = ModelContract.safeParse(raw);
  if (!parsed.success) throw new Error(`contracts/models: ${(raw as { model?: string }).model ?? "?"}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** Every researched model, by `owner/name`. */
export const MODEL_CONTRACTS: Readonly<Record<string, ModelContract>> = Object.fromEntries(
  [nanoBananaPro, flux11Pro, fluxSchnell, fluxDev, sd35Large, wan22I2vFast, musicgen, speech02Turbo].map((raw) => {
    const contract = parse(raw);
    return [contract.model, contract];
  }),
);

/** `owner/name` of a model reference (`owner/name`, `owner/name:version`). */
export function modelName(reference: string): string {
  return reference.split(":")[0] ?? reference;
}

/** The pinned version in a reference, if it names one. */
export function modelVersion(reference: string): string | undefined {
  return reference.includes(":") ? reference.slice(reference.indexOf(":") + 1) : undefined;
}

export function contractOf(reference: string): ModelContract | undefined {
  return MODEL_CONTRACTS[modelName(reference)];
}

export type { ClipContract };

/** The video models' clip contracts; the draft video model renders at the ad's own rate. */
export const CLIP_CONTRACTS: Readonly<Record<string, ClipContract>> = {
  "wan-video/wan-2.2-i2v-fast": clipFromSchema("wan-video/wan-2.2-i2v-fast"),
  // Its own contract (draft/models.ts DraftVideoInput): any length from half a second to 30 s
  // at 24 fps, so a plan made for any hosted model also renders as a draft, frame for frame.
  "adreel/draft-video": { model: "adreel/draft-video", fps: 24, min_frames: 1, max_frames: 24 * 30 },
};

function clipFromSchema(model: string): ClipContract {
  const properties = MODEL_CONTRACTS[model]!.input_schema.properties;
  const frames = properties.num_frames as { minimum: number; maximum: number };
  // Wan 2.2 A14B generates motion for 16 fps (Wan-Video/Wan2.2#13), the schema's default.
  const fps = (properties.frames_per_second as { default: number }).default;
  return { model, fps, min_frames: frames.minimum, max_frames: frames.maximum };
}

export function clipContractOf(reference: string): ClipContract | undefined {
  return CLIP_CONTRACTS[modelName(reference)];
}

/** Most frames at the ad's rate (`fps`) one prediction of the video model covers; 48 (2 s) for a model without a contract. */
export function maxChunkFramesOf(reference: string): number {
  const contract = clipContractOf(reference);
  return contract ? clipMaxOutputFrames(contract) : 48;
}
