/**
 * Whole `containers` rows, file metadata included, for copying the index
 * elsewhere (the PostgreSQL export). Positional arrays in EXPORT_COLUMNS
 * order: cheap to read 100,000 of and to transpose into column arrays.
 */
import type { Candidate } from "../errors.js";
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

function prepare(db: SqliteDatabase) {
  const select = `SELECT ${EXPORT_COLUMNS.join(", ")} FROM containers`;
  return {
    all: db.prepare(select).raw(),
    one: db.prepare(`${select} WHERE container_id = ? AND sandbox_id = ?`).raw(),
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

/** exportRows returns every row of the index, in one read transaction (a consistent snapshot). */
export function exportRows(db: SqliteDatabase): ExportRow[] {
  return statementsOf(db).all.all() as ExportRow[];
}

/** exportRow returns one container's row, or undefined when the index has none. */
export function exportRow(db: SqliteDatabase, c: Candidate): ExportRow | undefined {
  return statementsOf(db).one.get(c.containerId, c.sandboxId) as ExportRow | undefined;
}
