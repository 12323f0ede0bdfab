CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `videos` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`current_phase` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`prompt` text NOT NULL,
	`duration_s` integer NOT NULL,
	`aspect_ratio` text NOT NULL,
	`quality` text NOT NULL,
	`archetype` text,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`cost_estimate_usd` real,
	`error` text,
	`final_key` text,
	`reference_images` text,
	`idempotency_key` text,
	`request_hash` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `videos_tenant_created` ON `videos` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `videos_tenant_status` ON `videos` (`tenant_id`,`status`);--> statement-breakpoint
CREATE INDEX `videos_idempotency` ON `videos` (`tenant_id`,`idempotency_key`);