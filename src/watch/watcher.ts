/**
 * The watcher keeps the index live and the event log complete. A poll thread
 * (poll-worker.ts) blocks on the root's inotify watch, on the vouch
 * directory, and on a pidfd per live sandbox; the main thread wakes only when
 * one is ready. Idle, it uses no CPU and writes nothing.
 *
 * On a change it drains the watch and reads the changed files (the index logs
 * each new file version as an event, see index/event-log.ts); on a vouch
 * request it does the same and publishes when it drained; when a sandbox
 * process exits it logs `stopped` for that sandbox's live containers (a PID
 * already gone when the watcher first sees it is not reported: that death was
 * not observed, and `list` shows such a container stopped anyway); on a
 * queue overflow it logs `overflow`, rescans, and logs `resync` with the
 * differences the rescan found. If the root is deleted, replaced, or its
 * symlink retargeted, the watcher fails (`done` rejects): it never goes on
 * watching a dead directory.
 */
import fs from "node:fs";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { RunscIndexError } from "../errors.js";
import type { ExportOptions, PgExporter } from "../export/pg-exporter.js";
import type { Freshness } from "../freshness/freshness.js";
import { SETTLE_DELAY_MS } from "../freshness/freshness.js";
import { DirectoryWatch } from "../freshness/inotify.js";
import { processStartTicks, rootIdOf, vouchDirOf, type WatcherIdentity, watcherKey } from "../freshness/vouch.js";
import { type IdPair, idPairKey } from "../ids/id.js";
import type { RootDir } from "../ids/root-dir.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import type { WatchMetrics } from "../metrics/metrics.js";
import { closeFd, eventfdCreate, eventfdSignal, IN_CLOSE_WRITE, IN_CREATE, IN_MOVED_TO } from "../native/libc.js";
import type { ReconcileReport } from "../reconcile/reconcile.js";
import { spawnWorker } from "../reconcile/worker-pool.js";
import { LIVE_STATUSES, type Status } from "../state/status.js";
import type { PollReport, PollUpdate, PollWorkerData } from "./poll-worker.js";

export interface WatchOptions {
  /** Called when a drain fails; the watcher goes on. Default: ignore. */
  readonly onError?: (error: unknown) => void;
  /** Counts drains, events and passes here (and the export's, with `export`). */
  readonly metrics?: WatchMetrics | undefined;
  /** Also keep this host's rows in PostgreSQL current (see export/pg-exporter.ts). */
  readonly export?: ExportOptions | undefined;
}

/** @internal What a watcher uses of a store (given by Store.watch, never through public getters). */
export interface WatchTarget {
  readonly root: RootDir;
  readonly indexPath: string;
  /** The index in use (a corrupt one is replaced). */
  index(): SqliteIndex;
  freshness(): Freshness;
  /** Brings names and contents in line (reads what changed). */
  refresh(): Promise<void>;
  /** A full pass. */
  reconcile(): Promise<ReconcileReport>;
}

export class Watcher {
  readonly #target: WatchTarget;
  readonly #options: WatchOptions;
  readonly #identity: WatcherIdentity;
  readonly #vouchWatch: DirectoryWatch;
  /** Live containers by sandbox PID, to log `stopped` when that process exits. */
  readonly #byPid = new Map<number, Map<string, IdPair>>();
  /** The PID each tracked container is under. */
  readonly #pidOf = new Map<string, number>();
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #wake = -1;
  readonly #ack = new Int32Array(new SharedArrayBuffer(4));
  #polledRootFd: number | undefined;
  #changed: IdPair[] = [];
  #lost: ("overflow" | "gone")[] = [];
  #overflowSeq: number | undefined;
  #busy: Promise<void> | undefined;
  #again = false;
  #settleTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #exporter: PgExporter | undefined;
  #exporterStopped: Promise<void> | undefined;
  /** The last logged event counted into the metrics. */
  #countedSeq = 0;
  #resolveDone!: () => void;
  #rejectDone!: (e: unknown) => void;
  /** Resolves when the watcher is stopped; rejects (ERR_IO) when it fails: its root was deleted or replaced. */
  readonly done: Promise<void>;

