/**
 * Opening the store for one command. Every command opens it so that no state
 * file is ever written. Read commands (find, list, state, show, query,
 * doctor) open it readonly: they create nothing (no root, no index
 * directory, no index) and, without an index they may open, answer from the
 * files through an index in memory. reconcile, watch and prune build and
 * maintain the index.
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
  /** Which runsc release's bytes to print (runsc-flavor.ts); default: the environment, then the host's runsc. */
  readonly runscFormat?: string | undefined;
}

/** How a command uses the store. */
export interface OpenHow {
  /** Set up an inotify watch (only commands that make many calls gain from it). */
  readonly inotify: boolean;
  /** The command builds the index (reconcile, watch, prune): it may create the root's index. */
  readonly buildsIndex?: boolean;
  /** Where a read command says that the root does not exist (runsc itself prints nothing). */
  readonly io?: Io;
  /** Show a progress bar there while an index is built for the first time (a terminal only). */
  readonly progressOn?: Io;
}

/**
 * openForCommand opens the store. One-shot commands pass inotify false: they
 * make one call, so setting up a watch would only cost time; each call then
 * checks the index's recorded sync instead. Throws ERR_INDEX_SCHEMA, ERR_INVALID_ARGUMENT, ERR_IO.
 */
export function openForCommand(options: GlobalOptions, how: OpenHow): Store {
  const readonly = how.buildsIndex !== true;
  if (readonly && how.io !== undefined && !rootExists(options.root)) {
    how.io.err(`runsc-index: root "${path.resolve(options.root)}" does not exist\n`);
  }
  return openStore({
    root: options.root,
    ...(options.index === undefined ? {} : { index: options.index }),
    ...(options.lockTimeout === undefined ? {} : { lockTimeoutMs: options.lockTimeout }),
    readonly,
    inotify: how.inotify,
  });
}

function rootExists(root: string): boolean {
  try {
    fs.lstatSync(root);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/**
 * withStore runs fn with a store opened for the command and always closes
 * it. With `progressOn`, an index built for the first time (none existed)
 * is built first with a progress bar when that Io's stderr is a terminal.
 */
export async function withStore<T>(
  options: GlobalOptions,
  how: OpenHow,
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
