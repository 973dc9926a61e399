CREATE TABLE `events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at_ms` integer NOT NULL,
	`type` text NOT NULL,
	`container_id` text,
	`sandbox_id` text,
	`status_before` text,
	`status_after` text,
	`pid` integer,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `events_container` ON `events` (`container_id`,`sandbox_id`);--> statement-breakpoint
CREATE INDEX `containers_pending` ON `containers` (`container_id`,`sandbox_id`) WHERE pending = 1;