  private constructor(target: WatchTarget, options: WatchOptions, identity: WatcherIdentity, vouch: DirectoryWatch) {
    this.#target = target;
    this.#options = options;
    this.#identity = identity;
    this.#vouchWatch = vouch;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.done.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
  }

  /**
   * @internal Store.watch starts watchers.
   * start brings the index in line (one incremental pass), registers this
   * process as a watcher, and starts the poll thread. Throws ERR_IO when the
   * root or the vouch directory cannot be watched (naming the inotify limit to
   * raise), ERR_INVALID_ARGUMENT when the store was opened without inotify.
   */
  static async start(target: WatchTarget, options: WatchOptions = {}): Promise<Watcher> {
    const root = target.root.path;
    fs.mkdirSync(root, { recursive: true, mode: 0o711 }); // as runsc creates it: there must be a directory to watch
    const vouchDir = vouchDirOf(target.indexPath);
    fs.mkdirSync(vouchDir, { recursive: true, mode: 0o755 });
    const rootId = rootIdOf(root);
    const startTicks = processStartTicks(process.pid);
    if (rootId === undefined || startTicks === undefined) {
      throw new RunscIndexError("ERR_IO", `watching "${root}": the root or /proc/self/stat cannot be read`);
    }
    const vouch = new DirectoryWatch(vouchDir, IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO);
    const w = new Watcher(target, options, { pid: process.pid, startTicks, rootId }, vouch);
    try {
      target.freshness().listen({ changed: (ids) => w.#noteChanged(ids), lost: (cause) => w.#noteLost(cause) });
      options.metrics?.attach(() => target.index());
      const report = await target.reconcile();
      options.metrics?.reconciled(report.durationMs);
      w.#countedSeq = target.index().events.lastSeq(); // the first pass's events are the index's, not this watch's
      if (!target.freshness().watching) {
        if (target.freshness().watchError) throw target.freshness().watchError;
        throw new RunscIndexError(
          "ERR_INVALID_ARGUMENT",
          `watching "${root}" needs inotify: open the store without inotify: false, on an existing root`,
        );
      }
      w.#changed = []; // the pass's own rows are loaded below
      w.#loadPids();
      w.#startPolling();
      if (options.export) {
        const { PgExporter } = await import("../export/pg-exporter.js");
        w.#exporter = PgExporter.start(() => target.index(), root, { ...options.export, metrics: options.metrics });
      }
      await w.#tick();
    } catch (e) {
      w.halt();
      throw e;
    }
    return w;
  }

  /** The live export, when started with `export`. */
  get exporter(): PgExporter | undefined {
    return this.#exporter;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  /** stop waits for a drain in progress, then stops polling and withdraws this watcher. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    while (this.#busy) await this.#busy;
    this.halt();
    await this.#exporterStopped;
  }

  /** halt stops at once (the store's close calls it): no more drains, registration withdrawn. Idempotent. */
  halt(): void {
    this.#shutDown();
    this.#resolveDone();
  }

  #shutDown(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#settleTimer);
    const [port, wake] = [this.#port, this.#wake];
    if (this.#worker) {
      // The poll thread leaves at its next look at the port (the eventfd wakes it, the ack releases it). It is
      // not terminated: ending a thread inside a native call can take the process down. Its descriptors are
      // closed once it is gone.
      this.#send({ stop: true });
      Atomics.store(this.#ack, 0, 1);
      Atomics.notify(this.#ack, 0);
      this.#worker.once("exit", () => {
        port?.close();
        if (wake >= 0) closeFd(wake);
      });
    } else {
      port?.close();
      if (wake >= 0) closeFd(wake);
    }
    this.#vouchWatch.close();
    this.#exporterStopped = this.#exporter?.stop(); // halt does not wait for it; stop() does
    try {
      this.#target.freshness().listen(undefined);
      this.#target.index().meta.delete(watcherKey(this.#identity));
    } catch {
      // The store may be closed already; readers check the PID and start time of a stale entry.
    }
  }

  #fail(error: unknown): void {
    this.#shutDown();
    this.#rejectDone(error);
  }

  #startPolling(): void {
    const wake = eventfdCreate();
    if (wake.result < 0) throw new RunscIndexError("ERR_IO", `eventfd: errno ${wake.errno}`);
    this.#wake = wake.result;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#polledRootFd = this.#target.freshness().watchFd;
    const data: PollWorkerData = {
      wake: this.#wake,
      ack: this.#ack,
      port: port2,
      update: { fds: this.#pollFds(), addPids: [...this.#byPid.keys()], quiet: true },
    };
    this.#worker = spawnWorker("poll-worker", import.meta.url, { workerData: data, transferList: [port2] });
    this.#worker.on("message", (r: PollReport) => void this.#onReport(r));
    this.#worker.on("error", (e) => this.#options.onError?.(e));
    this.#worker.unref();
  }

  #pollFds(): number[] {
    const rootFd = this.#target.freshness().watchFd;
    return rootFd === undefined ? [this.#vouchWatch.fd] : [rootFd, this.#vouchWatch.fd];
  }

  #send(update: PollUpdate): void {
    this.#port?.postMessage(update);
    if (this.#wake >= 0) eventfdSignal(this.#wake);
  }

  async #onReport(report: PollReport): Promise<void> {
    try {
      if (report.dead.length > 0) this.#logDeaths(report.dead);
      await this.#tick();
    } finally {
      // Let the poll thread poll again once what was ready is drained.
      Atomics.store(this.#ack, 0, 1);
      Atomics.notify(this.#ack, 0);
    }
  }

  /** #tick drains, reads what changed, handles lost events, and publishes the drain; one at a time. */
  async #tick(): Promise<void> {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return this.#busy;
    }
    this.#busy = this.#drainLoop();
    try {
      await this.#busy;
    } finally {
      this.#busy = undefined;
    }
  }

