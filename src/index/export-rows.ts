/**
 * Whole `containers` rows, file metadata included, for copying the index
 * elsewhere (the PostgreSQL export), and the rows' identities to diff with
 * the copy. Positional arrays: cheap to read 100,000 of and to transpose
 * into column arrays.
 */
import type { IdPair } from "../ids/id.js";
import type { SqliteDatabase } from "./database.js";

/** The columns of an ExportRow, in order (SQLite names, which the PostgreSQL table shares). */
export const EXPORT_COLUMNS = [
  "container_id",
  "sandbox_id",
  "status",
  "pid",
  "gofer_pid",
  "created_at",
  "bundle_dir",
  "owner",
  "is_root",
  "pod_name",
  "pod_namespace",
  "start_time",
  "annotations",
  "file_size",
  "file_mtime_ms",
  "file_ctime_ms",
  "file_ino",
  "pending",
  "indexed_at",
  "state",
] as const;

export type ExportValue = string | number | null;
/** One row, values in EXPORT_COLUMNS order (is_root and pending as 0/1). */
export type ExportRow = readonly ExportValue[];

const statements = new WeakMap<SqliteDatabase, ReturnType<typeof prepare>>();

/** What identifies a row's content: its IDs, then the file's stat, pending, and when it was read. */
export const IDENTITY_COLUMNS = [
  "container_id",
  "sandbox_id",
  "file_size",
  "file_mtime_ms",
  "file_ctime_ms",
  "file_ino",
  "pending",
  "indexed_at",
] as const;

function prepare(db: SqliteDatabase) {
  const select = `SELECT ${EXPORT_COLUMNS.join(", ")} FROM containers`;
  return {
    one: db.prepare(`${select} WHERE container_id = ? AND sandbox_id = ?`).raw(),
    // Served by the covering index containers_files: no row (annotations, state) is read.
    identities: db.prepare(`SELECT ${IDENTITY_COLUMNS.join(", ")} FROM containers`).raw(),
  };
}

function statementsOf(db: SqliteDatabase) {
  let s = statements.get(db);
  if (s === undefined) {
    s = prepare(db);
    statements.set(db, s);
  }
  return s;
}

/**
 * exportIdentities returns every row's IDENTITY_COLUMNS in one read (a
 * consistent snapshot), without the row contents: a diff fetches only the
 * rows that differ, so an index holding whole state JSON (--with-state) is
 * never loaded at once.
 */
export function exportIdentities(db: SqliteDatabase): ExportRow[] {
  return statementsOf(db).identities.all() as ExportRow[];
}

/** exportRow returns one container's row, or undefined when the index has none. */
export function exportRow(db: SqliteDatabase, c: IdPair): ExportRow | undefined {
  return statementsOf(db).one.get(c.containerId, c.sandboxId) as ExportRow | undefined;
}
