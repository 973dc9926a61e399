/**
 * Freshness of contents (status, pids) for list and query.
 *
 * A state file's content can change without its name changing (runsc saves
 * in place), so only a pass that stats every file, or an inotify watch that
 * saw every write, can vouch for the rows. In this process the NameTracker's
 * watch marks written files pending once one full pass set a baseline; in
 * other processes a live `runsc-index watch` vouches once it has drained its
 * queue after the call began.
 */
import fs from "node:fs";
import path from "node:path";
import { stateFileName } from "../ids/file-names.js";
import type { RootDir } from "../ids/root-dir.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import { lstatOrUndefined, openRegular, removeRegular } from "../native/safe-fs.js";
import type { NameTracker } from "./names.js";
import type { Vouch } from "./vouch.js";

const DIRTY_MARKER = "dirty";

export class ContentFreshness {
  readonly #root: string;
  readonly #index: SqliteIndex;
  readonly #names: NameTracker;
  readonly #vouch: Vouch;
  /** The marker beside the index; undefined for an index in memory, which no other process sees. */
  readonly #dirtyMarker: string | undefined;
  /** The NameTracker generation in which a full pass set the baseline, if any. */
  #baseline: number | undefined;

  constructor(root: RootDir, indexDir: string | undefined, index: SqliteIndex, names: NameTracker, vouch: Vouch) {
    this.#root = root.path;
    this.#index = index;
    this.#names = names;
    this.#vouch = vouch;
    this.#dirtyMarker = indexDir === undefined ? undefined : path.join(indexDir, DIRTY_MARKER);
  }

  /**
   * ensure brings the rows' contents in line with the files. With fresh
   * false only pending rows (names seen but not read) are read.
   */
  async ensure(fresh: boolean, lockTimeoutMs: number): Promise<void> {
    const callStartMs = Date.now();
    if (this.#dirtyMarker !== undefined && lstatOrUndefined(this.#dirtyMarker) !== undefined)
      return this.#fullPass(lockTimeoutMs);
    if (fresh && this.#baseline !== this.#names.generation && !(await this.#vouch.wait(callStartMs))) {
      return this.#fullPass(lockTimeoutMs);
    }
    await this.readPending(lockTimeoutMs);
  }

  /** readPending reads the rows whose files appeared or changed since they were read. */
  async readPending(lockTimeoutMs: number): Promise<void> {
    const pending = this.#index.pendingNames();
    if (pending.length === 0) return;
    const names = pending.map((c) => stateFileName(c.containerId, c.sandboxId));
    const { refreshFiles } = await import("../reconcile/reconcile.js");
    await refreshFiles(this.#root, this.#index, names, { lockTimeoutMs });
  }

  /**
   * writeThrough runs an index update after a successful file write. If it
   * fails, the write stands: the index is marked dirty and repaired by the
   * next list, query or reconcile, in this process or another.
   */
  writeThrough(update: () => void): void {
    try {
      this.#index.write(update);
    } catch {
      this.markDirty();
    }
  }

  /**
   * markDirty creates the marker beside the index: never through a symlink,
   * never into a FIFO (O_NOFOLLOW|O_NONBLOCK, regular files only), 0600.
   */
  markDirty(): void {
    this.#baseline = undefined;
    if (this.#dirtyMarker === undefined) return;
    try {
      const fd = openRegular("dirty marker", this.#dirtyMarker, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
      if (fd !== undefined) fs.closeSync(fd);
    } catch {
      // Nowhere to record it: the next full pass repairs the index all the same.
    }
  }

  /**
   * noteFullPass: a reconcile just stat'ed every file. Throws ERR_IO naming
   * the marker when something other than a regular file is at its name.
   */
  noteFullPass(generationAtStart: number): void {
    if (this.#dirtyMarker !== undefined) removeRegular("dirty marker", this.#dirtyMarker);
    if (generationAtStart === this.#names.generation) this.#baseline = generationAtStart;
  }

  async #fullPass(lockTimeoutMs: number): Promise<void> {
    const generation = this.#names.generation;
    const { reconcile } = await import("../reconcile/reconcile.js");
    await reconcile(this.#root, this.#index, { lockTimeoutMs });
    this.noteFullPass(generation);
  }
}
