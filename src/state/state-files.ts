/**
 * Reading, writing and removing state files. Writers must hold the
 * container's lock (the `...Locked` functions check it, as runsc's
 * SaveLocked does). Readers may read without it: see reconcile.
 */
import fs from "node:fs";
import path from "node:path";
import { CorruptStateError, isErrnoException, RunscIndexError } from "../errors.js";
import { tempFileName } from "../ids/file-names.js";
import type { ContainerId, SandboxId } from "../ids/id.js";
import { assertHeld, type HeldLock } from "../lock/held-lock.js";
import { createExclusive, ioError, kindOf, lstatOrUndefined, removeRegular } from "../native/safe-fs.js";
import { MAX_STATE_BYTES } from "./document.js";
import { type FileInfo, fileInfoOf } from "./file-info.js";
import { decodeUtf8AsGo } from "./utf8.js";

/** runsc writes state files with os.WriteFile(path, data, 0640). */
export const STATE_FILE_MODE = 0o640;

export interface StateFileText {
  /** The text as Go reads it: invalid UTF-8 is U+FFFD (decodeUtf8AsGo). */
  readonly text: string;
  /** The bytes as read; a save of the unchanged document writes these back. */
  readonly bytes: Buffer;
  readonly info: FileInfo;
}

/**
 * readStateFile reads a state file whole; undefined when it does not exist.
 * Never blocks on a FIFO and never follows a symlink named like a state file.
 * Throws ERR_CORRUPT_STATE for anything that is not a regular file of sane size.
 */
export function readStateFile(file: string): StateFileText | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (isErrnoException(e, "ENOENT")) return undefined;
    if (isErrnoException(e, "ELOOP")) throw new CorruptStateError(path.basename(file), "a symbolic link, not a file");
    // A socket fails open with ENXIO: it is a bad entry, not an I/O failure.
    const st = lstatOrUndefined(file);
    if (st !== undefined && !st.isFile()) throw new CorruptStateError(path.basename(file), `${kindOf(st)}, not a file`);
    throw ioError("reading state file", file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CorruptStateError(path.basename(file), `${kindOf(st)}, not a regular file`);
    if (st.size > MAX_STATE_BYTES) {
      throw new CorruptStateError(path.basename(file), `${st.size} bytes, over the ${MAX_STATE_BYTES}-byte limit`);
    }
    const bytes = fs.readFileSync(fd);
    return {
      text: decodeUtf8AsGo(bytes),
      bytes,
      info: { size: bytes.length, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino },
    };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * controlSocketPathIn returns `sandbox.controlSocketPath` of a state file
 * ("" when the file has none, is gone or cannot be read: then runsc
 * 20221219's abstract socket is tried). Read without the lock, as list reads.
 */
export function controlSocketPathIn(file: string): string {
  try {
    const text = readStateFile(file)?.text;
    const sandbox =
      text === undefined ? undefined : (JSON.parse(text) as { sandbox?: { controlSocketPath?: unknown } }).sandbox;
    return typeof sandbox?.controlSocketPath === "string" ? sandbox.controlSocketPath : "";
  } catch {
    return "";
  }
}

export interface WriteOptions {
  /** fsync the file and the directory: for roots on disk (runsc's root is usually tmpfs). */
  readonly durable?: boolean;
}

/**
 * writeStateLocked replaces the state file atomically: write a temporary file
 * in the same directory, then rename it over the state file. Readers never
 * see a torn file, unlike runsc's in-place os.WriteFile. An existing regular
 * file's owner and permission bits are kept (never set-uid, set-gid or
 * sticky); a symlink or anything else at the name is refused, never written
 * through. `data` is the text or the exact bytes to write. Returns the new
 * file's stat.
 * Throws ERR_CORRUPT_STATE (not a regular file), ERR_IO naming the file (the
 * temporary name is taken, the disk is full, ...); the previous file is then untouched.
 */
export function writeStateLocked(
  lock: HeldLock,
  file: string,
  ids: { containerId: ContainerId; sandboxId: SandboxId },
  data: string | Uint8Array,
  options: WriteOptions = {},
): FileInfo {
  assertHeld(lock, "writeStateLocked");
  const dir = path.dirname(file);
  const temp = path.join(dir, tempFileName(ids.containerId, ids.sandboxId));
  const previous = regularStateFile(file);
  // Created exclusively, so anything already at the temporary name (a planted
  // symlink or FIFO, say) fails here and is not ours to remove.
  const fd = createTempFile(file, temp);
  try {
    writeTempFile(fd, data, previous, options.durable === true);
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw ioError("writing state file", file, e);
  }
  if (options.durable) fsyncDirectory(dir);
  return fileInfoOf(fs.lstatSync(file));
}

/**
 * regularStateFile: the lstat of the state file when it is a regular file,
 * undefined when nothing is there. Throws ERR_CORRUPT_STATE naming it otherwise.
 */
export function regularStateFile(file: string): fs.Stats | undefined {
  const st = lstatOrUndefined(file);
  if (st !== undefined && !st.isFile()) throw new CorruptStateError(path.basename(file), `${kindOf(st)}, not a file`);
  return st;
}

/** createTempFile: createExclusive, its error (planted entry, read-only or full disk) naming the state file too. */
function createTempFile(file: string, temp: string): number {
  try {
    return createExclusive("temporary file", temp, STATE_FILE_MODE);
  } catch (e) {
    const inner = e as Error;
    throw new RunscIndexError("ERR_IO", `writing state file "${file}": ${inner.message}`, { cause: inner.cause ?? e });
  }
}

/** Permission bits a state file may keep: runsc writes 0640; set-uid, set-gid and sticky never. */
const KEPT_MODE_BITS = 0o777;

function writeTempFile(fd: number, data: string | Uint8Array, previous: fs.Stats | undefined, durable: boolean): void {
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, previous ? previous.mode & KEPT_MODE_BITS : STATE_FILE_MODE);
    if (previous && (previous.uid !== process.getuid?.() || previous.gid !== process.getgid?.())) {
      fs.fchownSync(fd, previous.uid, previous.gid);
      // chown clears set-id bits on some systems, and never adds any: the mode is set again to be sure.
      fs.fchmodSync(fd, previous.mode & KEPT_MODE_BITS);
    }
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * removeStateLocked unlinks the state file (the entry itself, as runsc's
 * os.Remove does, even a symlink); false when it was already gone. Throws ERR_IO.
 */
export function removeStateLocked(lock: HeldLock, file: string): boolean {
  assertHeld(lock, "removeStateLocked");
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (isErrnoException(e, "ENOENT")) return false;
    throw ioError("removing state file", file, e);
  }
}

/** removeLockFileLocked unlinks the lock file while holding it, as runsc's Destroy does last. */
export function removeLockFileLocked(lock: HeldLock): void {
  assertHeld(lock, "removeLockFileLocked");
  removeRegular("lock file", lock.path);
}
