import type { ExportOptions } from "../../export/pg-exporter.js";
import type { MetricsServer, WatchMetrics } from "../../metrics/metrics.js";
import type { StoreEvent, StoreEventType } from "../../watch/events.js";
import type { WatchOptions } from "../../watch/watcher.js";
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
 * watch keeps the index live until SIGINT or SIGTERM and prints each event
 * logged in the index, one line each, written as it comes. While it runs,
 * other runsc-index processes trust the index without rescanning. Once it is
 * ready it writes `watching <root>` to stderr and tells systemd (READY=1 when
 * NOTIFY_SOCKET is set). Errors while draining or exporting are printed
 * (secrets masked) and the watch goes on. Throws ERR_INDEX_SCHEMA,
 * ERR_INVALID_ARGUMENT (at start), ERR_IO (at start, or when the root is
 * deleted or replaced under it: exit 1).
 */
export async function watch(options: WatchCommandOptions, io: Io, signals: StopSignals = process): Promise<void> {
  // Listen before starting: a signal during the initial pass ends the watch as soon as it is up.
  const abort = new AbortController();
  const stop = () => abort.abort();
  signals.once("SIGINT", stop);
  signals.once("SIGTERM", stop);
  try {
    await withStore(options, { inotify: true, buildsIndex: true }, async (store) => {
      const metrics = await newMetrics(options.metrics);
      const server = metrics && options.metrics ? await metrics.serve(options.metrics) : undefined;
      const { sdNotify } = await import("../../watch/sd-notify.js");
      try {
        const watcher = await store.watch(watchOptions(options, io, metrics?.metrics));
        let failure: unknown;
        watcher.done.catch((e) => {
          failure = e;
          abort.abort();
        });
        try {
          io.err(`watching ${store.root} (stop with Ctrl-C)\n`);
          if (server) io.err(`metrics at ${server.url}\n`);
          if (watcher.exporter) io.err(`exporting as host "${watcher.exporter.host}"\n`);
          sdNotify(`READY=1\nSTATUS=watching ${store.root}\nMAINPID=${process.pid}`);
          const events = store.events({
            watch: false,
            signal: abort.signal,
            ...(options.since === undefined ? {} : { since: options.since }),
          });
          for await (const e of events) {
            if (matches(e, options)) io.out(options.json ? `${JSON.stringify(e)}\n` : `${textOf(e)}\n`);
          }
          sdNotify("STOPPING=1");
          if (failure) throw failure;
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
    metrics,
    export: exportOptions(options, io),
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

/** newMetrics loads prom-client only when metrics are asked for (it costs ~100 ms to load). */
async function newMetrics(
  listen: string | undefined,
): Promise<{ metrics: WatchMetrics; serve: (at: string) => Promise<MetricsServer> } | undefined> {
  if (listen === undefined) return undefined;
  const { WatchMetrics, serveMetrics } = await import("../../metrics/metrics.js");
  const metrics = new WatchMetrics();
  return { metrics, serve: (at) => serveMetrics(metrics, at) };
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
