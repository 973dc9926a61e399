/**
 * The index schema: the single source for drizzle-kit, which writes the SQL
 * in migrations/. Tables and columns are a public SQL surface (`runsc-index
 * query`); docs/sql.md documents each. Times are epoch milliseconds unless
 * the name says otherwise.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, sqliteView, text } from "drizzle-orm/sqlite-core";

/** One row per `<cid>_sandbox:<sid>.state` file in the root directory. */
export const containers = sqliteTable(
  "containers",
  {
    /** Container ID, from the file name (case-sensitive, bytewise order). */
    containerId: text("container_id").notNull(),
    /** Sandbox ID, from the file name; equals container_id for a sandbox's root container. */
    sandboxId: text("sandbox_id").notNull(),
    /** Status as stored in the file, normalized to a string (legacy integers mapped). NULL while pending. Liveness is not applied here. */
    status: text("status"),
    /** Sandbox process ID (`sandbox.pid`). */
    pid: integer("pid"),
    /** Gofer process ID (`goferPid`); 0 once the gofer is gone. */
    goferPid: integer("gofer_pid"),
    /** `createdAt`, RFC3339Nano text as written (sorts by time for one zone). */
    createdAt: text("created_at"),
    /** `bundleDir`. */
    bundleDir: text("bundle_dir"),
    /** `owner`: $USER of the `runsc create` process, often "". */
    owner: text("owner"),
    /** 1 when container_id = sandbox_id (the sandbox's root container). */
    isRoot: integer("is_root", { mode: "boolean" }).notNull(),
    /** `sandbox.podName` (Kubernetes pod name), "" outside Kubernetes. */
    podName: text("pod_name"),
    /** `sandbox.namespace` (Kubernetes namespace). */
    podNamespace: text("pod_namespace"),
    /** `sandbox.startTime`, RFC3339Nano: when `runsc create` started; "" in old files. */
    startTime: text("start_time"),
    /** `spec.annotations` as a JSON object text; query with json_extract(annotations, '$."key"'). */
    annotations: text("annotations"),
    /** Size in bytes of the state file when it was read. */
    fileSize: integer("file_size"),
    /** mtime of the state file in epoch milliseconds (fractional, as Node's Stats.mtimeMs), when it was read. */
    fileMtimeMs: real("file_mtime_ms"),
    /** ctime of the state file in epoch milliseconds (fractional), when it was read. */
    fileCtimeMs: real("file_ctime_ms"),
    /** Inode number of the state file when it was read (a rename over it changes this). */
    fileIno: integer("file_ino"),
    /** 1 while the file is known to have changed (or appeared) since its content was read. */
    pending: integer("pending", { mode: "boolean" }).notNull(),
    /** When the content was last read from the file. */
    indexedAt: integer("indexed_at"),
    /** The whole state JSON, only when reconcile ran with --with-state (costs ~7x reconcile time), else NULL. */
    state: text("state"),
  },
  (t) => [
    primaryKey({ columns: [t.containerId, t.sandboxId] }),
    index("containers_sandbox_id").on(t.sandboxId),
    // Covers the reconciler's scan of every row's file metadata: ~10 MB read instead of ~1.4 KB rows.
    index("containers_files").on(
      t.containerId,
      t.sandboxId,
      t.fileSize,
      t.fileMtimeMs,
      t.fileCtimeMs,
      t.fileIno,
      t.pending,
      t.indexedAt,
      t.status,
    ),
    // Only the pending rows: a watcher reads them on every change, which must not cost a scan of every row.
    index("containers_pending").on(t.containerId, t.sandboxId).where(sql`pending = 1`),
  ],
);

/** Files named like state files that could not be indexed, and why. Never modified by us. */
export const invalidFiles = sqliteTable("invalid_files", {
  /** File name in the root directory. */
  name: text("name").primaryKey(),
  /** Why it is invalid (bad name, not JSON, wrong field type, not a regular file, ...). */
  reason: text("reason").notNull(),
  /** When it was last seen invalid. */
  seen: integer("seen").notNull(),
});

/**
 * The event log: one row per change a runsc-index process observed (see
 * src/index/event-log.ts). Bounded: the oldest rows beyond the last 100,000
 * are deleted. `seq` is never reused (AUTOINCREMENT).
 */
export const events = sqliteTable(
  "events",
  {
    /** Sequence number, increasing; `events --since SEQ` resumes after it. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    /** When the change was observed. */
    atMs: integer("at_ms").notNull(),
    /** created, updated, removed, stopped, overflow or resync. */
    type: text("type").notNull(),
    /** The container's ID; NULL for overflow and resync. */
    containerId: text("container_id"),
    /** The container's sandbox ID; NULL for overflow and resync. */
    sandboxId: text("sandbox_id"),
    /** Stored status before the change (updated, removed, stopped). */
    statusBefore: text("status_before"),
    /** Stored status after the change (created, updated). */
    statusAfter: text("status_after"),
    /** Sandbox process ID as stored (stopped: the process that died). */
    pid: integer("pid"),
    /** resync: JSON counts of the differences the rescan found. */
    detail: text("detail"),
  },
  (t) => [index("events_container").on(t.containerId, t.sandboxId)],
);

/** Sync metadata: key/value pairs described in src/index/meta.ts. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** One row per sandbox: its containers counted, pod and PID from its root container when present. */
export const sandboxes = sqliteView("sandboxes").as((qb) =>
  qb
    .select({
      sandboxId: containers.sandboxId,
      containerCount: sql<number>`count(*)`.as("container_count"),
      hasRoot: sql<number>`max(${containers.isRoot})`.as("has_root"),
      pid: sql<number>`max(case when ${containers.isRoot} then ${containers.pid} end)`.as("pid"),
      podName: sql<string>`max(${containers.podName})`.as("pod_name"),
      podNamespace: sql<string>`max(${containers.podNamespace})`.as("pod_namespace"),
      createdAt: sql<string>`min(${containers.createdAt})`.as("created_at"),
    })
    .from(containers)
    .groupBy(containers.sandboxId),
);
