/**
 * The event log: every change to a container's row that a runsc-index
 * process made or observed, in the `events` table of the shared index.
 *
 * The source of an event is the state file, not the index diff: a row that
 * is written from a file version it did not hold yet (another inode, mtime,
 * ctime or size, or another status or PID) is a change, logged in the same
 * transaction by whichever process wrote it: a runsc-index writer for its
 * own write, a watcher (or any reader) for runsc's and plain writes. A second
 * process that reads the same version finds the row already holds it and logs
 * nothing, so each observed file version is logged exactly once however many
 * watchers run. Versions nobody read (two writes between two drains) are
 * coalesced into one `updated`.
 */
import { lazyProperties } from "../lazy.js";
import type { SqliteDatabase } from "./database.js";
import type { EventType } from "./event-types.js";
import type { MetaStore } from "./meta.js";
import type { RowValues } from "./rows.js";

/** How many events are kept; older ones are deleted and a resume from before them is told so. */
export const EVENTS_KEPT = 100_000;
/** Trim once per this many events, not on every insert. */
const TRIM_EVERY = 1_000;

/** One row of the `events` table. */
export interface EventRow {
  readonly seq: number;
  readonly atMs: number;
  readonly type: EventType;
  readonly containerId: string | null;
  readonly sandboxId: string | null;
  readonly statusBefore: string | null;
  readonly statusAfter: string | null;
  readonly pid: number | null;
  readonly detail: string | null;
}

/** What a row held before a write: its file version, status and PID. */
export interface PriorRow {
  readonly status: string | null;
  readonly pid: number | null;
  readonly size: number | null;
  readonly mtimeMs: number | null;
  readonly ctimeMs: number | null;
  readonly ino: number | null;
  readonly indexedAt: number | null;
  /** 1: the name was seen changing since the row was read (see notePending). */
  readonly pending: number;
}

/** isSameVersion: the row already holds the file version (stat identity, status, PID) `row` was read from. */
export function isSameVersion(prior: PriorRow, row: RowValues): boolean {
  const [, , status, pid, , , , , , , , , , size, mtimeMs, ctimeMs, ino] = row;
  return (
    prior.ino === ino &&
    prior.mtimeMs === mtimeMs &&
    prior.ctimeMs === ctimeMs &&
    prior.size === size &&
    prior.status === status &&
    prior.pid === pid
  );
}

/**
 * isStaleRead: the row holds another file version, read (or written) after
 * `row` was read, so `row` is older. A lockless reader racing a writer must
 * not put an old version back, nor log it as a change.
 */
export function isStaleRead(prior: PriorRow | undefined, row: RowValues): boolean {
  const readAtMs = row[17];
  if (prior?.indexedAt == null || prior.indexedAt <= readAtMs) return false;
  return !isSameVersion(prior, row);
}

const EVENT_COLUMNS = `seq, at_ms AS atMs, type, container_id AS containerId, sandbox_id AS sandboxId,
  status_before AS statusBefore, status_after AS statusAfter, pid, detail`;

export class EventLog {
  readonly #meta: MetaStore;
  readonly #s;

  constructor(db: SqliteDatabase, meta: MetaStore) {
    this.#meta = meta;
    this.#s = lazyProperties({
      prior: () =>
        db.prepare(`SELECT status, pid, file_size AS size, file_mtime_ms AS mtimeMs, file_ctime_ms AS ctimeMs,
        file_ino AS ino, indexed_at AS indexedAt, pending FROM containers WHERE container_id = ? AND sandbox_id = ?`),
      insert: () =>
        db.prepare(`INSERT INTO events (at_ms, type, container_id, sandbox_id, status_before, status_after, pid,
        detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      after: () => db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`),
      last: () => db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
      trim: () => db.prepare("DELETE FROM events WHERE seq <= ?"),
      stoppedFor: () =>
        db.prepare("SELECT 1 FROM events WHERE container_id = ? AND sandbox_id = ? AND type = 'stopped' AND pid = ?"),
    });
  }

  /**
   * priorOf reads a row before it is overwritten by `row`; logFileVersion
   * then logs `created` or `updated` if the file version is new to the index.
   * Call both inside the write transaction.
   */
  priorOf(containerId: string, sandboxId: string): PriorRow | undefined {
    return this.#s.prior.get(containerId, sandboxId) as PriorRow | undefined;
  }

  /** logFileVersion logs the write of `row` over `prior` (undefined: no row): created, updated, or nothing. */
  logFileVersion(prior: PriorRow | undefined, row: RowValues): void {
    const [containerId, sandboxId, status, pid] = row;
    // A file is a container from its first readable version on: a name seen
    // (pending) or a file that did not parse (invalid, status NULL) was never `created`.
    if (prior === undefined || prior.status === null) {
      this.append("created", containerId, sandboxId, null, status, pid);
      return;
    }
    if (!isSameVersion(prior, row)) this.append("updated", containerId, sandboxId, prior.status, status, pid);
  }

  /** logRemoval logs `removed` for a row that held a readable version (others were never `created`). */
  logRemoval(prior: PriorRow | undefined, containerId: string, sandboxId: string): void {
    if (prior === undefined || prior.status === null) return;
    this.append("removed", containerId, sandboxId, prior.status, null, prior.pid);
  }

  /**
   * logStopped logs `stopped` for a container whose sandbox process `pid`
   * died, once however many watchers saw it die. Returns whether it logged.
   */
  logStopped(containerId: string, sandboxId: string, status: string | null, pid: number): boolean {
    if (this.#s.stoppedFor.get(containerId, sandboxId, pid) !== undefined) return false;
    this.append("stopped", containerId, sandboxId, status, null, pid);
    return true;
  }

  /** append inserts one event and, every TRIM_EVERY events, deletes those past EVENTS_KEPT. Returns its seq. */
  append(
    type: EventType,
    containerId: string | null,
    sandboxId: string | null,
    statusBefore: string | null,
    statusAfter: string | null,
    pid: number | null,
    detail: string | null = null,
  ): number {
    const seq = Number(
      this.#s.insert.run(Date.now(), type, containerId, sandboxId, statusBefore, statusAfter, pid, detail)
        .lastInsertRowid,
    );
    if (seq % TRIM_EVERY === 0 && seq > EVENTS_KEPT) {
      this.#s.trim.run(seq - EVENTS_KEPT);
      this.#meta.set("events_trimmed_through", seq - EVENTS_KEPT);
    }
    return seq;
  }

  /** after returns up to `limit` events with seq > `seq`, oldest first. */
  after(seq: number, limit = 1_000): EventRow[] {
    return this.#s.after.all(seq, limit) as EventRow[];
  }

  /** lastSeq is the highest seq ever given (0 when none). */
  lastSeq(): number {
    return Number(this.#s.last.get() ?? 0);
  }

  /** trimmedThrough is the highest seq deleted by trimming (0 when none): a resume from before it has a gap. */
  trimmedThrough(): number {
    return Number(this.#meta.get("events_trimmed_through") ?? 0);
  }
}