  async #drainLoop(): Promise<void> {
    do {
      this.#again = false;
      // Every change completed before this instant is in the queues we are about to drain.
      const drainStartMs = Date.now();
      try {
        this.#vouchWatch.drain();
        await this.#target.refresh();
        this.#exporter?.drained();
      } catch (e) {
        this.#options.onError?.(e);
      }
      if (this.#lost.includes("gone") || rootIdOf(this.#target.root.path) !== this.#identity.rootId) {
        this.#fail(
          new RunscIndexError(
            "ERR_IO",
            `watching "${this.#target.root.path}": the root was deleted, moved or replaced; restart the watch`,
          ),
        );
        return;
      }
      try {
        this.#logResync();
        this.#updatePids();
        this.#countEvents(drainStartMs);
        this.#target.index().meta.set(watcherKey(this.#identity), drainStartMs);
        if (this.#target.freshness().settling) this.#settleLater();
      } catch (e) {
        this.#options.onError?.(e);
      }
    } while (this.#again && !this.#stopped);
  }

  /** #countEvents tells the metrics about the drain and every event logged since the last one (by anyone). */
  #countEvents(drainStartMs: number): void {
    const metrics = this.#options.metrics;
    if (metrics === undefined) return;
    metrics.drained(drainStartMs, Date.now() - drainStartMs);
    const events = this.#target.index().events;
    for (let batch = events.after(this.#countedSeq); batch.length > 0; batch = events.after(this.#countedSeq)) {
      for (const e of batch) metrics.logged(e.type);
      this.#countedSeq = batch[batch.length - 1]!.seq;
    }
  }

