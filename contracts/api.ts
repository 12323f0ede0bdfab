import { z } from "zod";
import { ArchetypeId, AspectRatio, DurationSeconds, VideoSpec } from "./spec.ts";

/** Public HTTP contracts. Field names follow the seed documents. */

const AssetUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      return new URL(value).protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an https: URL");

/** An asset uploaded through `POST /api/assets` is referred to as `asset:<id>`. */
const AssetRef = z.union([AssetUrl, z.string().regex(/^asset:[a-z0-9-]{8,64}$/, "must be an https: URL or asset:<id>")]);

export const BrandAssets = z
  .object({
    product_images: z.array(AssetRef).max(5).default([]),
    character_images: z.array(AssetRef).max(5).default([]),
    logo: AssetRef.nullish(),
  })
  .strict();
export type BrandAssets = z.infer<typeof BrandAssets>;

export const GenerateRequest = z
  .object({
    prompt: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters"),
    duration_s: DurationSeconds.default(30),
    aspect_ratio: AspectRatio.default("16:9"),
    creativity_level: z.number().min(0).max(1).default(0.5),
    archetype: ArchetypeId.nullish(),
    brand_assets: BrandAssets.nullish(),
    quality: z.enum(["draft", "standard"]).default("draft"),
    max_cost_usd: z.number().positive().max(1000).nullish(),
    /** Plan and estimate only: no video is created. */
    dry_run: z.boolean().default(false),
  })
  .strict();
export type GenerateRequest = z.infer<typeof GenerateRequest>;
export type GenerateRequestInput = z.input<typeof GenerateRequest>;

export const VideoStatus = z.enum(["queued", "processing", "complete", "failed", "cancelled"]);
export type VideoStatus = z.infer<typeof VideoStatus>;

export const Phase = z.enum([
  "queued",
  "planning",
  "generating_references",
  "storyboarding",
  "generating_chunks",
  "stitching",
  "adding_music",
  "complete",
  "failed",
  "cancelled",
]);
export type Phase = z.infer<typeof Phase>;

export const GenerateResponse = z.object({
  video_id: z.string(),
  status: z.literal("queued"),
  message: z.string(),
});

export const StatusResponse = z.object({
  video_id: z.string(),
  status: VideoStatus,
  progress: z.number().min(0).max(100),
  current_phase: Phase,
  estimated_time_remaining: z.number().nullable(),
  error: z.string().nullable(),
  cost_usd: z.number(),
  cost_estimate_usd: z.number().nullable(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const ReferenceImageAnalysis = z.object({
  character_description: z.string(),
  product_features: z.string(),
  colors: z.array(z.string().regex(/^#[0-9A-F]{6}$/)),
  style: z.string(),
  environment: z.string(),
});
export type ReferenceImageAnalysis = z.infer<typeof ReferenceImageAnalysis>;

export const ReferenceImage = z.object({
  url: z.string(),
  type: z.enum(["character", "product", "environment", "logo"]),
  source: z.string(),
  analysis: ReferenceImageAnalysis.nullable(),
});
export type ReferenceImage = z.infer<typeof ReferenceImage>;

export const CostEstimate = z.object({
  total_usd: z.number(),
  by_phase: z.record(z.string(), z.number()),
});
export type CostEstimate = z.infer<typeof CostEstimate>;

export const VideoResponse = z.object({
  video_id: z.string(),
  status: VideoStatus,
  current_phase: Phase,
  progress: z.number(),
  prompt: z.string(),
  final_video_url: z.string().nullable(),
  stitched_video_url: z.string().nullable(),
  cost_usd: z.number(),
  cost_estimate: CostEstimate.nullable(),
  cost_by_phase: z.record(z.string(), z.number()),
  generation_time_seconds: z.number().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  error: z.string().nullable(),
  spec: VideoSpec.nullable(),
  storyboard_images: z.array(z.string()),
  chunk_urls: z.array(z.string()),
  reference_images: z.array(ReferenceImage),
  consistency_context: z.string().nullable(),
});
export type VideoResponse = z.infer<typeof VideoResponse>;
