CREATE TABLE "runsc_containers" (
	"host" text NOT NULL,
	"root" text NOT NULL,
	"container_id" text NOT NULL,
	"sandbox_id" text NOT NULL,
	"status" text,
	"pid" bigint,
	"gofer_pid" bigint,
	"created_at" text,
	"bundle_dir" text,
	"owner" text,
	"is_root" boolean NOT NULL,
	"pod_name" text,
	"pod_namespace" text,
	"start_time" text,
	"annotations" jsonb,
	"file_size" bigint,
	"file_mtime_ms" double precision,
	"file_ctime_ms" double precision,
	"file_ino" bigint,
	"pending" boolean NOT NULL,
	"indexed_at" bigint,
	"state" text,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "runsc_containers_host_container_id_sandbox_id_pk" PRIMARY KEY("host","container_id","sandbox_id")
);
--> statement-breakpoint
CREATE TABLE "runsc_hosts" (
	"host" text PRIMARY KEY NOT NULL,
	"root" text NOT NULL,
	"synced_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "runsc_containers_container_id_prefix" ON "runsc_containers" USING btree ("container_id" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "runsc_containers_sandbox" ON "runsc_containers" USING btree ("host","sandbox_id");--> statement-breakpoint
CREATE VIEW "public"."runsc_sandboxes" AS (select "host", "sandbox_id", count(*) as "container_count", bool_or("is_root") as "has_root", max(case when "is_root" then "pid" end) as "pid", max("pod_name") as "pod_name", max("pod_namespace") as "pod_namespace", min("created_at") as "created_at" from "runsc_containers" group by "runsc_containers"."host", "runsc_containers"."sandbox_id");