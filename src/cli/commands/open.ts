/**
 * Opening the store for one command. Every command opens it readonly: the
 * command line reads state files and maintains the index, and never writes a
 * state file.
 */
import fs from "node:fs";
import path from "node:path";
import { INDEX_DIR, openStore } from "../../store/open-store.js";
import type { Store } from "../../store/store.js";
import type { Io } from "../output.js";

/** The options every command takes (before the command name). */
export interface GlobalOptions {
  /** runsc's root directory. */
  readonly root: string;
  /** The index database; default `<root>/.runsc-index/index.db`. */
  readonly index?: string | undefined;
  /** Give up waiting for a container's lock after this many ms (ERR_LOCK_TIMEOUT); default: wait as runsc does. */
  readonly lockTimeout?: number | undefined;
}

/**
 * openForCommand opens the store. One-shot commands pass inotify false: they
 * make one call, so setting up a watch would only cost time; each call then
 * checks the index's recorded sync instead. Throws ERR_INDEX_SCHEMA, ERR_INVALID_ARGUMENT.
 */
export function openForCommand(options: GlobalOptions, how: { readonly inotify: boolean }): Store {
  return openStore({
    root: options.root,
    ...(options.index === undefined ? {} : { index: options.index }),
    ...(options.lockTimeout === undefined ? {} : { lockTimeoutMs: options.lockTimeout }),
    readonly: true,
    inotify: how.inotify,
  });
}

/**
 * withStore runs fn with a store opened for the command and always closes
 * it. With `progressOn`, an index built for the first time (none existed)
 * is built first with a progress bar when that Io's stderr is a terminal.
 */
export async function withStore<T>(
  options: GlobalOptions,
  how: { readonly inotify: boolean; readonly progressOn?: Io },
  fn: (store: Store) => T | Promise<T>,
): Promise<T> {
  const progressOn = how.progressOn?.errIsTTY ? how.progressOn : undefined;
  const firstBuild = progressOn !== undefined && fs.existsSync(options.root) && !fs.existsSync(indexPathOf(options));
  const store = openForCommand(options, how);
  try {
    if (firstBuild) {
      const { buildIndexWithProgress } = await import("../progress.js");
      await buildIndexWithProgress(store, progressOn);
    }
    return await fn(store);
  } finally {
    store.close();
  }
}

/** indexPathOf is where openStore puts the index for these options. */
function indexPathOf(options: GlobalOptions): string {
  return path.resolve(options.index ?? path.join(path.resolve(options.root), INDEX_DIR, "index.db"));
}