  /** A racily recorded sync is recorded again once the racy moment passed (one write per burst). */
  #settleLater(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => void this.#tick(), SETTLE_DELAY_MS);
    this.#settleTimer.unref();
  }

  #noteChanged(ids: readonly IdPair[]): void {
    this.#changed.push(...ids);
    for (const id of ids) this.#exporter?.noteChange(id);

    if (!this.#busy && !this.#stopped) setImmediate(() => void this.#tick()); // drained by another caller (settling)
  }

  #noteLost(cause: "overflow" | "gone"): void {
    this.#lost.push(cause);
    this.#options.metrics?.eventsLost();
    this.#exporter?.eventsLost();
    if (cause === "overflow") {
      const index = this.#target.index();
      this.#overflowSeq = index.write(() => index.events.append("overflow", null, null, null, null, null));
    }
  }

  /** After an overflow's rescan: `resync` with the counts of events logged since the overflow. */
  #logResync(): void {
    const since = this.#overflowSeq;
    this.#lost = [];
    if (since === undefined) return;
    this.#overflowSeq = undefined;
    const index = this.#target.index();
    const counts: Record<string, number> = { created: 0, updated: 0, removed: 0 };
    for (let seq = since, batch = index.events.after(seq); batch.length > 0; batch = index.events.after(seq)) {
      for (const e of batch) if (e.type in counts) counts[e.type]!++;
      seq = batch[batch.length - 1]!.seq;
    }
    index.write(() => index.events.append("resync", null, null, null, null, null, JSON.stringify(counts)));
    // The watch was restarted: poll its new descriptor.
    const rootFd = this.#target.freshness().watchFd;
    if (rootFd !== this.#polledRootFd) {
      this.#polledRootFd = rootFd;
      this.#send({ fds: this.#pollFds() });
    }
  }

  #loadPids(): void {
    for (const row of this.#target.index().rows())
      this.#track(row as unknown as IdPair, row.status as Status | null, row.pid);
  }

  /** #updatePids follows the rows the last drains touched: watch new sandbox PIDs, forget ended ones. */
  #updatePids(): void {
    const addPids = new Set<number>();
    const removePids = new Set<number>();
    const index = this.#target.index();
    for (const ids of this.#changed.splice(0)) {
      const gone = this.#untrack(ids);
      if (gone !== undefined) removePids.add(gone);
      const row = index.row(ids);
      const added = row ? this.#track(ids, row.status as Status | null, row.pid) : undefined;
      if (added !== undefined) addPids.add(added);
    }
    for (const pid of addPids) removePids.delete(pid);
    if (addPids.size + removePids.size > 0)
      this.#send({ addPids: [...addPids], removePids: [...removePids], quiet: true });
  }

  /** #track records a live container under its PID; returns the PID if it is newly watched. */
  #track(ids: IdPair, status: Status | null, pid: number | null): number | undefined {
    if (status === null || !LIVE_STATUSES.includes(status) || !pid || pid <= 0) return undefined;
    const key = idPairKey(ids);
    const m = this.#byPid.get(pid) ?? new Map<string, IdPair>();
    const isNew = m.size === 0;
    this.#byPid.set(pid, m);
    m.set(key, { containerId: ids.containerId, sandboxId: ids.sandboxId });
    this.#pidOf.set(key, pid);
    return isNew ? pid : undefined;
  }

  /** #untrack forgets a container; returns its PID if no live container is left under it. */
  #untrack(ids: IdPair): number | undefined {
    const key = idPairKey(ids);
    const pid = this.#pidOf.get(key);
    if (pid === undefined) return undefined;
    this.#pidOf.delete(key);
    const m = this.#byPid.get(pid);
    m?.delete(key);
    if (m && m.size > 0) return undefined;
    this.#byPid.delete(pid);
    return pid;
  }

  /** #logDeaths logs `stopped` for the live containers of each exited sandbox process (once across watchers). */
  #logDeaths(pids: readonly number[]): void {
    const index = this.#target.index();
    index.write(() => {
      for (const pid of pids) {
        for (const ids of this.#byPid.get(pid)?.values() ?? []) {
          const row = index.row(ids);
          if (row && row.pid === pid && row.status !== null && LIVE_STATUSES.includes(row.status as Status)) {
            index.events.logStopped(ids.containerId, ids.sandboxId, row.status, pid);
          }
        }
        for (const key of this.#byPid.get(pid)?.keys() ?? []) this.#pidOf.delete(key);
        this.#byPid.delete(pid);
      }
    });
  }
}
