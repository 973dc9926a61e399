CREATE TABLE `containers` (
	`container_id` text NOT NULL,
	`sandbox_id` text NOT NULL,
	`status` text,
	`pid` integer,
	`gofer_pid` integer,
	`created_at` text,
	`bundle_dir` text,
	`owner` text,
	`is_root` integer NOT NULL,
	`pod_name` text,
	`pod_namespace` text,
	`start_time` text,
	`annotations` text,
	`file_size` integer,
	`file_mtime_ms` real,
	`file_ctime_ms` real,
	`file_ino` integer,
	`pending` integer NOT NULL,
	`indexed_at` integer,
	`state` text,
	PRIMARY KEY(`container_id`, `sandbox_id`)
);
--> statement-breakpoint
CREATE INDEX `containers_sandbox_id` ON `containers` (`sandbox_id`);--> statement-breakpoint
CREATE INDEX `containers_files` ON `containers` (`container_id`,`sandbox_id`,`file_size`,`file_mtime_ms`,`file_ctime_ms`,`file_ino`,`pending`,`indexed_at`,`status`);--> statement-breakpoint
CREATE TABLE `invalid_files` (
	`name` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`seen` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE VIEW `sandboxes` AS select "sandbox_id", count(*) as "container_count", max("is_root") as "has_root", max(case when "is_root" then "pid" end) as "pid", max("pod_name") as "pod_name", max("pod_namespace") as "pod_namespace", min("created_at") as "created_at" from "containers" group by "containers"."sandbox_id";