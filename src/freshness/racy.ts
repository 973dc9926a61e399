/**
 * The racy rule, in one place. mtimes come from a coarse clock (about 4 ms
 * here) and the kernel sets a directory's mtime a moment before it queues the
 * inotify event, so anything read within RACY_MS of an mtime may have missed a
 * change made in the same tick and is not trusted (git's racy-index rule).
 * This module imports nothing of ours above `index/meta`: the index and the
 * reconciler use it as well.
 */
import fs from "node:fs";
import type { MetaStore } from "../index/meta.js";

/**
 * A read within this many ms of a file's (or the root's) mtime may have missed
 * a same-size rewrite in the same clock tick: such rows are read again and
 * such name syncs are not trusted by other processes.
 */
export const RACY_MS = 20;

/** RACY_MS in ns, for directory stamps. */
export const RACY_NS = BigInt(RACY_MS) * 1_000_000n;

export interface DirStamp {
  /** The root's mtime in ns, or -1n when it does not exist. */
  readonly mtimeNs: bigint;
  /** Wall clock in ns when the mtime was read. */
  readonly readAtNs: bigint;
}

/** stampDirectory returns the root's mtime and when it was read. */
export function stampDirectory(root: string): DirStamp {
  const readAtNs = BigInt(Date.now()) * 1_000_000n;
  const st = fs.statSync(root, { bigint: true, throwIfNoEntry: false });
  return { mtimeNs: st ? st.mtimeNs : -1n, readAtNs };
}

/** isRacy: the stamp was read too close to its mtime to be trusted. */
export function isRacy(stamp: DirStamp): boolean {
  return stamp.readAtNs - stamp.mtimeNs <= RACY_NS;
}

/** recordSync records in the index that its names matched the listing at `stamp`. */
export function recordSync(meta: MetaStore, stamp: DirStamp): void {
  meta.set("names_mtime_ns", stamp.mtimeNs);
  meta.set("names_synced_at_ns", stamp.readAtNs);
}

/** isTrustedSync: the recorded sync still describes the directory, and was not racy. */
export function isTrustedSync(meta: MetaStore, now: DirStamp): boolean {
  const mtime = meta.get("names_mtime_ns");
  const readAt = meta.get("names_synced_at_ns");
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
