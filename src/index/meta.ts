import type { SqliteDatabase } from "./database.js";

/**
 * Sync metadata in the `meta` table, shared by every process using the index.
 *
 * - names_mtime_ns / names_synced_at_ns: the root directory's mtime, and the
 *   wall clock when it was read, at the last time the rows were brought in
 *   line with the directory listing. While the mtime is unchanged and the sync
 *   was not "racy" (see freshness.ts) no file was created or removed since.
 * - contents_synced_at_ms: start of the last pass that stat'ed every file.
 * - watcher:<pid>:<start ticks>:<root dev>:<root ino>: one per live watcher,
 *   the time it last began a drain it has committed; see freshness/vouch.ts.
 * - events_trimmed_through: the highest event seq deleted; see event-log.ts.
 * - clean_pass: JSON, the last reconcile pass that found every row exact:
 *   its files' digest, the index's last event and row count then; see
 *   reconcile.ts (CleanPass).
 */
export type MetaKey =
  | "names_mtime_ns"
  | "names_synced_at_ns"
  | "contents_synced_at_ms"
  | "events_trimmed_through"
  | "clean_pass"
  | `watcher:${string}`;

export class MetaStore {
  readonly #get;
  readonly #set;
  readonly #delete;
  readonly #range;

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare("SELECT value FROM meta WHERE key = ?").pluck();
    this.#set = db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.#delete = db.prepare("DELETE FROM meta WHERE key = ?");
    this.#range = db.prepare("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key");
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

  /** withPrefix returns the pairs whose key starts with `prefix` (ASCII), by key. */
  withPrefix(prefix: string): { key: string; value: string }[] {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return this.#range.all(prefix, end) as { key: string; value: string }[];
  }

  all(): Record<string, string> {
    return Object.fromEntries(
      (
        this.#get.database.prepare("SELECT key, value FROM meta ORDER BY key").all() as { key: string; value: string }[]
      ).map((r) => [r.key, r.value]),
    );
  }
}
