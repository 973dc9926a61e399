import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import type { IndexPlace } from "../index/index-file.js";
import { openIndex, openMemoryIndex } from "../index/open-index.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import type { LockWait } from "../lock/flock.js";
import { lstatOrUndefined } from "../native/safe-fs.js";
import { Store } from "./store.js";

export interface OpenStoreOptions {
  /** runsc's root directory (its --root). */
  readonly root: string;
  /** The index database; default `<root>/.runsc-index/index.db`. */
  readonly index?: string;
  /** Give up waiting for a container's lock after this long (ERR_LOCK_TIMEOUT); default: wait forever, as runsc does. */
  readonly lockTimeoutMs?: number;
  /** fsync state files and the root after each write (for roots on disk; runsc's are usually tmpfs). */
  readonly durable?: boolean;
  /**
   * Refuse create/save/update/destroy, and create nothing: not the root, not
   * the index directory, not an index. Without an index (or without the
   * right to open it) the store answers from the files through an index in memory.
   */
  readonly readonly?: boolean;
  /**
   * Watch the root with inotify so each call only drains events (default
   * true). Short-lived processes that make one call save the set-up by
   * passing false; each call then checks the recorded sync instead, and
   * when it no longer holds a lookup answers from one listing of the root
   * (as runsc does) and leaves the index's names to the next list, query,
   * reconcile or watcher.
   */
  readonly inotify?: boolean;
}

const KNOWN_OPTIONS = new Set(["root", "index", "lockTimeoutMs", "durable", "readonly", "inotify"]);
const MISSPELLED: Record<string, string> = {
  readOnly: "readonly",
  indexPath: "index",
  lockTimeout: "lockTimeoutMs",
  rootDir: "root",
};

/** The index lives in a directory of its own: SQLite's -wal/-shm churn must not touch the root's mtime. */
export const INDEX_DIR = ".runsc-index";

/**
 * openStore opens runsc's state directory and its index (created, migrated
 * or rebuilt as needed). Throws ERR_INVALID_ARGUMENT for bad options,
 * ERR_INDEX_SCHEMA for an index from a newer runsc-index.
 */
export function openStore(options: OpenStoreOptions): Store {
  // Validate arguments
  if (typeof options !== "object" || options === null) throw invalidOption("openStore needs an options object");
  for (const key of Object.keys(options)) {
    if (MISSPELLED[key]) throw invalidOption(`misspelled option "${key}" should be "${MISSPELLED[key]}"`);
    if (!KNOWN_OPTIONS.has(key)) throw invalidOption(`unknown option "${key}"`);
  }
  if (typeof options.root !== "string" || options.root === "") throw invalidOption('"root" must be a non-empty path');
  const { lockTimeoutMs } = options;
  if (lockTimeoutMs !== undefined && !(Number.isFinite(lockTimeoutMs) && lockTimeoutMs >= 0)) {
    throw invalidOption('"lockTimeoutMs" must be a number of milliseconds >= 0');
  }
  // Interpret options
  const root = path.resolve(options.root);
  const indexPath = path.resolve(options.index ?? path.join(root, INDEX_DIR, "index.db"));
  const lockWait: LockWait = lockTimeoutMs === undefined ? "block" : { timeoutMs: lockTimeoutMs };
  const place: IndexPlace = { ownDirectory: options.index === undefined };
  const readonly = options.readonly === true;
  // The default index lives inside the root: create the root as runsc would (MkdirAll 0711) first.
  if (!readonly && place.ownDirectory) createRoot(root);
  const index = readonly ? openExistingIndex(indexPath, place) : openIndex(indexPath, place);
  return new Store(
    {
      root,
      indexPath,
      indexPlace: place,
      memoryIndex: index === undefined,
      lockWait,
      durable: options.durable === true,
      readonly,
      inotify: options.inotify !== false,
    },
    index ?? openMemoryIndex(),
  );
}

/**
 * openExistingIndex opens the index when there is one this process may
 * open; undefined when there is none (nothing is created) or the host does
 * not let it (permission, a read-only or full disk). Throws as openIndex does for anything else (a planted or foreign file).
 */
function openExistingIndex(indexPath: string, place: IndexPlace): SqliteIndex | undefined {
  try {
    if (lstatOrUndefined(indexPath) === undefined) return undefined;
    return openIndex(indexPath, place);
  } catch (e) {
    if (isHostLimit(e)) return undefined;
    throw e;
  }
}

/**
 * isHostLimit: the index could not be opened because of the host (no
 * permission, a read-only or full disk), not because of what is at its path.
 */
function isHostLimit(e: unknown): boolean {
  for (let err = e; err instanceof Error; err = err.cause) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT"].includes(code)) return true;
    if (/^SQLITE_(READONLY|CANTOPEN|IOERR|FULL)/.test(code)) return true;
  }
  return false;
}

function invalidOption(message: string): RunscIndexError {
  return new RunscIndexError("ERR_INVALID_ARGUMENT", `openStore: ${message}`);
}

function createRoot(root: string): void {
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
  } catch (e) {
    throw new RunscIndexError("ERR_IO", `creating root "${root}": ${(e as Error).message}`, { cause: e });
  }
}
