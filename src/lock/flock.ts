import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { LockTimeoutError, RunscIndexError } from "../errors.js";
import { closeFd, EAGAIN, errnoName, flock, LOCK_EX, LOCK_NB } from "../native/libc.js";
import { openRegular } from "../native/safe-fs.js";
import { type HeldLock, makeHeldLock } from "./held-lock.js";

/** How to wait for a lock another process holds. */
export type LockWait = "block" | "try" | { readonly timeoutMs: number };

/** Polling backoff while waiting: short first, so an uncontended handover is quick. */
const FIRST_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 25;

/** runsc opens lock files O_RDONLY|O_CREAT, mode 0600 (gofrs/flock). */
const LOCK_FILE_MODE = 0o600;

export interface LockOptions {
  /** Create the lock file when missing (default true, as runsc does). */
  readonly create?: boolean;
}

/**
 * acquireLock takes flock(2) LOCK_EX on the lock file at `path`.
 * It never parks a thread: the wait polls LOCK_NB with backoff on timers.
 * Throws ERR_LOCKED (wait "try"), ERR_LOCK_TIMEOUT naming the file,
 * ERR_NOT_FOUND when create is false and the file is gone, or ERR_IO (also
 * naming the file when it is a symlink, FIFO, socket, directory or device).
 */
export async function acquireLock(path: string, wait: LockWait, options: LockOptions = {}): Promise<HeldLock> {
  const deadline = typeof wait === "object" ? Date.now() + wait.timeoutMs : Number.POSITIVE_INFINITY;
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    const attempt = tryAcquireLock(path, options);
    if (attempt !== "busy") return attempt;
    if (wait === "try") throw lockedError(path);
    if (Date.now() >= deadline) throw new LockTimeoutError(path, (wait as { timeoutMs: number }).timeoutMs);
    await sleep(Math.min(backoff, Math.max(1, deadline - Date.now())));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/**
 * tryAcquireLock makes one non-blocking attempt: a HeldLock, or "busy".
 * Throws as acquireLock does, except ERR_LOCKED and ERR_LOCK_TIMEOUT.
 */
export function tryAcquireLock(path: string, options: LockOptions = {}): HeldLock | "busy" {
  for (;;) {
    const fd = openLockFile(path, options.create ?? true);
    const { errno } = flock(fd, LOCK_EX | LOCK_NB);
    if (errno === EAGAIN) {
      closeFd(fd);
      return "busy";
    }
    if (errno !== 0) {
      closeFd(fd);
      throw new RunscIndexError("ERR_IO", `acquiring lock on "${path}": flock: ${errnoName(errno)}`);
    }
    // runsc unlinks the lock file on destroy while holding it; a waiter may
    // then hold a lock on an orphaned inode. Only a lock on the file that is
    // at the path now excludes the next opener, so check and retry.
    if (isStillAtPath(fd, path)) return makeHeldLock(path, fd);
    closeFd(fd);
    if (options.create === false) throw lockFileGone(path);
  }
}

/**
 * openLockFile opens as runsc does (O_RDONLY|O_CREAT, 0600) plus O_NOFOLLOW,
 * O_NONBLOCK and O_CLOEXEC, and accepts only a regular file: runsc only ever
 * creates regular ones, so a symlink (dangling or not), FIFO or device at a
 * lock path is planted, and is neither followed nor opened for real.
 */
function openLockFile(path: string, create: boolean): number {
  const flags = fs.constants.O_RDONLY | (create ? fs.constants.O_CREAT : 0);
  const fd = openRegular("lock file", path, flags, LOCK_FILE_MODE);
  if (fd === undefined) throw lockFileGone(path);
  return fd;
}

/** isStillAtPath: the entry at `path` (never a symlink's target) is the inode we locked. */
function isStillAtPath(fd: number, path: string): boolean {
  const held = fs.fstatSync(fd);
  const now = fs.lstatSync(path, { throwIfNoEntry: false });
  return now !== undefined && now.ino === held.ino && now.dev === held.dev;
}

function lockedError(path: string): RunscIndexError {
  return new RunscIndexError("ERR_LOCKED", `acquiring lock on "${path}": held by another process`);
}

function lockFileGone(path: string): RunscIndexError {
  return new RunscIndexError("ERR_NOT_FOUND", `lock file "${path}" does not exist`);
}
