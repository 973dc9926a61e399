/**
 * Opening the store for one command. Every command opens it readonly: the
 * command line reads state files and maintains the index, and never writes a
 * state file.
 */
import { openStore } from "../../store/open-store.js";
import type { Store } from "../../store/store.js";

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

/** withStore runs fn with a store opened for the command and always closes it. */
export async function withStore<T>(
  options: GlobalOptions,
  how: { readonly inotify: boolean },
  fn: (store: Store) => T | Promise<T>,
): Promise<T> {
  const store = openForCommand(options, how);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
