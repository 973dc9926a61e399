import type { ExportOptions } from "../../export/pg-exporter.js";
import type { MetricsServer, WatchMetrics } from "../../metrics/metrics.js";
import type { Store } from "../../store/store.js";
import type { WatchOptions } from "../../watch/watcher.js";
import type { Io } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface WatchCommandOptions extends GlobalOptions {
  /** One JSON object per change: {"event":"changed"|"removed","containerId","sandboxId"}. */
  readonly json?: boolean | undefined;
  /** How often to drain inotify, in ms (the library's default when undefined). */
  readonly interval?: number | undefined;
  /** Keep this host's rows in PostgreSQL current (postgres:// URL; "" for libpq's PG* environment). */
  readonly export?: string | undefined;
  /** The host name of the exported rows (default: os.hostname()). */
  readonly host?: string | undefined;
  /** Serve Prometheus metrics at http://<this>/metrics ("127.0.0.1:9464"). */
  readonly metrics?: string | undefined;
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
 * it writes `watching <root>` to stderr and tells systemd (READY=1 when
 * NOTIFY_SOCKET is set). Errors while draining or exporting are printed
 * (secrets masked) and the watch goes on. Throws ERR_INDEX_SCHEMA, ERR_IO,
 * ERR_INVALID_ARGUMENT (at start only).
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
      const { metrics, server } = await startMetrics(store, options.metrics);
      const { sdNotify } = await import("../../watch/sd-notify.js");
      try {
        const watcher = await store.watch(watchOptions(options, io, metrics));
        try {
          io.err(`watching ${store.root} (stop with Ctrl-C)\n`);
          if (server) io.err(`metrics at ${server.url}\n`);
          if (watcher.exporter) io.err(`exporting as host "${watcher.exporter.host}"\n`);
          sdNotify(`READY=1\nSTATUS=watching ${store.root}\nMAINPID=${process.pid}`);
          await stopped;
          sdNotify("STOPPING=1");
        } finally {
          await watcher.stop();
        }
      } finally {
        await server?.close();
      }
    });
  } finally {
    signals.off("SIGINT", stop);
    signals.off("SIGTERM", stop);
  }
}

function watchOptions(options: WatchCommandOptions, io: Io, metrics: WatchMetrics | undefined): WatchOptions {
  return {
    ...(options.interval === undefined ? {} : { intervalMs: options.interval }),
    metrics,
    export: exportOptions(options, io),
    onChange: (kind, ids) =>
      io.out(
        options.json
          ? `${JSON.stringify({ event: kind, containerId: ids.containerId, sandboxId: ids.sandboxId })}\n`
          : `${kind} ${ids.containerId} (sandbox ${ids.sandboxId})\n`,
      ),
    onError: (e) => io.err(`runsc-index: watch: ${oneLine(e)}\n`),
  };
}

function exportOptions(options: WatchCommandOptions, io: Io): ExportOptions | undefined {
  if (options.export === undefined) return undefined;
  return {
    to: options.export || undefined,
    host: options.host,
    onError: (e) => io.err(`runsc-index: export: ${oneLine(e)} (retrying)\n`),
  };
}

async function startMetrics(
  store: Store,
  listen: string | undefined,
): Promise<{ metrics?: WatchMetrics; server?: MetricsServer }> {
  if (listen === undefined) return {};
  const { WatchMetrics, serveMetrics } = await import("../../metrics/metrics.js");
  const metrics = new WatchMetrics(() => store.index);
  return { metrics, server: await serveMetrics(metrics, listen) };
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
}
