CREATE TABLE `job_durations` (
	`kind` text NOT NULL,
	`model` text NOT NULL,
	`start_seconds` real NOT NULL,
	`provider_seconds` real NOT NULL,
	`ingest_seconds` real NOT NULL,
	`samples` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`kind`, `model`)
);
