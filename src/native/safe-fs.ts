/**
 * Opening and removing the files runsc-index creates (lock files, temporary
 * files, markers, the index) without ever following a symbolic link, blocking
 * on a FIFO or opening a device planted at that name. Anyone who may write in
 * the root can plant one; we run as root.
 */
import fs from "node:fs";
import { isErrnoException, RunscIndexError } from "../errors.js";

const {
  O_CLOEXEC = 0o2000000,
  O_NOFOLLOW,
  O_NONBLOCK,
} = fs.constants as typeof fs.constants & {
  O_CLOEXEC?: number;
};

/** Flags added to every open: no symlink followed, no wait on a FIFO, no fd leaked to a child. */
export const SAFE_OPEN_FLAGS = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

/** kindOf names what a non-regular directory entry is, for error messages. */
export function kindOf(st: fs.Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** notRegular is the error for a planted entry where we expect a regular file. */
export function notRegular(what: string, file: string, kind: string): RunscIndexError {
  return new RunscIndexError("ERR_IO", `${what} "${file}" is ${kind}, not a regular file; remove it by hand`);
}

/**
 * openRegular opens `file` with `flags` plus SAFE_OPEN_FLAGS and checks with
 * fstat that it is a regular file. Returns the fd, or undefined when the file
 * is missing and `flags` has no O_CREAT. Throws ERR_IO naming the file (a
 * symlink, FIFO, socket, directory or device there; any other failure).
 */
export function openRegular(what: string, file: string, flags: number, mode = 0o600): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | SAFE_OPEN_FLAGS, mode);
  } catch (e) {
    if (isErrnoException(e, "ENOENT") && (flags & fs.constants.O_CREAT) === 0) return undefined;
    throw openError(what, file, e);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw notRegular(what, file, kindOf(st));
  }
  return fd;
}

/**
 * createExclusive creates a new regular file with O_CREAT|O_EXCL (which never
 * follows a symlink) and sets `mode` whatever the umask. Returns the fd.
 * Throws ERR_IO naming the file when anything is already at that name.
 */
export function createExclusive(what: string, file: string, mode: number): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | SAFE_OPEN_FLAGS, mode);
  } catch (e) {
    throw openError(what, file, e);
  }
  fs.fchmodSync(fd, mode);
  return fd;
}

/**
 * removeRegular unlinks `file` only when it is a regular file (or already
 * gone: false). Throws ERR_IO naming it when something else is there, so a
 * planted directory or FIFO is never removed silently.
 */
export function removeRegular(what: string, file: string): boolean {
  const st = lstatOrUndefined(file);
  if (st === undefined) return false;
  if (!st.isFile()) throw notRegular(what, file, kindOf(st));
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (isErrnoException(e, "ENOENT")) return false;
    throw ioError(`removing ${what}`, file, e);
  }
}

/** lstatOrUndefined: the entry itself (never a symlink's target), or undefined when nothing is there. */
export function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw ioError("inspecting", file, e);
  }
}

/** ioError wraps a Node error as ERR_IO: "<doing> "<file>": <reason>", the cause kept. */
export function ioError(doing: string, file: string, e: unknown): RunscIndexError {
  return new RunscIndexError("ERR_IO", `${doing} "${file}": ${describeErrno(e)}`, { cause: e });
}

function openError(what: string, file: string, e: unknown): RunscIndexError {
  if (isErrnoException(e, "ELOOP")) return notRegular(what, file, "a symbolic link");
  if (isErrnoException(e, "EEXIST")) {
    const st = lstatOrUndefined(file);
    return new RunscIndexError(
      "ERR_IO",
      `creating ${what} "${file}": ${st ? kindOf(st) : "an entry"} is already there; remove it by hand`,
      { cause: e },
    );
  }
  // A socket fails open with ENXIO: say what is there rather than the errno.
  const st = isErrnoException(e, "ENOENT") ? undefined : lstatOrUndefined(file);
  if (st !== undefined && !st.isFile()) return notRegular(what, file, kindOf(st));
  return ioError(`opening ${what}`, file, e);
}

/** describeErrno: what went wrong in words a reader can act on (ENOSPC: the file system is full). */
export function describeErrno(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const words = ERRNO_WORDS[(e as { code?: unknown } | null)?.code as string];
  return words === undefined ? message : `${words} (${message})`;
}

const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOSPC: "the file system is full",
  EDQUOT: "the disk quota is exhausted",
  EFBIG: "the file-size limit is reached",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};
