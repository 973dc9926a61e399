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
import { type FileInfo, fileInfoOf } from "../index/rows.js";
import { assertHeld, type HeldLock } from "../lock/held-lock.js";
import { MAX_STATE_BYTES } from "../state/document.js";
import { decodeUtf8AsGo } from "../state/utf8.js";

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
    throw new RunscIndexError("ERR_IO", `reading state file "${file}": ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CorruptStateError(path.basename(file), "not a regular file");
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

export interface WriteOptions {
  /** fsync the file and the directory: for roots on disk (runsc's root is usually tmpfs). */
  readonly durable?: boolean;
}

/**
 * writeStateLocked replaces the state file atomically: write a temporary file
 * in the same directory, then rename it over the state file. Readers never
 * see a torn file, unlike runsc's in-place os.WriteFile. An existing file's
 * mode and owner are kept. `data` is the text or the exact bytes to write.
 * Returns the new file's stat.
 * Throws ERR_IO; the previous file is then untouched.
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
  const previous = fs.statSync(file, { throwIfNoEntry: false });
  try {
    writeTempFile(temp, data, previous, options.durable === true);
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw new RunscIndexError("ERR_IO", `writing state file "${file}": ${(e as Error).message}`, { cause: e });
  }
  if (options.durable) fsyncDirectory(dir);
  return fileInfoOf(fs.statSync(file));
}

function writeTempFile(
  temp: string,
  data: string | Uint8Array,
  previous: fs.Stats | undefined,
  durable: boolean,
): void {
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, STATE_FILE_MODE);
  try {
    fs.writeFileSync(fd, data);
    // The umask may have narrowed the mode; runsc's files are 0640.
    fs.fchmodSync(fd, previous ? previous.mode & 0o7777 : STATE_FILE_MODE);
    if (previous && (previous.uid !== process.getuid?.() || previous.gid !== process.getgid?.())) {
      fs.fchownSync(fd, previous.uid, previous.gid);
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

/** removeStateLocked unlinks the state file; false when it was already gone. */
export function removeStateLocked(lock: HeldLock, file: string): boolean {
  assertHeld(lock, "removeStateLocked");
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (isErrnoException(e, "ENOENT")) return false;
    throw new RunscIndexError("ERR_IO", `removing state file "${file}": ${(e as Error).message}`, { cause: e });
  }
}

/** removeLockFileLocked unlinks the lock file while holding it, as runsc's Destroy does last. */
export function removeLockFileLocked(lock: HeldLock): void {
  assertHeld(lock, "removeLockFileLocked");
  fs.rmSync(lock.path, { force: true });
}
