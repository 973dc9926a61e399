/**
 * SqliteIndex: the `containers` table and friends behind prepared statements.
 * Prefix lookups use the range form `container_id >= p AND container_id < next(p)`
 * so SQLite SEARCHes the primary key (LIKE would scan, and `_` is a wildcard there).
 * Never run ANALYZE here: STAT4 makes every bound range query re-prepare.
 */
import type Database from "better-sqlite3";
import { RACY_MS } from "../freshness/racy.js";
import { NAME_SEPARATOR, parseStateFileName } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import { lazyProperties } from "../lazy.js";
import type { FileInfo } from "../state/file-info.js";
import type { SqliteDatabase } from "./database.js";
import { EventLog, isSameVersion, isStaleRead } from "./event-log.js";
import { MetaStore } from "./meta.js";
import { type NameIndex, nextPrefix } from "./name-index.js";
import type { ContainerRow, RowValues } from "./rows.js";

/**
 * A row's file metadata as the reconciler compares it with a stat: one flat
 * array per row, since a pass builds one for every row in the index.
 * `mustRead` is 1 when the file must be read again whatever its stat says:
 * pending or read within RACY_MS of its mtime. An invalid file (status NULL)
 * is not read again while its stat is unchanged: invalid_files keeps its reason.
 */
export type FileRow = readonly [
  name: string,
  size: number | null,
  mtimeMs: number | null,
  ctimeMs: number | null,
  ino: number | null,
  pending: number,
  mustRead: number,
];

/** idPairOfRow: the IDs are not fetched per row (a pass does not need them), but the name holds them. */
export function idPairOfRow(r: FileRow): IdPair {
  return parseStateFileName(r[0])!;
}

export function isPendingRow(r: FileRow): boolean {
  return r[5] !== 0;
}

/** fileInfoOfRow is the stat recorded in a row, or null if its file was never read. */
export function fileInfoOfRow(r: FileRow): FileInfo | null {
  const [, size, mtimeMs, ctimeMs, ino] = r;
  return size === null || mtimeMs === null || ctimeMs === null || ino === null ? null : { size, mtimeMs, ctimeMs, ino };
}

export interface RowFilter {
  readonly sandboxId?: string | undefined;
  /** Leave the annotations unread (null): ~670 bytes a row that a listing without them need not decode. */
  readonly skipAnnotations?: boolean | undefined;
}

/** Every column of the containers table, in the order of RowValues then pending. */
export const CONTAINER_COLUMNS = `container_id, sandbox_id, status, pid, gofer_pid, created_at, bundle_dir, owner, is_root,
  pod_name, pod_namespace, start_time, annotations, file_size, file_mtime_ms, file_ctime_ms, file_ino, indexed_at, state,
  pending`;

/** A ContainerRow's columns, in the order containerRowOf reads them. */
const ROW_COLUMNS = `container_id, sandbox_id, status, pid, gofer_pid, created_at, bundle_dir, owner, is_root,
  pod_name, pod_namespace, start_time, annotations, pending`;

/**
 * containerRowOf builds a row from a raw (array) result. better-sqlite3
 * builds row objects key by key from C++: ~3 µs a row more, a third of a
 * 100,000-container listing.
 */
function containerRowOf(r: unknown[]): ContainerRow {
  return {
    containerId: r[0] as string,
    sandboxId: r[1] as string,
    status: r[2] as ContainerRow["status"],
    pid: r[3] as number | null,
    goferPid: r[4] as number | null,
    createdAt: r[5] as string | null,
    bundleDir: r[6] as string | null,
    owner: r[7] as string | null,
    isRoot: r[8] as number,
    podName: r[9] as string | null,
    podNamespace: r[10] as string | null,
    startTime: r[11] as string | null,
    annotations: r[12] as string | null,
    pending: r[13] as number,
  };
}

export class SqliteIndex implements NameIndex {
  readonly db: SqliteDatabase;
  readonly #transaction: Database.Transaction<(fn: () => unknown) => unknown>;
  readonly meta: MetaStore;
  /** The event log, written in the same transaction as the row changes it records. */
  readonly events: EventLog;
  readonly #s;

  constructor(db: SqliteDatabase) {
    this.db = db;
    this.meta = new MetaStore(db);
    this.events = new EventLog(db, this.meta);
    // Statements are prepared on first use; one naming every column is prepared now: an index whose table
    // lacks one fails here, where openIndex rebuilds it, not in the middle of a command.
    db.prepare(`SELECT ${CONTAINER_COLUMNS} FROM containers LIMIT 0`);
    this.#s = prepareStatements(db);
    // One wrapper for every write: better-sqlite3 builds a new one on each transaction() call.
    this.#transaction = db.transaction((fn: () => unknown) => fn());
  }

