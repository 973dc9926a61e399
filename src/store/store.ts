/**
 * Store: runsc's state directory plus its SQLite index. Every write goes to
 * the locked state file first, then to the index while the lock is still
 * held; the files are the truth and the index a cache that is repaired, never
 * trusted over them.
 */
// Modules that only async, less common calls need (reconcile and its worker
// pool, watch, prune, doctor) are imported on first use: a one-shot
// `runsc-index find` must not pay for loading them.
import fs from "node:fs";
import path from "node:path";
import { CorruptStateError, notFound, RunscIndexError } from "../errors.js";
import type { ExportOptions, ExportReport } from "../export/pg-exporter.js";
import { Freshness } from "../freshness/freshness.js";
import { parseStateFileName, stateFileName } from "../ids/file-names.js";
import {
  type ContainerId,
  type IdPair,
  parseContainerId,
  parseIdPair,
  parsePrefix,
  parseSandboxId,
  type SandboxId,
} from "../ids/id.js";
import { RootDir } from "../ids/root-dir.js";
import type { NameIndex } from "../index/name-index.js";
import { isCorruption, openMemoryIndex, recreateIndex } from "../index/open-index.js";
import type { QueryRows, QueryRunner } from "../index/query-runner.js";
import type { QueryParams, QueryResult, QueryRow } from "../index/readonly-query.js";
import { type ContainerRow, rowValues } from "../index/rows.js";
import { listRoot, ScanIndex } from "../index/scan-index.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import { LivenessCache } from "../liveness/liveness.js";
import { acquireLock, type LockWait } from "../lock/flock.js";
import type { HeldLock } from "../lock/held-lock.js";
import { ioError } from "../native/safe-fs.js";
import type { ReconcileOptions, ReconcileReport } from "../reconcile/reconcile.js";
import { StateDocument } from "../state/document.js";
import {
  controlSocketPathIn,
  readStateFile,
  regularStateFile,
  removeLockFileLocked,
  removeStateLocked,
  writeStateLocked,
} from "../state/state-files.js";
import type { Status } from "../state/status.js";
import type { EventOptions, StoreEvent } from "../watch/events.js";
import type { Watcher, WatchOptions, WatchTarget } from "../watch/watcher.js";
import { type Container, type ContainerSummary, containerOf, summarize } from "./container.js";
import type { DoctorReport } from "./doctor.js";
import type {
  ListOptions,
  LoadOptions,
  ResolveOptions,
  StoreQueryOptions,
  StoreSettings,
  UpdateFn,
} from "./options.js";
import type { PruneOptions, PruneReport } from "./prune.js";
import { resolveIn } from "./resolve.js";

/** Go's sort.Strings order: by UTF-8 bytes (file names here are ASCII, where UTF-16 order is the same). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The cache for containers returned unchecked (create, update): no check runs, nothing to close. */
const UNCHECKED = new LivenessCache();

export class Store {
  readonly root: string;
  readonly indexPath: string;
  readonly #dir: RootDir;
  readonly #settings: StoreSettings;
  #index!: SqliteIndex;
  #freshness!: Freshness;
  #queries: QueryRunner | undefined;
  /** Watchers started by watch() or events(), stopped by close(). */
  readonly #watchers = new Set<Watcher>();
  #closed = false;

  /** @internal openStore builds a Store; the .d.ts leave this out (stripInternal), with the index's types. */
  constructor(settings: StoreSettings, index: SqliteIndex) {
    this.root = settings.root;
    this.indexPath = settings.indexPath;
    this.#dir = new RootDir(settings.root);
    this.#settings = settings;
    this.#attach(index);
  }

