import { openIndexDatabase, openMemoryIndexDatabase, removeDatabaseFiles } from "./database.js";
import type { IndexPlace } from "./index-file.js";
import { SqliteIndex } from "./sqlite-index.js";

/**
 * openIndex opens the database and prepares every statement. A file that
 * claims our schema version but lacks a column (hand-edited, or from a
 * development build) fails to prepare: it is recreated like a corrupt one.
 */
export function openIndex(indexPath: string, place?: IndexPlace): SqliteIndex {
  const { db } = openIndexDatabase(indexPath, place);
  try {
    return new SqliteIndex(db);
  } catch (e) {
    db.close();
    if (!isSqliteError(e)) throw e;
    return recreateIndex(indexPath, place);
  }
}

/** openMemoryIndex: an empty index in memory, for a read-only store without an index of its own. */
export function openMemoryIndex(): SqliteIndex {
  return new SqliteIndex(openMemoryIndexDatabase());
}

/**
 * recreateIndex deletes the index files (an index already opened, so proved
 * ours) and opens a new, empty index (rebuilt from the files on use).
 */
export function recreateIndex(indexPath: string, place?: IndexPlace): SqliteIndex {
  removeDatabaseFiles(indexPath);
  return new SqliteIndex(openIndexDatabase(indexPath, place).db);
}

/**
 * isCorruption: SQLite found the file damaged. Open reads only the schema,
 * so damage further in shows up during use.
 */
export function isCorruption(e: unknown): boolean {
  for (let err = e; err instanceof Error; err = err.cause) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) return true;
  }
  return false;
}

export function isSqliteError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}