  withPrefix(prefix: string, sandboxId: string | undefined, limit: number): IdPair[] {
    const end = nextPrefix(prefix);
    return (
      sandboxId === undefined
        ? this.#s.range.all(prefix, end, limit)
        : this.#s.rangeInSandbox.all(prefix, end, sandboxId, limit)
    ) as IdPair[];
  }

  exact(containerId: string, sandboxId: string | undefined): IdPair[] {
    return (
      sandboxId === undefined ? this.#s.exact.all(containerId) : this.#s.exactInSandbox.all(containerId, sandboxId)
    ) as IdPair[];
  }

  /**
   * holds: the row already has the file version `row` was read from, read
   * long enough after that version was written to be trusted (RACY_MS) and
   * not pending. Writing `row` would then change only indexed_at: a read
   * (`state`, `show`) skips the write transaction.
   */
  holds(row: RowValues): boolean {
    const prior = this.events.priorOf(row[0], row[1]);
    return (
      prior !== undefined &&
      prior.pending === 0 &&
      isSameVersion(prior, row) &&
      prior.indexedAt !== null &&
      prior.mtimeMs !== null &&
      prior.indexedAt - prior.mtimeMs > RACY_MS
    );
  }

  /** upsert writes a row read from its file (pending cleared), logging `created`/`updated` for a new file version. */
  upsert(row: RowValues): void {
    const prior = this.events.priorOf(row[0], row[1]);
    if (isStaleRead(prior, row)) return;
    this.#s.upsert.run(row);
    this.events.logFileVersion(prior, row);
  }

  /**
   * insertNew writes the row of a container the index has no row for, and
   * logs its `created`: two statements, where upsert needs a SELECT of the
   * prior row first (a first build writes 100,000 of them). Returns false,
   * writing nothing, when a row exists (another process wrote it
   * meanwhile): then upsert it.
   */
  insertNew(row: RowValues): boolean {
    if (this.#s.insertNew.run(row).changes === 0) return false;
    this.events.logFileVersion(undefined, row);
    return true;
  }

  /** noteInvalid keeps a row for a file that exists but cannot be read (status NULL); invalid_files says why. */
  noteInvalid(c: IdPair, file: FileInfo | undefined): void {
    this.#s.noteInvalid.run({
      containerId: c.containerId,
      sandboxId: c.sandboxId,
      isRoot: (c.containerId as string) === c.sandboxId ? 1 : 0,
      ...(file ? fileParams(file) : { fileSize: null, fileMtimeMs: null, fileCtimeMs: null, fileIno: null }),
      indexedAt: Date.now(),
    });
  }

  /** notePending records that a file exists (or changed) whose content is not read yet. */
  notePending(c: IdPair): void {
    this.#s.notePending.run(c.containerId, c.sandboxId, (c.containerId as string) === c.sandboxId ? 1 : 0);
  }

  /** remove deletes a row, logging `removed` if it held a file version. Returns whether a row existed. */
  remove(c: IdPair): boolean {
    const prior = this.events.priorOf(c.containerId, c.sandboxId);
    if (prior === undefined) return false;
    this.#s.remove.run(c.containerId, c.sandboxId);
    this.events.logRemoval(prior, c.containerId, c.sandboxId);
    return true;
  }

  /**
   * indexedFiles maps each row's state-file name to its file metadata, for
   * diffing with a directory scan; with `paged` it yields the rows a page at
   * a time instead (primary-key order), so a pass over 100,000 never holds
   * them all, and each page is a finished query: the caller may await
   * between pages.
   */
  indexedFiles(): Map<string, FileRow>;
  indexedFiles(paged: true): Generator<FileRow[]>;
  indexedFiles(paged?: true): Map<string, FileRow> | Generator<FileRow[]> {
    if (paged) return this.#filePages();
    const out = new Map<string, FileRow>();
    // raw() rows: this runs over every row on each incremental pass.
    for (const r of this.#s.files.raw().all() as FileRow[]) out.set(r[0], r);
    return out;
  }

  *#filePages(): Generator<FileRow[]> {
    let after: readonly unknown[] = ["", ""];
    for (;;) {
      // Each row ends with its container and sandbox IDs, where the next page starts.
      const page = this.#s.filesPage.raw().all(...after, FILE_PAGE) as (FileRow & unknown[])[];
      if (page.length > 0) yield page;
      if (page.length < FILE_PAGE) return;
      after = page[page.length - 1]!.slice(7, 9);
    }
  }

  has(c: IdPair): boolean {
    return this.#s.has.get(c.containerId, c.sandboxId) !== undefined;
  }

  indexedFile(c: IdPair): FileRow | undefined {
    return this.#s.fileOf.raw().get(c.containerId, c.sandboxId) as FileRow | undefined;
  }

  pendingNames(): IdPair[] {
    return this.#s.pending.all() as IdPair[];
  }

  rows(filter: RowFilter = {}): ContainerRow[] {
    return (this.#s.rows.all({ sandboxId: filter.sandboxId ?? null }) as unknown[][]).map(containerRowOf);
  }

  /**
   * eachRow yields the rows of rows() one at a time, straight from SQLite, so
   * a listing of 100,000 never holds them all. The connection is busy from
   * the first next() until the iteration ends: run nothing else on this index
   * meanwhile. An iterator object, not a generator: V8 optimizes its next()
   * (a generator's loop stays unoptimized, ~1 µs a row per layer).
   */
  eachRow(filter: RowFilter = {}): IterableIterator<ContainerRow> {
    const statement = filter.skipAnnotations ? this.#s.rowsWithoutAnnotations : this.#s.rows;
    const params = { sandboxId: filter.sandboxId ?? null };
    let rows: IterableIterator<unknown[]> | undefined;
    const iterator: IterableIterator<ContainerRow> = {
      next() {
        rows ??= statement.iterate(params) as IterableIterator<unknown[]>;
        const r = rows.next();
        return r.done ? { done: true, value: undefined } : { done: false, value: containerRowOf(r.value) };
      },
      return(value?: unknown) {
        rows?.return?.();
        return { done: true, value };
      },
      [Symbol.iterator]: () => iterator,
    };
    return iterator;
  }

  row(c: IdPair): ContainerRow | undefined {
    const r = this.#s.row.get(c.containerId, c.sandboxId) as unknown[] | undefined;
    return r && containerRowOf(r);
  }

  sandboxIds(): string[] {
    return this.#s.sandboxIds.pluck().all() as string[];
  }

  count(): number {
    return this.#s.count.pluck().get() as number;
  }

  recordInvalid(name: string, reason: string, seenMs = Date.now()): void {
    this.#s.recordInvalid.run(name, reason, seenMs);
  }

  clearInvalid(name: string): void {
    this.#s.clearInvalid.run(name);
  }

  /** keepOnlyInvalid deletes invalid_files rows not named in `names` (they were fixed or removed). */
  keepOnlyInvalid(names: ReadonlySet<string>): void {
    for (const { name } of this.invalidFiles()) if (!names.has(name)) this.clearInvalid(name);
  }

  invalidFiles(): { name: string; reason: string; seen: number }[] {
    return this.#s.invalid.all() as { name: string; reason: string; seen: number }[];
  }

  /** write runs fn in a transaction that takes the write lock up front (BEGIN IMMEDIATE). */
  write<T>(fn: () => T): T {
    return this.#transaction.immediate(fn) as T;
  }

  /**
   * manyWrites runs fn, whose transactions write thousands of rows, with
   * the WAL checkpointed every ~40 MB instead of SQLite's ~4 MB. A page
   * written by several of those transactions is then copied into the
   * database once per checkpoint rather than nearly once per transaction:
   * the sandbox_id index takes IDs in random order, so a first build
   * rewrites most of its pages in every transaction. At 100,000 files that
   * cut the page writes of a full pass by more than half.
   */
  async manyWrites<T>(fn: () => Promise<T>): Promise<T> {
    this.db.pragma(`wal_autocheckpoint = ${BULK_CHECKPOINT_PAGES}`);
    try {
      return await fn();
    } finally {
      this.db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
    }
  }
}