  #attach(index: SqliteIndex): void {
    this.#index = index;
    // An index in memory has no directory: no dirty marker, no vouching (no other process sees it).
    const indexDir = this.#settings.memoryIndex ? undefined : path.dirname(this.indexPath);
    this.#freshness = new Freshness(this.#dir, this.indexPath, indexDir, index, this.#settings.inotify);
  }

  /** An index found corrupt in use is recreated (then rebuilt from the files) and the call tried once more. */
  #repairing<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (!isCorruption(e)) throw e;
      this.#recreateIndex();
      return fn();
    }
  }

  async #repairingAsync<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!isCorruption(e)) throw e;
      this.#recreateIndex();
      return await fn();
    }
  }

  #recreateIndex(): void {
    this.#freshness.close();
    // Its connection is to the deleted file.
    this.#queries?.close();
    this.#queries = undefined;
    this.#index.db.close();
    this.#attach(
      this.#settings.memoryIndex ? openMemoryIndex() : recreateIndex(this.indexPath, this.#settings.indexPlace),
    );
  }

  /**
   * resolve returns the one container a prefix names; an exact ID wins.
   * Throws ERR_INVALID_ID (before any file is touched), ERR_NOT_FOUND,
   * ERR_AMBIGUOUS_ID (every candidate).
   */
  resolve(prefix: string, options: ResolveOptions = {}): IdPair {
    const p = parsePrefix(prefix);
    const sandbox = options.sandbox === undefined ? undefined : parseSandboxId(options.sandbox);
    return this.#repairing(() => resolveIn(this.#nameIndex(), p, sandbox));
  }

  /**
   * load reads a container's state file under its lock. Without skipCheck a
   * created/running/paused container whose sandbox is dead reads "stopped".
   * Throws ERR_INVALID_ID, ERR_NOT_FOUND, ERR_AMBIGUOUS_ID, ERR_LOCKED,
   * ERR_LOCK_TIMEOUT, ERR_CORRUPT_STATE.
   */
  async load(id: string, options: LoadOptions = {}): Promise<Container> {
    const ids = this.#pick(id, options);
    if (options.rootContainer && (ids.containerId as string) !== ids.sandboxId) {
      throw new RunscIndexError(
        "ERR_NOT_FOUND",
        `container "${ids.containerId}" is not the root container of a sandbox`,
      );
    }
    const doc = await this.#withLock(ids, options.tryLock ? "try" : undefined, (lock) => this.#readLocked(lock, ids));
    // Checked after the lock is released, as runsc's Load does: the check may wait on the sandbox.
    const cache = new LivenessCache({ strict: options.strictLiveness === true });
    try {
      return containerOf(ids, doc, this.#statePath(ids), options.skipCheck === true, cache);
    } finally {
      cache.close();
    }
  }

  /** list lists containers from the index, sorted by ID, with runsc's liveness check. */
  async list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    return this.#repairingAsync(async () => Array.from(await this.#listing(options)));
  }

  /**
   * listing is list() one container at a time, read from SQLite as it is
   * consumed (the CLI streams 100,000 this way without holding them). Consume
   * it before any other call on this store: the index is busy until then.
   */
  async listing(options: ListOptions = {}): Promise<IterableIterator<ContainerSummary>> {
    return this.#repairingAsync(() => this.#listing(options));
  }

  async #listing(options: ListOptions): Promise<IterableIterator<ContainerSummary>> {
    const sandbox = options.sandbox === undefined ? undefined : parseSandboxId(options.sandbox);
    await this.#freshContents(options.fresh ?? true);
    return this.#summaries(sandbox, options);
  }

  /**
   * #summaries is the listing's iterator: an object, not a generator, so V8
   * optimizes the loop in next(). The liveness cache (one check per sandbox)
   * and the rows are opened at the first next() and closed at the end, on
   * return() (a consumer's break) or on an error.
   */
  #summaries(sandbox: SandboxId | undefined, options: ListOptions): IterableIterator<ContainerSummary> {
    const skipCheck = options.skipCheck === true;
    let rows: IterableIterator<ContainerRow> | undefined;
    let cache: LivenessCache | undefined;
    let finished = false;
    const finish = () => {
      finished = true;
      rows?.return?.();
      cache?.close();
    };
    const open = () => {
      cache = this.livenessCache({ strict: options.strictLiveness === true });
      rows = this.#index.eachRow({ sandboxId: sandbox, skipAnnotations: options.skipAnnotations });
      return { rows, cache };
    };
    const iterator: IterableIterator<ContainerSummary> = {
      next() {
        if (finished) return { done: true, value: undefined };
        const opened = rows === undefined || cache === undefined ? open() : { rows, cache };
        try {
          for (;;) {
            const r = opened.rows.next();
            if (r.done) break;
            const row = r.value;
            if (row.status === null) continue; // unreadable file: reported by reconcile and doctor, skipped as runsc list does
            const summary = summarize(row as typeof row & { status: Status }, skipCheck, opened.cache);
            // The status filter applies to the status as reported, after the liveness check.
            if (options.status === undefined || summary.status === options.status)
              return { done: false, value: summary };
          }
        } catch (e) {
          finish();
          throw e;
        }
        finish();
        return { done: true, value: undefined };
      },
      return(value?: unknown) {
        if (!finished) finish();
        return { done: true, value };
      },
      [Symbol.iterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * listIdsFromNames returns the container IDs of the state files in the
   * root, in runsc's order (file names sorted bytewise), from the names
   * alone: no file is read and the index is not used, as `runsc list -q`.
   * A torn or unreadable file's ID is included. Throws ERR_INVALID_ID (bad sandbox).
   */
  listIdsFromNames(sandbox?: string): ContainerId[] {
    this.#open();
    const sid = sandbox === undefined ? undefined : parseSandboxId(sandbox);
    const out: ContainerId[] = [];
    for (const name of listRoot(this.root).sort(compareBytes)) {
      const ids = parseStateFileName(name);
      if (ids !== undefined && (sid === undefined || ids.sandboxId === sid)) out.push(ids.containerId);
    }
    return out;
  }

  /**
   * livenessCache makes the per-listing cache of liveness checks for this
   * root: it reads a sandbox's control socket path from the state file when a
   * running container must be asked (the index does not keep it). close() it.
   */
  livenessCache(options: { strict?: boolean } = {}): LivenessCache {
    return new LivenessCache({
      strict: options.strict,
      controlSocketPath: (containerId, sandboxId) =>
        controlSocketPathIn(this.#dir.statePath({ containerId, sandboxId } as IdPair)),
    });
  }

  /** listSandboxes returns every sandbox ID, sorted (runsc's order is random). */
  listSandboxes(): SandboxId[] {
    return this.#repairing(() => {
      this.#fresh();
      return this.#index.sandboxIds() as SandboxId[];
    }) as SandboxId[];
  }

  /** loadSandbox loads every container of exactly this sandbox (runsc's glob also matches longer IDs). */
  async loadSandbox(
    sandboxId: string,
    options: { skipCheck?: boolean; strictLiveness?: boolean } = {},
  ): Promise<Container[]> {
    const sid = parseSandboxId(sandboxId);
    this.#fresh();
    const out: Container[] = [];
    for (const row of this.#index.rows({ sandboxId: sid })) {
      try {
        out.push(await this.load(row.containerId, { ...options, exact: true, sandbox: sid }));
      } catch (e) {
        // Destroyed since the listing: a snapshot in time, as runsc's LoadSandbox.
        if (!(e instanceof RunscIndexError && e.code === "ERR_NOT_FOUND")) throw e;
      }
    }
    return out;
  }

  /**
   * create writes a new container's state file. The document's `id` and
   * `sandbox.id` name it. Throws ERR_INVALID_ID, ERR_CORRUPT_STATE (a document
   * runsc could not load, see StateDocument.checkWritable; before any file
   * is touched),
   * ERR_ALREADY_EXISTS (checked under the lock).
   */
  async create(state: StateDocument | object): Promise<Container> {
    this.#writable("create");
    const doc = state instanceof StateDocument ? state : StateDocument.from(state);
    const ids = doc.checkWritable(this.root);
    try {
      fs.mkdirSync(this.root, { recursive: true, mode: 0o711 }); // as runsc's MkdirAll
    } catch (e) {
      throw ioError("creating root", this.root, e);
    }
    return this.#withLock(ids, undefined, (lock) => {
      if (regularStateFile(this.#statePath(ids)) !== undefined) {
        throw new RunscIndexError(
          "ERR_ALREADY_EXISTS",
          `container "${ids.containerId}" already exists in sandbox "${ids.sandboxId}"`,
        );
      }
      this.#writeLocked(lock, ids, doc);
      return containerOf(ids, doc, this.#statePath(ids), true, UNCHECKED);
    });
  }

  /**
   * save writes a loaded (and changed) document back. Throws ERR_CORRUPT_STATE
   * (before any file is touched), ERR_NOT_FOUND when the container is gone.
   */
  async save(doc: StateDocument): Promise<void> {
    this.#writable("save");
    const ids = doc.checkWritable(this.root);
    await this.#withLock(ids, undefined, (lock) => {
      if (regularStateFile(this.#statePath(ids)) === undefined) throw notFound(ids.containerId);
      this.#writeLocked(lock, ids, doc);
    });
  }

  /**
   * update is a locked read-modify-write: fn changes the document (or returns
   * a new one) while the lock is held. fn must be synchronous; the IDs in the
   * document must not change. Returns the container as written. Throws
   * ERR_CORRUPT_STATE when the result is a document runsc could not load
   * (the file is then unchanged).
   */
  async update(id: string, fn: UpdateFn, options: ResolveOptions & { exact?: boolean } = {}): Promise<Container> {
    this.#writable("update");
    const ids = this.#pick(id, options);
    return this.#withLock(ids, undefined, (lock) => {
      const current = this.#readLocked(lock, ids);
      const result = fn(current);
      if (result && typeof (result as { then?: unknown }).then === "function") {
        throw new TypeError("update: the callback returned a promise; it must change the document synchronously");
      }
      const next = result instanceof StateDocument ? result : current;
      const nextIds = next.namedIds();
      if (nextIds && (nextIds.containerId !== ids.containerId || nextIds.sandboxId !== ids.sandboxId)) {
        throw new RunscIndexError(
          "ERR_INVALID_ARGUMENT",
          `update of "${ids.containerId}" may not change its container or sandbox ID`,
        );
      }
      next.checkWritable(this.root, current);
      this.#writeLocked(lock, ids, next);
      return containerOf(ids, next, this.#statePath(ids), true, UNCHECKED);
    });
  }

  /** destroy removes the state file, the index row, then the lock file, under the lock (runsc's Destroy). */
  async destroy(id: string, options: ResolveOptions & { exact?: boolean } = {}): Promise<void> {
    this.#writable("destroy");
    const ids = this.#pick(id, options);
    await this.#withLock(ids, undefined, (lock) => {
      const existed = removeStateLocked(lock, this.#statePath(ids));
      this.#freshness.writeThrough(() => this.#index.remove(ids));
      removeLockFileLocked(lock);
      if (!existed) throw notFound(ids.containerId);
    });
  }

  /** reconcile brings the index in line with the files; it never changes a state file. */
  async reconcile(options: Omit<ReconcileOptions, "lockTimeoutMs"> = {}): Promise<ReconcileReport> {
    this.#open();
    const { reconcile } = await import("../reconcile/reconcile.js");
    return this.#repairingAsync(() =>
      this.#freshness.fullPass(() =>
        reconcile(this.root, this.#index, { ...options, lockTimeoutMs: this.#lockTimeoutMs() }),
      ),
    );
  }

  /**
   * query runs read-only SQL on the index (fresh by default) and returns
   * every row; see queryRows for the limits. Throws ERR_READONLY_QUERY for
   * anything that would write, attach or change pragmas, ERR_INVALID_ARGUMENT
   * for SQL that does not compile (a QuerySyntaxError with its offset),
   * ERR_QUERY_TIMEOUT, ERR_ABORTED.
   */
  async query(sql: string, params?: QueryParams, options: StoreQueryOptions = {}): Promise<QueryResult> {
    const result = await this.queryRows(sql, params, options);
    const rows: QueryRow[] = [];
    for await (const row of result) rows.push(row);
    return { columns: result.columns, rows };
  }

  /**
   * queryRows runs read-only SQL and resolves once it is prepared, with the
   * columns and the rows as an async iterable that arrive in batches as the
   * caller consumes them (memory stays bounded whatever the result's size).
   * The query runs in a child process (`isolation: "thread"`: a worker
   * thread), never on the caller's thread; `timeoutMs` (default 30 000)
   * bounds the time spent waiting for SQLite, `signal` cancels, `maxRows`
   * stops early. Throws as query.
   */
  async queryRows(sql: string, params: QueryParams = [], options: StoreQueryOptions = {}): Promise<QueryRows> {
    this.#open();
    // Imported here: child processes and threads are more modules than a lookup loads in all.
    const { QueryRunner } = await import("../index/query-runner.js");
    // A serialized index in memory travels to a thread only (a child's IPC would copy it as JSON).
    const isolation = this.#settings.memoryIndex ? "thread" : (options.isolation ?? "process");
    if (this.#queries?.isolation !== isolation) {
      this.#queries?.close();
      this.#queries = new QueryRunner(this.indexPath, isolation);
    }
    // The worker loads while the contents are brought in line.
    this.#queries.warm();
    return this.#repairingAsync(async () => {
      await this.#freshContents(options.fresh ?? true);
      this.#queries ??= new QueryRunner(this.indexPath, isolation); // recreated index: a new runner
      // An index in memory is copied to the worker as it is now: no other connection can see it.
      return this.#queries.start(
        sql,
        params,
        options,
        this.#settings.memoryIndex ? this.#index.db.serialize() : undefined,
      );
    });
  }

  /**
   * refresh brings the index in line with every change completed before the
   * call, the cheap way when this process's inotify watch saw them all.
   */
  async refresh(): Promise<void> {
    await this.#freshContents(true);
  }

  /**
   * watch keeps the index live and logs every change as an event until the
   * watcher is stopped (or the store closed); see watch/watcher.ts. Throws
   * ERR_IO when inotify cannot watch the root (naming the limit to raise).
   */
  async watch(options: WatchOptions = {}): Promise<Watcher> {
    this.#open();
    const { Watcher } = await import("../watch/watcher.js");
    const watcher = await Watcher.start(this.#watchTarget(), options);
    this.#watchers.add(watcher);
    void watcher.done.catch(() => {}).finally(() => this.#watchers.delete(watcher));
    return watcher;
  }

  /**
   * events returns the event log as an async iterable: events after `since`
   * (default: from now on), then each new one as it is logged, until `signal`
   * aborts or the store closes. Unless `watch` is false it runs a watcher so
   * changes by runsc and plain writes are logged too. See watch/events.ts.
   */
  events(options: EventOptions = {}): AsyncIterable<StoreEvent> {
    this.#open();
    const store = this;
    return {
      async *[Symbol.asyncIterator]() {
        const { eventStream } = await import("../watch/events.js");
        const watcher = options.watch === false ? undefined : await store.watch();
        try {
          yield* eventStream(
            () => store.#index,
            store.indexPath,
            options,
            () => store.#closed,
          );
        } finally {
          await watcher?.stop();
        }
      },
    };
  }

  /**
   * export brings the index in line (an incremental reconcile), then copies
   * it once into PostgreSQL as `options.host`: only rows that differ are
   * written and rows gone from the index are deleted, so it is idempotent.
   * For a live copy, watch({ export }). Throws ERR_INVALID_ARGUMENT, ERR_IO.
   */
  async export(options: ExportOptions = {}): Promise<ExportReport> {
    await this.reconcile();
    const { exportOnce } = await import("../export/pg-exporter.js");
    return exportOnce(this.#index, this.root, options);
  }

  /** prune removes orphan lock files and stale temporary files, each under its lock; never a state file. */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    this.#open();
    const { prune } = await import("./prune.js");
    return prune(this.root, options);
  }

  /** doctor checks the index's integrity and freshness and reports counts and invalid files. */
  async doctor(): Promise<DoctorReport> {
    this.#open();
    const { doctor } = await import("./doctor.js");
    // The reconcile inside may find the index corrupt and rebuild it: doctor reads the index in use after it.
    return doctor(
      this.root,
      this.indexPath,
      () => this.#index,
      () => this.reconcile(),
    );
  }

  /** close stops this store's watchers and releases the index and the inotify watch. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#watchers) w.halt();
    this.#watchers.clear();
    this.#freshness.close();
    this.#queries?.close();
    this.#index.db.close();
  }

  // --- internals ---

  #open(): void {
    if (this.#closed) throw new RunscIndexError("ERR_CLOSED", `store for "${this.root}" is closed`);
  }

  #fresh(): void {
    this.#open();
    this.#freshness.names();
  }

  /**
   * #nameIndex: the index when its names are current, else runsc's directory
   * scan (a one-shot process after another's change, or an index that could not be written).
   */
  #nameIndex(): NameIndex {
    this.#open();
    return this.#freshness.namesForLookup() ? this.#index : new ScanIndex(this.root);
  }

  async #freshContents(fresh: boolean): Promise<void> {
    this.#open();
    await this.#freshness.contents(fresh, this.#lockTimeoutMs());
  }

  /** #watchTarget is what a watcher may use of this store: its internals, never public getters. */
  #watchTarget(): WatchTarget {
    return {
      root: this.#dir,
      indexPath: this.indexPath,
      index: () => this.#index,
      freshness: () => this.#freshness,
      refresh: () => this.#repairingAsync(() => this.#freshContents(true)),
      reconcile: () => this.reconcile(),
    };
  }

  #writable(op: string): void {
    this.#open();
    if (this.#settings.readonly)
      throw new RunscIndexError("ERR_INVALID_ARGUMENT", `cannot ${op}: the store was opened readonly`);
  }

  #pick(id: string, options: ResolveOptions & { exact?: boolean }): IdPair {
    if (!options.exact) return this.resolve(id, options);
    const cid = parseContainerId(id);
    // With both IDs given, the name they make must fit too.
    const sandbox = options.sandbox === undefined ? undefined : parseIdPair(cid, options.sandbox).sandboxId;
    return this.#repairing(() => {
      const index = this.#nameIndex();
      const byExactId = { withPrefix: index.exact.bind(index), exact: index.exact.bind(index) };
      return resolveIn(byExactId, cid, sandbox);
    });
  }

  async #withLock<T>(ids: IdPair, wait: LockWait | undefined, fn: (lock: HeldLock) => T): Promise<T> {
    const lock = await acquireLock(this.#dir.lockPath(ids), wait ?? this.#settings.lockWait);
    try {
      return fn(lock);
    } finally {
      lock.release();
    }
  }

  #statePath(ids: IdPair): string {
    return this.#dir.statePath(ids);
  }

  /** #readLocked reads and decodes the file and refreshes its row; a missing file is ERR_NOT_FOUND (and its row goes). */
  #readLocked(_lock: HeldLock, ids: IdPair): StateDocument {
    const file = readStateFile(this.#statePath(ids));
    if (file === undefined) {
      // The lock file stays: a runsc create may have just made it and be about to lock it.
      this.#freshness.writeThrough(() => this.#index.remove(ids));
      throw notFound(ids.containerId);
    }
    const name = stateFileName(ids.containerId, ids.sandboxId);
    const doc = StateDocument.parse(file.text, name, file.bytes);
    const inside = doc.fields;
    if (inside.containerId !== ids.containerId || inside.sandboxId !== ids.sandboxId) {
      // Indexing it would invent a container that has no file of its own.
      throw new CorruptStateError(
        name,
        `IDs inside (${inside.containerId}, sandbox ${inside.sandboxId}) do not match the file name`,
      );
    }
    const row = rowValues(doc.fields, file.info);
    if (!this.#index.holds(row)) this.#freshness.writeThrough(() => this.#index.upsert(row));
    return doc;
  }

  #writeLocked(lock: HeldLock, ids: IdPair, doc: StateDocument): void {
    const info = writeStateLocked(lock, this.#statePath(ids), ids, doc.fileData(), {
      durable: this.#settings.durable,
    });
    this.#freshness.writeThrough(() => this.#index.upsert(rowValues(doc.fields, info)));
  }

  #lockTimeoutMs(): number {
    const w = this.#settings.lockWait;
    return typeof w === "object" ? w.timeoutMs : 30_000;
  }
}
