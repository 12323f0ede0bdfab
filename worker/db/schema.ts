import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
  },
  (t) => [
    index("videos_tenant_created").on(t.tenantId, t.createdAt),
    index("videos_tenant_status").on(t.tenantId, t.status),
    index("videos_idempotency").on(t.tenantId, t.idempotencyKey),
  ],
);

export type VideoRow = typeof videos.$inferSelect;
