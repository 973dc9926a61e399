/**
 * Prometheus metrics of a long-running `watch` (and its export), in one
 * registry per watcher. The watcher and the exporter report through the few
 * methods of WatchMetrics; counts of containers and invalid files are read
 * from the index at scrape time, so they always match it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { RunscIndexError } from "../errors.js";
import type { SqliteIndex } from "../index/sqlite-index.js";

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class WatchMetrics {
  readonly registry = new Registry();
  #lastDrainMs: number | undefined;
  readonly #events;
  readonly #drains;
  readonly #eventsLost;
  readonly #reconcile;
  readonly #exportResyncs;
  readonly #exportRows;
  readonly #exportLag;
  readonly #exportErrors;
  readonly #exportUp;

  #source: (() => SqliteIndex) | undefined;

  /** @internal attach gives the index to count from (the watcher does; the store may replace it after repairing a corrupt one). */
  attach(source: () => SqliteIndex): void {
    this.#source = source;
  }

  constructor() {
    const source = () => this.#source?.();
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: "runsc_index_containers",
      help: "Containers in the index by stored status (pending: not read yet; invalid: unreadable file).",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const [status, n] of countBy(source(), STATUS_SQL)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: "runsc_index_containers_by_namespace",
      help: 'Containers in the index by Kubernetes pod namespace ("" outside Kubernetes).',
      labelNames: ["namespace"],
      registers,
      collect() {
        this.reset();
        for (const [namespace, n] of countBy(source(), NAMESPACE_SQL)) this.set({ namespace }, n);
      },
    });
    new Gauge({
      name: "runsc_index_invalid_files",
      help: "State files that could not be indexed (see runsc-index doctor).",
      registers,
      collect() {
        const index = source();
        if (index !== undefined) this.set(index.invalidFiles().length);
      },
    });
    new Gauge({
      name: "runsc_index_last_drain_age_seconds",
      help: "Seconds since the watcher last drained inotify into the index (-1 before the first drain).",
      registers,
      collect() {
        this.set(self.#lastDrainMs === undefined ? -1 : (Date.now() - self.#lastDrainMs) / 1000);
      },
    });
    this.#events = new Counter({
      name: "runsc_index_events_total",
      help: "Events logged in the index while this watcher ran, by type (created, updated, removed, stopped, overflow, resync).",
      labelNames: ["type"],
      registers,
    });
    this.#drains = new Counter({ name: "runsc_index_drains_total", help: "Drains of the inotify queue.", registers });
    this.#eventsLost = new Counter({
      name: "runsc_index_inotify_overflows_total",
      help: "Times inotify events were lost (queue overflow or watch restart) and the names were rescanned.",
      registers,
    });
    this.#reconcile = new Histogram({
      name: "runsc_index_reconcile_duration_seconds",
      help: "Duration of passes bringing the index in line: the initial reconcile and every drain.",
      labelNames: ["kind"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#exportResyncs = new Counter({
      name: "runsc_index_export_resyncs_total",
      help: "Full diffs of the host's rows in PostgreSQL against the index, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.#exportRows = new Counter({
      name: "runsc_index_export_rows_total",
      help: "Rows written to PostgreSQL, by operation (upsert, delete).",
      labelNames: ["op"],
      registers,
    });
    this.#exportLag = new Histogram({
      name: "runsc_index_export_lag_seconds",
      help: "Time from a change applied to the index to its commit in PostgreSQL.",
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#exportErrors = new Counter({
      name: "runsc_index_export_errors_total",
      help: "Failed connections or writes to PostgreSQL (each is retried with backoff).",
      registers,
    });
    this.#exportUp = new Gauge({
      name: "runsc_index_export_connected",
      help: "1 while the exporter is connected to PostgreSQL and in sync, else 0.",
      registers,
    });
  }

  /** drained records a successful drain that started at startedAtMs and took durationMs. */
  drained(startedAtMs: number, durationMs: number): void {
    this.#lastDrainMs = startedAtMs;
    this.#drains.inc();
    this.#reconcile.observe({ kind: "drain" }, durationMs / 1000);
  }

  reconciled(durationMs: number): void {
    this.#reconcile.observe({ kind: "initial" }, durationMs / 1000);
  }

  /** logged counts an event of the index's log (created, updated, removed, stopped, overflow, resync). */
  logged(type: string): void {
    this.#events.inc({ type });
  }

  eventsLost(): void {
    this.#eventsLost.inc();
  }

  exportResynced(reason: "connect" | "events-lost"): void {
    this.#exportResyncs.inc({ reason });
  }

  /** exportWrote records a committed batch and, per change it carried, the ms since the change. */
  exportWrote(upserts: number, deletes: number, lagsMs: readonly number[]): void {
    if (upserts > 0) this.#exportRows.inc({ op: "upsert" }, upserts);
    if (deletes > 0) this.#exportRows.inc({ op: "delete" }, deletes);
    for (const ms of lagsMs) this.#exportLag.observe(ms / 1000);
  }

  exportFailed(): void {
    this.#exportErrors.inc();
  }

  exportConnected(up: boolean): void {
    this.#exportUp.set(up ? 1 : 0);
  }

  /** text is the exposition in Prometheus' text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

const STATUS_SQL = `SELECT CASE WHEN pending THEN 'pending' WHEN status IS NULL THEN 'invalid' ELSE status END, count(*)
  FROM containers GROUP BY 1`;
const NAMESPACE_SQL =
  "SELECT coalesce(pod_namespace, ''), count(*) FROM containers WHERE status IS NOT NULL AND NOT pending GROUP BY 1";

/** countBy: [label, count] rows; none before a watcher attached an index. */
function countBy(index: SqliteIndex | undefined, sql: string): [string, number][] {
  return index === undefined ? [] : (index.db.prepare(sql).raw().all() as [string, number][]);
}

export interface MetricsServer {
  /** http://host:port/metrics as bound (port 0 resolved). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * serveMetrics serves GET /metrics on `listen` ("host:port"; port 0 picks a
 * free one). Throws ERR_INVALID_ARGUMENT for a malformed address, ERR_IO when
 * it cannot listen.
 */
export async function serveMetrics(metrics: WatchMetrics, listen: string): Promise<MetricsServer> {
  const m = /^(.*):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) {
    throw new RunscIndexError("ERR_INVALID_ARGUMENT", `metrics address "${listen}" is not host:port`);
  }
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("runsc-index: only GET /metrics is served\n");
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
      (e) => res.writeHead(500, { "content-type": "text/plain" }).end(`${e instanceof Error ? e.message : e}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(new RunscIndexError("ERR_IO", `serving metrics on "${listen}": ${e.message}`, { cause: e })),
    );
    server.listen(Number(m[2]), host, resolve);
  });
  server.unref();
  const { address, port } = server.address() as AddressInfo;
  const shown = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${shown}:${port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
