ALTER TABLE `videos` ADD `rendered_from` text;--> statement-breakpoint
CREATE INDEX `videos_rendered_from` ON `videos` (`rendered_from`);