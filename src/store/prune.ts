/**
 * prune removes what crashed writers leave behind: lock files without a
 * state file, and our temporary files. Each is removed only while we hold
 * the container's lock, so no live writer (runsc or ours) can be using it.
 * A `.state` file is never touched.
 */
import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import { parseLockFileName, parseStateFileName, STATE_SUFFIX, tempTag, tempTagOf } from "../ids/file-names.js";
import { listRoot } from "../index/scan-index.js";
import { tryAcquireLock } from "../lock/flock.js";
import type { HeldLock } from "../lock/held-lock.js";
import { kindOf, removeRegular } from "../native/safe-fs.js";

export interface PruneOptions {
  /** Report what would be removed, remove nothing. */
  readonly dryRun?: boolean;
  /** Lock files younger than this are left alone (default LOCK_MIN_AGE_MS). */
  readonly minLockAgeMs?: number;
}

/**
 * `runsc create` opens (creating) the lock file and only then takes flock,
 * and holds it ~100 ms: a lock file without a state file may be one a create
 * is about to lock. Unlinking it then would let two processes lock different
 * inodes of the same name. An orphan lock file must be this old (by its
 * mtime: creating it sets it, flock never changes it) before prune removes it.
 */
export const LOCK_MIN_AGE_MS = 10_000;

export interface PrunedFile {
  readonly name: string;
  readonly kind: "orphan-lock" | "temp-file";
}

export interface PruneReport {
  readonly dryRun: boolean;
  readonly removed: readonly PrunedFile[];
  /**
   * Files left alone: their lock is held (a write may be under way), or the
   * file or its lock is not a regular file (a symlink, FIFO, socket,
   * directory or device named like ours), with the reason. Young lock files
   * are not listed.
   */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

export async function prune(root: string, options: PruneOptions = {}): Promise<PruneReport> {
  const names = listRoot(root);
  const present = new Set(names);
  const lockByTag = new Map<string, string>();
  for (const name of names) {
    const ids = parseLockFileName(name) ?? parseStateFileName(name);
    if (ids) lockByTag.set(tempTag(ids.containerId, ids.sandboxId), `${ids.containerId}_sandbox:${ids.sandboxId}.lock`);
  }
  const report = {
    dryRun: options.dryRun === true,
    removed: [] as PrunedFile[],
    skipped: [] as { name: string; reason: string }[],
  };
  const minAgeMs = options.minLockAgeMs ?? LOCK_MIN_AGE_MS;
  for (const name of names) {
    const lockIds = parseLockFileName(name);
    const tag = tempTagOf(name);
    if (lockIds === undefined && tag === undefined) continue;
    if (lockIds !== undefined && present.has(name.slice(0, -".lock".length) + STATE_SUFFIX)) continue;
    const st = fs.lstatSync(path.join(root, name), { throwIfNoEntry: false });
    if (st === undefined) continue; // gone already: not ours to report
    if (!st.isFile()) {
      // Only regular files are ours to remove: a planted symlink, FIFO, socket or directory is reported, never touched.
      report.skipped.push({ name, reason: `${kindOf(st)}, not a regular file` });
      continue;
    }
    if (lockIds !== undefined) {
      // Maybe a runsc create's, about to be locked: not even reported (by its mtime: creating sets it, flock never changes it).
      if (Date.now() - st.mtimeMs < minAgeMs) continue;
      pruneUnderLock(root, name, name, "orphan-lock", report, (lock) => !stateFileExists(root, lock));
    } else {
      // A temp file whose container has no lock file any more was left by a writer that died before a destroy.
      pruneUnderLock(root, name, lockByTag.get(tag!), "temp-file", report, () => true);
    }
  }
  return report;
}

function pruneUnderLock(
  root: string,
  name: string,
  lockName: string | undefined,
  kind: PrunedFile["kind"],
  report: { dryRun: boolean; removed: PrunedFile[]; skipped: { name: string; reason: string }[] },
  stillStale: (lock: HeldLock) => boolean,
): void {
  let lock: HeldLock | "busy" | undefined;
  try {
    lock = lockName === undefined ? undefined : tryAcquireLock(path.join(root, lockName), { create: false });
  } catch (e) {
    if (!(e instanceof RunscIndexError)) throw e;
    if (e.code !== "ERR_NOT_FOUND") {
      // A lock path that is not a regular file (or cannot be opened): nothing is removed under it.
      report.skipped.push({ name, reason: e.message });
      return;
    }
    lock = undefined; // the lock file went away: nobody can be writing through it
  }
  if (lock === "busy") {
    report.skipped.push({ name, reason: `lock "${lockName}" is held` });
    return;
  }
  try {
    if (lock !== undefined && !stillStale(lock)) return;
    const removed =
      report.dryRun || removeRegular(kind === "orphan-lock" ? "lock file" : "temporary file", path.join(root, name));
    if (!removed) return; // someone else removed it
    report.removed.push({ name, kind });
  } finally {
    lock?.release();
  }
}

function stateFileExists(root: string, lock: HeldLock): boolean {
  return fs.existsSync(path.join(root, path.basename(lock.path).slice(0, -".lock".length) + STATE_SUFFIX));
}
