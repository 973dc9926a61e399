/**
 * Freshness: the one facade the store calls to keep the index in line with
 * the files. Behind it: names (names.ts: an inotify watch drained per call,
 * or the recorded root mtime), contents (contents.ts: a full pass, or a
 * watcher's vouch), the racy rule (racy.ts), watchers' vouching (vouch.ts),
 * and settling after our own writes.
 */
import type { RootDir } from "../ids/root-dir.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import { ContentFreshness } from "./contents.js";
import { type NameListener, NameTracker } from "./names.js";
import { RACY_MS } from "./racy.js";
import { Vouch } from "./vouch.js";

/** Past the racy window, with a margin for a coarse clock. */
export const SETTLE_DELAY_MS = RACY_MS + 10;

export class Freshness {
  readonly #names: NameTracker;
  readonly #contents: ContentFreshness;
  readonly #useInotify: boolean;
  #settleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** With useInotify false (one-shot processes) every call checks the recorded sync or asks a watcher instead. */
  /** indexDir holds the dirty marker; undefined for an index in memory, which no other process sees. */
  constructor(root: RootDir, indexPath: string, indexDir: string | undefined, index: SqliteIndex, useInotify: boolean) {
    const vouch = new Vouch(index.meta, root.path, indexPath);
    this.#names = new NameTracker(root, index, vouch, useInotify);
    this.#contents = new ContentFreshness(root, indexDir, index, this.#names, vouch);
    this.#useInotify = useInotify;
  }

  /**
   * names makes the rows' names reflect every file created or removed before
   * the call. Returns false when the index could not be written: the caller
   * answers from a directory scan instead.
   */
  names(): boolean {
    return this.#names.ensureFresh();
  }

  /**
   * namesForLookup: whether a lookup may answer from the index's names (see
   * NameTracker.currentForLookup); false: answer from a listing of the root.
   */
  namesForLookup(): boolean {
    return this.#names.currentForLookup();
  }

  /** contents makes names and, with fresh, the rows' contents current; else only pending rows are read. */
  async contents(fresh: boolean, lockTimeoutMs: number): Promise<void> {
    this.#names.ensureFresh();
    await this.#contents.ensure(fresh, lockTimeoutMs);
  }

  /**
   * fullPass runs a pass that stats every file (a reconcile). The watch starts
   * first, so changes during the pass are applied by the next call.
   */
  async fullPass<R>(pass: () => Promise<R>): Promise<R> {
    this.#names.watchOnly();
    const generation = this.#names.generation;
    const report = await pass();
    this.#contents.noteFullPass(generation);
    return report;
  }

  /**
   * writeThrough runs an index update after a file write under its lock; if
   * it fails the write stands and the index is marked dirty (repaired by the
   * next list, query or reconcile), then settling is scheduled.
   */
  writeThrough(update: () => void): void {
    this.#contents.writeThrough(update);
    this.#settleSoon();
  }

  /** watching: an inotify watch of our own is running (false without a root or with inotify off). */
  get watching(): boolean {
    return !Number.isNaN(this.#names.generation);
  }

  /** watchError is why the watch could not start (an ERR_IO naming the inotify limit to raise), if it could not. */
  get watchError(): unknown {
    return this.#names.watchError;
  }

  /** watchFd is the root watch's inotify descriptor, for a watcher to poll; undefined while nothing is watched. */
  get watchFd(): number | undefined {
    return this.#names.fd;
  }

  /** settling: a racily recorded sync waits to be recorded again (a watcher calls back after SETTLE_DELAY_MS). */
  get settling(): boolean {
    return this.#names.racyPending;
  }

  /** listen tells `listener` what each drain applied, or that events were lost; undefined stops. */
  listen(listener: NameListener | undefined): void {
    this.#names.listener = listener;
  }

  /** close stops the inotify watch and the settle timer. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#settleTimer);
    this.#names.close();
  }

  /**
   * Our writes change the root's mtime (temp file + rename, unlink), which
   * other processes read as "names may have changed" and answer with a
   * rescan. Once writes pause past the racy moment, drain our watch and
   * record a sync they can trust. Unref'd: it never keeps a process alive.
   */
  #settleSoon(): void {
    if (!this.#useInotify) return;
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      try {
        if (!this.#closed) this.#names.ensureFresh();
      } catch {
        // Only an optimization: the next call brings the names in line anyway.
      }
    }, SETTLE_DELAY_MS).unref();
  }
}
