import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * D1 is the queryable index; the video's Durable Object is the source of truth for its run.
 * Migrations are generated from this file by `npm run db:generate` (drizzle-kit) and applied
 * with `wrangler d1 migrations apply`.
 */

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull().unique(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_tenant").on(t.tenantId)],
);

export const videos = sqliteTable(
  "videos",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    status: text("status").notNull(),
    currentPhase: text("current_phase").notNull(),
    progress: real("progress").notNull().default(0),
    prompt: text("prompt").notNull(),
    durationS: integer("duration_s").notNull(),
    aspectRatio: text("aspect_ratio").notNull(),
    quality: text("quality").notNull(),
    archetype: text("archetype"),
    costUsd: real("cost_usd").notNull().default(0),
    costEstimateUsd: real("cost_estimate_usd"),
    error: text("error"),
    finalKey: text("final_key"),
    referenceImages: text("reference_images"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    completedAt: integer("completed_at"),
    /** The draft a standard video was rendered from (POST /api/video/{id}/render). */
    renderedFrom: text("rendered_from"),
  },
  (t) => [
    index("videos_tenant_created").on(t.tenantId, t.createdAt),
    index("videos_rendered_from").on(t.renderedFrom),
    index("videos_tenant_status").on(t.tenantId, t.status),
    index("videos_idempotency").on(t.tenantId, t.idempotencyKey),
  ],
);

export type VideoRow = typeof videos.$inferSelect;

/**
 * How long jobs take, observed across videos: per job kind and model, an exponentially
 * weighted mean of each stage's seconds (one sample per video that ran such a job; see
 * run/timings.ts). New runs read it once as the priors of their time-remaining estimate.
 * `model` is the provider model, the planner for `plan`, `media-node` for stitch and mux.
 */
export const jobDurations = sqliteTable(
  "job_durations",
  {
    kind: text("kind").notNull(),
    model: text("model").notNull(),
    startSeconds: real("start_seconds").notNull(),
    providerSeconds: real("provider_seconds").notNull(),
    ingestSeconds: real("ingest_seconds").notNull(),
    samples: integer("samples").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.model] })],
);
