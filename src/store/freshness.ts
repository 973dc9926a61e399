/**
 * Freshness of names: every state file created or removed before a call
 * began must be reflected in its answer.
 *
 * In this process an inotify watch on the root is drained at the start of
 * each call (one read(2) when nothing happened). Across processes the index
 * records the root's mtime at its last sync with the listing: while that is
 * unchanged, no name was added or removed, unless the sync was "racy".
 *
 * Racy: mtimes come from a coarse clock (about 4 ms here), and the kernel
 * sets a directory's mtime a moment before it queues the inotify event. A
 * sync whose mtime is within RACY_NS of the time it was read may have missed
 * a change in the same tick, so it is not trusted (git's racy-index rule).
 */
import fs from "node:fs";
import type { Candidate } from "../errors.js";
import { parseStateFileName } from "../ids/file-names.js";
import { isSqliteError } from "../index/open-index.js";
import { sameFile } from "../index/rows.js";
import { compareCandidates, listRoot } from "../index/scan-index.js";
import { candidateOfRow, fileInfoOfRow, isPendingRow, RACY_MS, type SqliteIndex } from "../index/sqlite-index.js";
import { CHANGED_MASK, DirectoryWatch, REMOVED_MASK } from "../watch/inotify.js";
import { waitForWatcherSync } from "../watch/vouch.js";

/** The racy window of RACY_MS (shared with the reconciler's per-file rule), in ns. */
export const RACY_NS = BigInt(RACY_MS) * 1_000_000n;

export interface DirStamp {
  /** The root's mtime in ns, or -1n when it does not exist. */
  readonly mtimeNs: bigint;
  /** Wall clock in ns when the mtime was read. */
  readonly readAtNs: bigint;
}

export function stampDirectory(root: string): DirStamp {
  const readAtNs = BigInt(Date.now()) * 1_000_000n;
  const st = fs.statSync(root, { bigint: true, throwIfNoEntry: false });
  return { mtimeNs: st ? st.mtimeNs : -1n, readAtNs };
}

/** isTrustedSync: the recorded sync still describes the directory, and was not racy. */
export function isTrustedSync(index: SqliteIndex, now: DirStamp): boolean {
  const mtime = index.meta.get("names_mtime_ns");
  const readAt = index.meta.get("names_synced_at_ns");
  if (mtime === undefined || readAt === undefined) return false;
  return BigInt(mtime) === now.mtimeNs && !isRacy({ mtimeNs: now.mtimeNs, readAtNs: BigInt(readAt) });
}

/**
 * stateFileExists is asked before a row missing from a listing is removed:
 * its file may have been created (and its row written) after the listing.
 */
export function stateFileExists(root: string, name: string): boolean {
  return fs.lstatSync(`${root}/${name}`, { throwIfNoEntry: false }) !== undefined;
}

export function isRacy(stamp: DirStamp): boolean {
  return stamp.readAtNs - stamp.mtimeNs <= RACY_NS;
}

export function recordSync(index: SqliteIndex, stamp: DirStamp): void {
  index.meta.set("names_mtime_ns", stamp.mtimeNs);
  index.meta.set("names_synced_at_ns", stamp.readAtNs);
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
  const onDisk = new Map<string, Candidate>();
  for (const name of listRoot(root)) {
    const ids = parseStateFileName(name);
    if (ids) onDisk.set(name, ids);
  }
  return index.write(() => {
    let removed = 0;
    for (const [name, row] of index.indexedFiles()) {
      if (!onDisk.delete(name) && !stateFileExists(root, name)) {
        index.remove(candidateOfRow(row));
        removed++;
      }
    }
    for (const ids of [...onDisk.values()].sort(compareCandidates)) index.notePending(ids);
    recordSync(index, stamp);
    return { added: onDisk.size, removed, racyMtimeNs: isRacy(stamp) ? stamp.mtimeNs : undefined };
  });
}

/**
 * NameTracker keeps one process's view of names current: an inotify watch
 * drained on every call, with a rescan of the listing when events were lost.
 */
export class NameTracker {
  readonly #root: string;
  readonly #index: SqliteIndex;
  #watch: DirectoryWatch | undefined;
  #generation = 0;
  /** The mtime of a sync we recorded racily, to record again once settled. */
  #racyMtimeNs: bigint | undefined;
  /** Called with each changed or removed state-file name after it is applied (for watch --json). */
  onChange: ((kind: "changed" | "removed", ids: Candidate) => void) | undefined;

  readonly #useInotify: boolean;

  /** With useInotify false (short-lived processes) every call checks the recorded sync instead. */
  constructor(root: string, index: SqliteIndex, useInotify = true) {
    this.#root = root;
    this.#index = index;
    this.#useInotify = useInotify;
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

  #bringInLine(): void {
    if (this.#watch === undefined) {
      this.#start();
      return;
    }
    const first = this.#watch.drain();
    if (first.events.length === 0 && !first.lost) {
      this.#settleRacySync();
      return;
    }
    // Something changed: read the mtime, then drain the rest, so the recorded
    // sync covers every change that mtime can stand for.
    const stamp = stampDirectory(this.#root);
    const rest = this.#watch.drain();
    if (first.lost || rest.lost) {
      this.#restart();
      return;
    }
    this.#index.write(() => {
      this.#apply([...first.events, ...rest.events]);
      recordSync(this.#index, stamp);
    });
    this.#racyMtimeNs = isRacy(stamp) ? stamp.mtimeNs : undefined;
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
    } catch {
      this.#watch = undefined;
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
    } catch {
      this.#watch = undefined; // no root yet: nothing to watch; every call checks again
    }
    const stamp = stampDirectory(this.#root);
    if (isTrustedSync(this.#index, stamp)) return;
    // Without a watch of our own, a live watcher process can vouch instead of a rescan.
    if (this.#watch === undefined && waitForWatcherSync(this.#index.meta, callStartMs)) return;
    this.#racyMtimeNs = syncNamesFromListing(this.#index, this.#root).racyMtimeNs;
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
    if (stamp.mtimeNs === this.#racyMtimeNs) this.#index.write(() => recordSync(this.#index, stamp));
    this.#racyMtimeNs = undefined;
  }

  #restart(): void {
    this.close();
    this.#start();
  }

  #apply(events: { mask: number; name: string }[]): void {
    for (const { mask, name } of events) {
      const ids = parseStateFileName(name);
      if (ids === undefined) continue; // temp files, lock files, sockets, the index dir
      if (mask & REMOVED_MASK) {
        this.#index.remove(ids);
        this.onChange?.("removed", ids);
      } else if (mask & CHANGED_MASK && this.#changedOnDisk(ids, name)) {
        this.#index.notePending(ids);
        this.onChange?.("changed", ids);
      }
    }
  }

  /** Our own writes update the row under the lock; their events need no re-read. */
  #changedOnDisk(ids: Candidate, name: string): boolean {
    const row = this.#index.indexedFile(ids);
    const recorded = row && fileInfoOfRow(row);
    if (!recorded || isPendingRow(row)) return true; // unknown, never read, or pending
    const st = fs.lstatSync(`${this.#root}/${name}`, { throwIfNoEntry: false });
    if (st === undefined) return false; // removed again; its IN_DELETE follows
    return !sameFile(st, recorded);
  }
}