/** SQLite's default WAL checkpoint interval, in pages, and the one for manyWrites. */
const SQLITE_CHECKPOINT_PAGES = 1_000;
const BULK_CHECKPOINT_PAGES = 10_000;

/** Rows per page of indexedFiles(true). */
const FILE_PAGE = 4_096;

function fileParams(file: FileInfo) {
  return { fileSize: file.size, fileMtimeMs: file.mtimeMs, fileCtimeMs: file.ctimeMs, fileIno: file.ino };
}

function prepareStatements(db: Database.Database) {
  const rangeSql =
    "SELECT container_id AS containerId, sandbox_id AS sandboxId FROM containers WHERE container_id >= ? AND container_id < ?";
  const fileColumns = `container_id || '${NAME_SEPARATOR}' || sandbox_id || '.state', file_size,
    file_mtime_ms, file_ctime_ms, file_ino, pending,
    pending OR indexed_at IS NULL OR indexed_at - file_mtime_ms <= ${RACY_MS}`;
  const fileSql = `SELECT ${fileColumns} FROM containers`;
  return lazyProperties({
    range: () => db.prepare(`${rangeSql} ORDER BY container_id, sandbox_id LIMIT ?`),
    rangeInSandbox: () => db.prepare(`${rangeSql} AND sandbox_id = ? ORDER BY container_id, sandbox_id LIMIT ?`),
    exact: () =>
      db.prepare(
        "SELECT container_id AS containerId, sandbox_id AS sandboxId FROM containers WHERE container_id = ? ORDER BY sandbox_id",
      ),
    exactInSandbox: () =>
      db.prepare(
        "SELECT container_id AS containerId, sandbox_id AS sandboxId FROM containers WHERE container_id = ? AND sandbox_id = ?",
      ),
    upsert: () =>
      db.prepare(`INSERT INTO containers (${CONTAINER_COLUMNS})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
      ON CONFLICT (container_id, sandbox_id) DO UPDATE SET status = excluded.status, pid = excluded.pid,
        gofer_pid = excluded.gofer_pid, created_at = excluded.created_at, bundle_dir = excluded.bundle_dir,
        owner = excluded.owner, pod_name = excluded.pod_name, pod_namespace = excluded.pod_namespace,
        start_time = excluded.start_time, annotations = excluded.annotations, file_size = excluded.file_size,
        file_mtime_ms = excluded.file_mtime_ms, file_ctime_ms = excluded.file_ctime_ms, file_ino = excluded.file_ino,
        pending = 0, indexed_at = excluded.indexed_at,
        state = CASE WHEN excluded.state IS NOT NULL THEN excluded.state
          WHEN file_ino = excluded.file_ino AND file_mtime_ms = excluded.file_mtime_ms AND file_size = excluded.file_size
          THEN state END`),
    insertNew: () =>
      db.prepare(`INSERT INTO containers (${CONTAINER_COLUMNS})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
      ON CONFLICT (container_id, sandbox_id) DO NOTHING`),
    notePending: () =>
      db.prepare(`INSERT INTO containers (container_id, sandbox_id, is_root, pending) VALUES (?, ?, ?, 1)
      ON CONFLICT (container_id, sandbox_id) DO UPDATE SET pending = 1`),
    noteInvalid: () =>
      db.prepare(`INSERT INTO containers (container_id, sandbox_id, is_root, pending, file_size, file_mtime_ms,
        file_ctime_ms, file_ino, indexed_at)
      VALUES (@containerId, @sandboxId, @isRoot, 0, @fileSize, @fileMtimeMs, @fileCtimeMs, @fileIno, @indexedAt)
      ON CONFLICT (container_id, sandbox_id) DO UPDATE SET status = NULL, pid = NULL, gofer_pid = NULL, created_at = NULL,
        bundle_dir = NULL, owner = NULL, pod_name = NULL, pod_namespace = NULL, start_time = NULL, annotations = NULL,
        file_size = excluded.file_size, file_mtime_ms = excluded.file_mtime_ms, file_ctime_ms = excluded.file_ctime_ms,
        file_ino = excluded.file_ino, pending = 0, indexed_at = excluded.indexed_at, state = NULL`),
    remove: () => db.prepare("DELETE FROM containers WHERE container_id = ? AND sandbox_id = ?"),
    has: () => db.prepare("SELECT 1 FROM containers WHERE container_id = ? AND sandbox_id = ?"),
    files: () => db.prepare(fileSql),
    // The covering index containers_files, in its order: a range SEARCH per page, no sort.
    filesPage: () =>
      db.prepare(`SELECT ${fileColumns}, container_id, sandbox_id FROM containers
      WHERE (container_id, sandbox_id) > (?, ?) ORDER BY container_id, sandbox_id LIMIT ?`),
    fileOf: () => db.prepare(`${fileSql} WHERE container_id = ? AND sandbox_id = ?`),
    pending: () =>
      db.prepare(
        "SELECT container_id AS containerId, sandbox_id AS sandboxId FROM containers WHERE pending = 1 ORDER BY container_id, sandbox_id",
      ),
    rows: () =>
      db
        .prepare(`SELECT ${ROW_COLUMNS} FROM containers
      WHERE (@sandboxId IS NULL OR sandbox_id = @sandboxId)
      ORDER BY container_id, sandbox_id`)
        .raw(),
    rowsWithoutAnnotations: () =>
      db
        .prepare(`SELECT ${ROW_COLUMNS.replace("annotations", "NULL")} FROM containers
      WHERE (@sandboxId IS NULL OR sandbox_id = @sandboxId)
      ORDER BY container_id, sandbox_id`)
        .raw(),
    row: () => db.prepare(`SELECT ${ROW_COLUMNS} FROM containers WHERE container_id = ? AND sandbox_id = ?`).raw(),
    sandboxIds: () => db.prepare("SELECT DISTINCT sandbox_id FROM containers ORDER BY sandbox_id"),
    count: () => db.prepare("SELECT count(*) FROM containers"),
    recordInvalid: () =>
      db.prepare(`INSERT INTO invalid_files (name, reason, seen) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, seen = excluded.seen`),
    clearInvalid: () => db.prepare("DELETE FROM invalid_files WHERE name = ?"),
    invalid: () => db.prepare("SELECT name, reason, seen FROM invalid_files ORDER BY name"),
  });
}
