import type { StoreEvent, StoreEventType } from "../../watch/events.js";
import type { Io } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface WatchCommandOptions extends GlobalOptions {
  /** One JSON object per event (as `podman events --format json`). */
  readonly json?: boolean | undefined;
  /** Print the logged events after this sequence number first. */
  readonly since?: number | undefined;
  /** Only events of this container (full ID). */
  readonly container?: string | undefined;
  /** Only events of this sandbox (full ID). */
  readonly sandbox?: string | undefined;
  /** Only events of these types. */
  readonly type?: readonly StoreEventType[] | undefined;
}

/** What ends a watch; process by default (tests may pass an emitter). */
export interface StopSignals {
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

/**
 * watch keeps the index live until SIGINT or SIGTERM and prints each event
 * logged in the index, one line each, written as it comes. While it runs,
 * other runsc-index processes trust the index without rescanning. Once it is
 * ready it writes `watching <root>` to stderr. Errors while draining are
 * printed and the watch goes on. Throws ERR_INDEX_SCHEMA, ERR_IO (at start, or
 * when the root is deleted or replaced under it: exit 1).
 */
export async function watch(options: WatchCommandOptions, io: Io, signals: StopSignals = process): Promise<void> {
  // Listen before starting: a signal during the initial pass ends the watch as soon as it is up.
  const abort = new AbortController();
  const stop = () => abort.abort();
  signals.once("SIGINT", stop);
  signals.once("SIGTERM", stop);
  try {
    await withStore(options, { inotify: true }, async (store) => {
      const watcher = await store.watch({ onError: (e) => io.err(`runsc-index: watch: ${oneLine(e)}\n`) });
      let failure: unknown;
      watcher.done.catch((e) => {
        failure = e;
        abort.abort();
      });
      try {
        io.err(`watching ${store.root} (stop with Ctrl-C)\n`);
        const events = store.events({
          watch: false,
          signal: abort.signal,
          ...(options.since === undefined ? {} : { since: options.since }),
        });
        for await (const e of events) {
          if (matches(e, options)) io.out(options.json ? `${JSON.stringify(e)}\n` : `${textOf(e)}\n`);
        }
        if (failure) throw failure;
      } finally {
        await watcher.stop();
      }
    });
  } finally {
    signals.off("SIGINT", stop);
    signals.off("SIGTERM", stop);
  }
}

/** events is `watch --json`: the event stream for scripts. */
export function events(options: WatchCommandOptions, io: Io, signals: StopSignals = process): Promise<void> {
  return watch({ ...options, json: true }, io, signals);
}

function matches(e: StoreEvent, o: WatchCommandOptions): boolean {
  if (o.type && !o.type.includes(e.type)) return false;
  if (o.container === undefined && o.sandbox === undefined) return true;
  if (!("containerId" in e)) return false;
  return (o.container ?? e.containerId) === e.containerId && (o.sandbox ?? e.sandboxId) === e.sandboxId;
}

/** textOf: `<seq> <time> <type> <container> (sandbox <sandbox>) <before> -> <after>`. */
function textOf(e: StoreEvent): string {
  const head = `${e.seq} ${e.time} ${e.type}`;
  switch (e.type) {
    case "created":
      return `${head} ${e.containerId} (sandbox ${e.sandboxId}) ${e.status}`;
    case "updated":
      return `${head} ${e.containerId} (sandbox ${e.sandboxId}) ${e.statusBefore} -> ${e.status}`;
    case "removed":
    case "stopped":
      return `${head} ${e.containerId} (sandbox ${e.sandboxId}) ${e.statusBefore}`;
    case "overflow":
      return `${head} inotify queue overflowed: rescanning`;
    case "resync":
      return `${head} ${JSON.stringify(e.differences)}`;
    case "gap":
      return `${head} from ${e.missedFrom}: ${e.reason}`;
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
}
