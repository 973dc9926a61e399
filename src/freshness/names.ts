/**
 * Freshness of names: every state file created or removed before a call
 * began must be reflected in its answer.
 *
 * In this process an inotify watch on the root is drained at the start of
 * each call (one read(2) when nothing happened). Across processes the index
 * records the root's mtime at its last sync with the listing: while that is
 * unchanged, no name was added or removed, unless the sync was "racy".
 * A sync read within RACY_MS of that mtime is not trusted (see racy.ts).
 */
import fs from "node:fs";
import { parseStateFileName } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import type { RootDir } from "../ids/root-dir.js";
import { isSqliteError } from "../index/open-index.js";
import { compareIdPairs, listRoot } from "../index/scan-index.js";
import { fileInfoOfRow, idPairOfRow, isPendingRow, type SqliteIndex } from "../index/sqlite-index.js";
import { sameFile } from "../state/file-info.js";
import { CHANGED_MASK, DirectoryWatch, type InotifyEvent, REMOVED_MASK } from "./inotify.js";
import { isRacy, isTrustedSync, recordSync, stampDirectory, stateFileExists } from "./racy.js";
import type { Vouch } from "./vouch.js";

/** What a drain found, for a watcher: the names it applied, or that the queue overflowed or the root went away. */
export interface NameListener {
  changed(ids: readonly IdPair[]): void;
  lost(cause: "overflow" | "gone"): void;
}

/**
 * syncNamesFromListing brings the rows' names in line with a directory
 * listing: new names become pending rows, vanished ones are removed.
 * Returns how many rows were added and removed.
 */
export function syncNamesFromListing(
  index: SqliteIndex,
  root: string,
): { added: number; removed: number; racyMtimeNs: bigint | undefined } {
  const stamp = stampDirectory(root);
  const onDisk = new Map<string, IdPair>();
  for (const name of listRoot(root)) {
    const ids = parseStateFileName(name);
    if (ids) onDisk.set(name, ids);
  }
  return index.write(() => {
    let removed = 0;
    for (const [name, row] of index.indexedFiles()) {
      if (!onDisk.delete(name) && !stateFileExists(root, name)) {
        index.remove(idPairOfRow(row));
        removed++;
      }
    }
    // Listed before this transaction: a file another process destroyed since (and removed its row) must not come back.
    const added = [...onDisk].filter(([name]) => stateFileExists(root, name)).map(([, ids]) => ids);
    for (const ids of added.sort(compareIdPairs)) index.notePending(ids);
    recordSync(index.meta, stamp);
    return { added: added.length, removed, racyMtimeNs: isRacy(stamp) ? stamp.mtimeNs : undefined };
  });
}

/**
 * NameTracker keeps one process's view of names current: an inotify watch
 * drained on every call, with a rescan of the listing when events were lost.
 */
export class NameTracker {
  readonly #root: string;
  readonly #index: SqliteIndex;
  readonly #vouch: Vouch;
  readonly #useInotify: boolean;
  #watch: DirectoryWatch | undefined;
  #generation = 0;
  /** The mtime of a sync we recorded racily, to record again once settled. */
  #racyMtimeNs: bigint | undefined;
  /** Told what each drain applied (set by a watcher). */
  listener: NameListener | undefined;
  /** Why the last attempt to start the watch failed (ERR_IO naming the inotify limit), if it did. */
  watchError: unknown;

  /** With useInotify false (short-lived processes) every call checks the recorded sync instead. */
  constructor(root: RootDir, index: SqliteIndex, vouch: Vouch, useInotify = true) {
    this.#root = root.path;
    this.#index = index;
    this.#vouch = vouch;
    this.#useInotify = useInotify;
  }

  /** fd is the inotify descriptor a watcher polls, or undefined while nothing is watched. */
  get fd(): number | undefined {
    return this.#watch?.fd;
  }

  /**
   * ensureFresh makes the rows' names reflect every change completed before
   * the call. Returns false when the index could not be written (another
   * writer held it past the busy timeout, a full disk): the caller must then
   * answer from the directory itself, and the next call starts over.
   */
  ensureFresh(): boolean {
    try {
      this.#bringInLine();
      return true;
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      this.close(); // events drained but not applied are lost: the next call rescans
      return false;
    }
  }

