/**
 * The watcher keeps the index live in the background: it drains the store's
 * inotify watch on a short timer, reads files that changed, and publishes in
 * `meta` when it last drained. Other processes (the CLI) trust the index
 * without a rescan once that time is later than the start of their call.
 */
import fs from "node:fs";
import { type Candidate, RunscIndexError } from "../errors.js";
import type { ExportOptions, PgExporter } from "../export/pg-exporter.js";
import type { WatchMetrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";

export interface WatchOptions {
  /** How often to drain, in ms (default 20): the most a reader in another process waits. */
  readonly intervalMs?: number;
  /** Called for each state file that appeared, changed or was removed. */
  readonly onChange?: (kind: "changed" | "removed", ids: Candidate) => void;
  /** Called when a drain fails; the watcher goes on. Default: ignore. */
  readonly onError?: (error: unknown) => void;
  /** Counts drains, events and passes here (and the export's, with `export`). */
  readonly metrics?: WatchMetrics | undefined;
  /** Also keep this host's rows in PostgreSQL current (see export/pg-exporter.ts). */
  readonly export?: ExportOptions | undefined;
}

export const DEFAULT_WATCH_INTERVAL_MS = 20;

export class Watcher {
  readonly #store: Store;
  readonly #options: WatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #stopped = false;
  #generation = Number.NaN;
  #exporter: PgExporter | undefined;

  private constructor(store: Store, options: WatchOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** start brings the index in line (one incremental pass), then drains every intervalMs until stop(). */
  static async start(store: Store, options: WatchOptions = {}): Promise<Watcher> {
    const w = new Watcher(store, options);
    store.names.onChange = (kind, ids) => {
      options.metrics?.changed(kind);
      w.#exporter?.noteChange(ids);
      options.onChange?.(kind, ids);
    };
    fs.mkdirSync(store.root, { recursive: true, mode: 0o711 }); // as runsc creates it: there must be a directory to watch
    const report = await store.reconcile();
    options.metrics?.reconciled(report.durationMs);
    if (Number.isNaN(store.names.generation)) {
      throw new RunscIndexError(
        "ERR_INVALID_ARGUMENT",
        `watching "${store.root}" needs inotify: open the store without inotify: false, on an existing root`,
      );
    }
    store.index.meta.set("watcher_pid", process.pid);
    w.#generation = store.names.generation;
    if (options.export) {
      const { PgExporter } = await import("../export/pg-exporter.js");
      w.#exporter = PgExporter.start(() => store.index, store.root, { ...options.export, metrics: options.metrics });
    }
    await w.#tick();
    w.#timer = setInterval(() => void w.#tick(), options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS);
    return w;
  }

  /** The live export, when started with `export`. */
  get exporter(): PgExporter | undefined {
    return this.#exporter;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  /** stop ends the timer and withdraws this process as the index's watcher. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    while (this.#busy) await new Promise((r) => setTimeout(r, 1));
    this.#store.names.onChange = undefined;
    await this.#exporter?.stop();
    try {
      if (this.#store.index.meta.get("watcher_pid") === String(process.pid))
        this.#store.index.meta.delete("watcher_pid");
    } catch {
      // The store may already be closed; the pid check in readers covers a stale entry.
    }
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    // Every change completed before this instant is in the queue we are about to drain.
    const drainStartMs = Date.now();
    try {
      await this.#store.refresh();
      this.#store.index.meta.set("watcher_drained_at_ms", drainStartMs);
      this.#noteDrained(drainStartMs);
    } catch (e) {
      this.#options.onError?.(e);
    } finally {
      this.#busy = false;
    }
  }

  /** #noteDrained tells metrics and the export; a new generation means events were lost and names rescanned. */
  #noteDrained(drainStartMs: number): void {
    this.#options.metrics?.drained(drainStartMs, Date.now() - drainStartMs);
    const generation = this.#store.names.generation;
    if (!Object.is(generation, this.#generation)) {
      this.#generation = generation;
      this.#options.metrics?.eventsLost();
      this.#exporter?.eventsLost();
    }
    this.#exporter?.drained();
  }
}
