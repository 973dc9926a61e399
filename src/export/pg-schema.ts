/**
 * The PostgreSQL schema of the fleet export: the single source for
 * drizzle-kit (drizzle.pg.config.ts), which writes the SQL into
 * migrations/pg/. Every host's index is mirrored into one table, keyed by
 * host; docs/fleet.md documents the columns and the queries they serve.
 * Columns are those of the SQLite `containers` table (src/index/schema.ts),
 * plus host, root and seen_at.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/** One row per container of every exporting host: a copy of that host's index row. */
export const runscContainers = pgTable(
  "runsc_containers",
  {
    /** The exporting host's name (`--host`, default its hostname). */
    host: text("host").notNull(),
    /** runsc's root directory on that host. */
    root: text("root").notNull(),
    containerId: text("container_id").notNull(),
    sandboxId: text("sandbox_id").notNull(),
    /** Stored status; NULL while pending or when the file is invalid. Liveness is not applied. */
    status: text("status"),
    pid: bigint("pid", { mode: "number" }),
    goferPid: bigint("gofer_pid", { mode: "number" }),
    createdAt: text("created_at"),
    bundleDir: text("bundle_dir"),
    owner: text("owner"),
    isRoot: boolean("is_root").notNull(),
    podName: text("pod_name"),
    podNamespace: text("pod_namespace"),
    startTime: text("start_time"),
    /** `spec.annotations` as jsonb: `annotations->>'io.kubernetes.cri.image-name'`. */
    annotations: jsonb("annotations"),
    fileSize: bigint("file_size", { mode: "number" }),
    fileMtimeMs: doublePrecision("file_mtime_ms"),
    fileCtimeMs: doublePrecision("file_ctime_ms"),
    fileIno: bigint("file_ino", { mode: "number" }),
    pending: boolean("pending").notNull(),
    /** When the host's index last read the file (epoch ms, as in SQLite). */
    indexedAt: bigint("indexed_at", { mode: "number" }),
    state: text("state"),
    /** When the exporter last wrote this row. */
    seenAt: timestamp("seen_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.host, t.containerId, t.sandboxId] }),
    // The primary key's collation-aware btree cannot serve LIKE 'p%'; this one can, on every host at once.
    index("runsc_containers_container_id_prefix").on(t.containerId.op("text_pattern_ops")),
    index("runsc_containers_sandbox").on(t.host, t.sandboxId),
  ],
);

/** One row per exporting host: where its root is and when its exporter last reported in. */
export const runscHosts = pgTable("runsc_hosts", {
  host: text("host").primaryKey(),
  root: text("root").notNull(),
  /** When the exporter last finished a full resync of this host. */
  syncedAt: timestamp("synced_at", { withTimezone: true }),
  /** When the exporter last wrote or checked in (every flush, and at least every heartbeat). */
  heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().defaultNow(),
});

/** One row per sandbox per host, as the SQLite `sandboxes` view. */
export const runscSandboxes = pgView("runsc_sandboxes").as((qb) =>
  qb
    .select({
      host: runscContainers.host,
      sandboxId: runscContainers.sandboxId,
      containerCount: sql<number>`count(*)`.as("container_count"),
      hasRoot: sql<boolean>`bool_or(${runscContainers.isRoot})`.as("has_root"),
      pid: sql<number>`max(case when ${runscContainers.isRoot} then ${runscContainers.pid} end)`.as("pid"),
      podName: sql<string>`max(${runscContainers.podName})`.as("pod_name"),
      podNamespace: sql<string>`max(${runscContainers.podNamespace})`.as("pod_namespace"),
      createdAt: sql<string>`min(${runscContainers.createdAt})`.as("created_at"),
    })
    .from(runscContainers)
    .groupBy(runscContainers.host, runscContainers.sandboxId),
);
