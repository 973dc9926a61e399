/**
 * The IDs shell completion offers: one range query on the index's primary
 * key (or the sandbox index), on a read-only connection that never creates,
 * migrates or repairs anything. Used by the `__complete` fast path, which
 * must answer in a few milliseconds.
 */
import type { SqliteDatabase } from "./database.js";
import { nextPrefix } from "./name-index.js";
import { openDatabase } from "./sqlite-driver.js";

/** What is completed: container IDs, or sandbox IDs (for --sandbox). */
export type CompletionKind = "containers" | "sandboxes";

const SQL: Readonly<Record<CompletionKind, string>> = {
  containers:
    "SELECT DISTINCT container_id AS id FROM containers WHERE container_id >= ? AND container_id < ? ORDER BY 1 LIMIT ?",
  sandboxes:
    "SELECT DISTINCT sandbox_id AS id FROM containers WHERE sandbox_id >= ? AND sandbox_id < ? ORDER BY 1 LIMIT ?",
};

/** Past every ASCII ID: the upper bound for an empty prefix. */
const AFTER_ASCII = "\u0080";

/**
 * completionIds returns up to `limit` distinct IDs starting with `prefix`
 * from the index at `file`, in order; [] when there is no usable index (the
 * shell then offers nothing). Never throws.
 */
export function completionIds(file: string, kind: CompletionKind, prefix: string, limit: number): string[] {
  let db: SqliteDatabase | undefined;
  try {
    // The addon loads here, inside the try: a shell completion that cannot load it offers nothing.
    db = openDatabase(file, { readonly: true, fileMustExist: true });
    const end = prefix === "" ? AFTER_ASCII : nextPrefix(prefix);
    return db.prepare(SQL[kind]).pluck().all(prefix, end, limit) as string[];
  } catch {
    return [];
  } finally {
    db?.close();
  }
}
