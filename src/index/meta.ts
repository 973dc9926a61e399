import type { SqliteDatabase } from "./database.js";

/**
 * Sync metadata in the `meta` table, shared by every process using the index.
 *
 * - names_mtime_ns / names_synced_at_ns: the root directory's mtime, and the
 *   wall clock when it was read, at the last time the rows were brought in
 *   line with the directory listing. While the mtime is unchanged and the sync
 *   was not "racy" (see freshness.ts) no file was created or removed since.
 * - contents_synced_at_ms: start of the last pass that stat'ed every file.
 * - watcher_pid / watcher_drained_at_ms: a live watcher and when it last
 *   drained its inotify queue; see watch/watcher.ts.
 */
export type MetaKey =
  | "names_mtime_ns"
  | "names_synced_at_ns"
  | "contents_synced_at_ms"
  | "watcher_pid"
  | "watcher_drained_at_ms";

export class MetaStore {
  readonly #get;
  readonly #set;
  readonly #delete;

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare("SELECT value FROM meta WHERE key = ?").pluck();
    this.#set = db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.#delete = db.prepare("DELETE FROM meta WHERE key = ?");
  }

  get(key: MetaKey): string | undefined {
    return this.#get.get(key) as string | undefined;
  }

  set(key: MetaKey, value: string | number | bigint): void {
    this.#set.run(key, String(value));
  }

  delete(key: MetaKey): void {
    this.#delete.run(key);
  }

  all(): Record<string, string> {
    return Object.fromEntries(
      (
        this.#get.database.prepare("SELECT key, value FROM meta ORDER BY key").all() as { key: string; value: string }[]
      ).map((r) => [r.key, r.value]),
    );
  }
}
