import type { Io } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface WatchCommandOptions extends GlobalOptions {
  /** One JSON object per change: {"event":"changed"|"removed","containerId","sandboxId"}. */
  readonly json?: boolean | undefined;
  /** How often to drain inotify, in ms (the library's default when undefined). */
  readonly interval?: number | undefined;
}

/** What ends a watch; process by default (tests may pass an emitter). */
export interface StopSignals {
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

/**
 * watch keeps the index live until SIGINT or SIGTERM, printing one line per
 * state file that appeared, changed or went away. While it runs, other
 * runsc-index processes trust the index without rescanning. Once it is ready
 * it writes `watching <root>` to stderr. Errors while draining are printed
 * and the watch goes on. Throws ERR_INDEX_SCHEMA, ERR_IO (at start only).
 */
export async function watch(options: WatchCommandOptions, io: Io, signals: StopSignals = process): Promise<void> {
  // Listen before starting: a signal during the initial pass ends the watch as soon as it is up.
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  signals.once("SIGINT", stop);
  signals.once("SIGTERM", stop);
  try {
    await withStore(options, { inotify: true, buildsIndex: true }, async (store) => {
      const watcher = await store.watch({
        ...(options.interval === undefined ? {} : { intervalMs: options.interval }),
        onChange: (kind, ids) =>
          io.out(
            options.json
              ? `${JSON.stringify({ event: kind, containerId: ids.containerId, sandboxId: ids.sandboxId })}\n`
              : `${kind} ${ids.containerId} (sandbox ${ids.sandboxId})\n`,
          ),
        onError: (e) => io.err(`runsc-index: watch: ${oneLine(e)}\n`),
      });
      try {
        io.err(`watching ${store.root} (stop with Ctrl-C)\n`);
        await stopped;
      } finally {
        await watcher.stop();
      }
    });
  } finally {
    signals.off("SIGINT", stop);
    signals.off("SIGTERM", stop);
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
}