  /**
   * currentForLookup: whether a lookup may answer from the rows' names. A
   * process with a watch of its own brings them in line first (ensureFresh).
   * A one-shot process (no watch) trusts the recorded sync or a live
   * watcher's vouch; when neither holds, it writes nothing and returns false:
   * the caller answers from one listing of the root, as runsc does, because
   * listing and writing the difference (100,000 names) costs more than
   * runsc's whole lookup. The next list, query, reconcile or watcher records
   * the sync. False too when the index could not be read.
   */
  currentForLookup(): boolean {
    if (this.#useInotify) return this.ensureFresh();
    try {
      return this.#vouchedWithoutRescan(Date.now());
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      return false;
    }
  }

  #bringInLine(): void {
    if (this.#watch === undefined) {
      this.#start();
      return;
    }
    const first = this.#watch.drain();
    if (first.events.length === 0 && !first.overflow && !first.gone) {
      this.#settleRacySync();
      return;
    }
    // Something changed: read the mtime, then drain the rest, so the recorded
    // sync covers every change that mtime can stand for.
    const stamp = stampDirectory(this.#root);
    const rest = this.#watch.drain();
    if (first.gone || rest.gone || first.overflow || rest.overflow) {
      this.listener?.lost(first.gone || rest.gone ? "gone" : "overflow");
      this.#restart();
      return;
    }
    const applied = this.#index.write(() => {
      const ids = this.#apply([...first.events, ...rest.events]);
      recordSync(this.#index.meta, stamp);
      return ids;
    });
    this.#racyMtimeNs = isRacy(stamp) ? stamp.mtimeNs : undefined;
    if (applied.length > 0) this.listener?.changed(applied);
  }

  /** racyPending: a sync was recorded racily and will be recorded again by a later call (see settleRacySync). */
  get racyPending(): boolean {
    return this.#racyMtimeNs !== undefined;
  }

  /**
   * watchOnly starts the watch without syncing names: for a caller about to
   * reconcile, which lists the directory itself. Events from here on are
   * applied by the next ensureFresh, so nothing during the pass is missed.
   */
  watchOnly(): void {
    if (this.#watch !== undefined || !this.#useInotify) return;
    this.#generation++;
    try {
      this.#watch = new DirectoryWatch(this.#root);
      this.watchError = undefined;
    } catch (e) {
      this.#watch = undefined;
      this.watchError = e;
    }
  }

  close(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  /** generation changes whenever events may have been lost (NaN while nothing is watched). */
  get generation(): number {
    return this.#watch === undefined ? Number.NaN : this.#generation;
  }

  #start(): void {
    const callStartMs = Date.now();
    this.#generation++;
    try {
      if (this.#useInotify) this.#watch = new DirectoryWatch(this.#root);
      this.watchError = undefined;
    } catch (e) {
      this.#watch = undefined; // no root yet, or no inotify capacity: every call checks again
      this.watchError = e;
    }
    if (this.#vouchedWithoutRescan(callStartMs)) return;
    this.#racyMtimeNs = syncNamesFromListing(this.#index, this.#root).racyMtimeNs;
  }

  /** The recorded sync still holds or, without a watch of our own, a live watcher process vouched. */
  #vouchedWithoutRescan(callStartMs: number): boolean {
    if (isTrustedSync(this.#index.meta, stampDirectory(this.#root))) return true;
    return this.#watch === undefined && this.#vouch.waitSync(callStartMs);
  }

  /**
   * A sync recorded within RACY_NS of its mtime is not trusted by other
   * processes. While our watch shows nothing changed since, record it again
   * once the moment has passed, so they can trust it.
   */
  #settleRacySync(): void {
    if (this.#racyMtimeNs === undefined) return;
    const stamp = stampDirectory(this.#root);
    if (isRacy(stamp)) return;
    if (stamp.mtimeNs === this.#racyMtimeNs) this.#index.write(() => recordSync(this.#index.meta, stamp));
    this.#racyMtimeNs = undefined;
  }

  #restart(): void {
    this.close();
    this.#start();
  }

  /** #apply applies drained events to the rows; returns the IDs of every state file named in them. */
  #apply(events: readonly InotifyEvent[]): IdPair[] {
    const seen: IdPair[] = [];
    for (const { mask, name } of events) {
      const ids = parseStateFileName(name);
      if (ids === undefined) continue; // temp files, lock files, sockets, the index dir
      seen.push(ids);
      if (mask & REMOVED_MASK) {
        // Removed and created again since (by a writer that logged both): nothing to undo.
        if (!stateFileExists(this.#root, name)) this.#index.remove(ids);
      } else if (mask & CHANGED_MASK && this.#changedOnDisk(ids, name)) {
        this.#index.notePending(ids);
      }
    }
    return seen;
  }

  /** Our own writes update the row under the lock; their events need no re-read. */
  #changedOnDisk(ids: IdPair, name: string): boolean {
    const row = this.#index.indexedFile(ids);
    const recorded = row && fileInfoOfRow(row);
    if (!recorded || isPendingRow(row)) return true; // unknown, never read, or pending
    const st = fs.lstatSync(`${this.#root}/${name}`, { throwIfNoEntry: false });
    if (st === undefined) return false; // removed again; its IN_DELETE follows
    return !sameFile(st, recorded);
  }
}
