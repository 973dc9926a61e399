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
import { type Candidate, CorruptStateError, notFound, RunscIndexError } from "../errors.js";
import { lockFileName, stateFileName } from "../ids/file-names.js";
import {
  type ContainerId,
  parseContainerId,
  parseIdPair,
  parsePrefix,
  parseSandboxId,
  type SandboxId,
} from "../ids/id.js";
import { openReadonlyDatabase, type SqliteDatabase } from "../index/database.js";
import type { NameIndex } from "../index/name-index.js";
import { isCorruption, recreateIndex } from "../index/open-index.js";
import { type QueryParams, type QueryResult, runReadonlyQuery } from "../index/readonly-query.js";
import { rowValues } from "../index/rows.js";
import { ScanIndex } from "../index/scan-index.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import type { Liveness } from "../liveness/liveness.js";
import { acquireLock, type LockWait } from "../lock/flock.js";
import type { HeldLock } from "../lock/held-lock.js";
import type { ReconcileOptions, ReconcileReport } from "../reconcile/reconcile.js";
import { StateDocument } from "../state/document.js";
import type { Status } from "../state/status.js";
import type { Watcher, WatchOptions } from "../watch/watcher.js";
import { type Container, type ContainerSummary, containerOf, summarize } from "./container.js";
import { ContentFreshness } from "./content-freshness.js";
import type { DoctorReport } from "./doctor.js";
import { NameTracker } from "./freshness.js";
import type { ListOptions, LoadOptions, ResolveOptions, StoreSettings, UpdateFn } from "./options.js";
import type { PruneOptions, PruneReport } from "./prune.js";
import { resolveIn } from "./resolve.js";
import { readStateFile, removeLockFileLocked, removeStateLocked, writeStateLocked } from "./state-files.js";

/** Past the 20 ms racy window of freshness.ts, with a margin for a coarse clock. */
const SETTLE_DELAY_MS = 30;

export class Store {
  readonly root: string;
  readonly indexPath: string;
  readonly #settings: StoreSettings;
  #index!: SqliteIndex;
  #names!: NameTracker;
  #contents!: ContentFreshness;
  #queryDb: SqliteDatabase | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(settings: StoreSettings, index: SqliteIndex) {
    this.root = settings.root;
    this.indexPath = settings.indexPath;
    this.#settings = settings;
    this.#attach(index);
  }

  #attach(index: SqliteIndex): void {
    const onChange = this.#names?.onChange;
    this.#index = index;
    this.#names = new NameTracker(this.root, index, this.#settings.inotify);
    this.#names.onChange = onChange;
    this.#contents = new ContentFreshness(this.root, this.indexPath, index, this.#names);
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
    this.#names.close();
    this.#queryDb?.close();
    this.#queryDb = undefined;
    this.#index.db.close();
    this.#attach(recreateIndex(this.indexPath));
  }

  /** index is the SQLite index behind this store (for the watcher and doctor). */
  get index(): SqliteIndex {
    return this.#index;
  }

  get names(): NameTracker {
    return this.#names;
  }

  /**
   * resolve returns the one container a prefix names; an exact ID wins.
   * Throws ERR_INVALID_ID (before any file is touched), ERR_NOT_FOUND,
   * ERR_AMBIGUOUS_ID (every candidate).
   */
  resolve(prefix: string, options: ResolveOptions = {}): { containerId: ContainerId; sandboxId: SandboxId } {
    const p = parsePrefix(prefix);
    const sandbox = options.sandbox === undefined ? undefined : parseSandboxId(options.sandbox);
    return this.#repairing(() => resolveIn(this.#nameIndex(), p, sandbox)) as {
      containerId: ContainerId;
      sandboxId: SandboxId;
    };
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
    return this.#withLock(ids, options.tryLock ? "try" : undefined, (lock) => {
      const doc = this.#readLocked(lock, ids);
      return containerOf(ids, doc, this.#statePath(ids), options.skipCheck === true);
    });
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

  *#summaries(sandbox: SandboxId | undefined, options: ListOptions): Generator<ContainerSummary, void, undefined> {
    const rootCreatedAt = this.#index.rootCreatedAt({ sandboxId: sandbox });
    const cache = new Map<string, Liveness>(); // one liveness check per sandbox
    for (const row of this.#index.eachRow({ sandboxId: sandbox })) {
      if (row.status === null) continue; // unreadable file: reported by reconcile and doctor, skipped as runsc list does
      const created = rootCreatedAt.get(row.sandboxId) ?? row.createdAt ?? "";
      const summary = summarize(row as typeof row & { status: Status }, created, options.skipCheck === true, cache);
      // The status filter applies to the status as reported, after the liveness check.
      if (options.status === undefined || summary.status === options.status) yield summary;
    }
  }

  /** listSandboxes returns every sandbox ID, sorted (runsc's order is random). */
  listSandboxes(): SandboxId[] {
    return this.#repairing(() => {
      this.#fresh();
      return this.#index.sandboxIds() as SandboxId[];
    }) as SandboxId[];
  }

  /** loadSandbox loads every container of exactly this sandbox (runsc's glob also matches longer IDs). */
  async loadSandbox(sandboxId: string, options: { skipCheck?: boolean } = {}): Promise<Container[]> {
    const sid = parseSandboxId(sandboxId);
    this.#fresh();
    const out: Container[] = [];
    for (const row of this.#index.rows({ sandboxId: sid })) {
      try {
        out.push(await this.load(row.containerId, { exact: true, sandbox: sid, skipCheck: options.skipCheck }));
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
   * runsc could not load), ERR_ALREADY_EXISTS (checked under the lock).
   */
  async create(state: StateDocument | object): Promise<Container> {
    this.#writable("create");
    const doc = state instanceof StateDocument ? state : StateDocument.from(state);
    const ids = parseIdPair(doc.fields.containerId, doc.fields.sandboxId);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    return this.#withLock(ids, undefined, (lock) => {
      if (fs.existsSync(this.#statePath(ids))) {
        throw new RunscIndexError(
          "ERR_ALREADY_EXISTS",
          `container "${ids.containerId}" already exists in sandbox "${ids.sandboxId}"`,
        );
      }
      this.#writeLocked(lock, ids, doc);
      return containerOf(ids, doc, this.#statePath(ids), true);
    });
  }

  /** save writes a loaded (and changed) document back. Throws ERR_NOT_FOUND when the container is gone. */
  async save(doc: StateDocument): Promise<void> {
    this.#writable("save");
    const ids = parseIdPair(doc.fields.containerId, doc.fields.sandboxId);
    await this.#withLock(ids, undefined, (lock) => {
      if (!fs.existsSync(this.#statePath(ids))) throw notFound(ids.containerId);
      this.#writeLocked(lock, ids, doc);
    });
  }

  /**
   * update is a locked read-modify-write: fn changes the document (or returns
   * a new one) while the lock is held. fn must be synchronous; the IDs in the
   * document must not change. Returns the container as written.
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
      const nextIds = next.fields;
      if (nextIds.containerId !== ids.containerId || nextIds.sandboxId !== ids.sandboxId) {
        throw new RunscIndexError(
          "ERR_INVALID_ARGUMENT",
          `update of "${ids.containerId}" may not change its container or sandbox ID`,
        );
      }
      this.#writeLocked(lock, ids, next);
      return containerOf(ids, next, this.#statePath(ids), true);
    });
  }

  /** destroy removes the state file, the index row, then the lock file, under the lock (runsc's Destroy). */
  async destroy(id: string, options: ResolveOptions & { exact?: boolean } = {}): Promise<void> {
    this.#writable("destroy");
    const ids = this.#pick(id, options);
    await this.#withLock(ids, undefined, (lock) => {
      const existed = removeStateLocked(lock, this.#statePath(ids));
      this.#contents.writeThrough(() => this.#index.remove(ids));
      removeLockFileLocked(lock);
      this.#settleSoon();
      if (!existed) throw notFound(ids.containerId);
    });
  }

  /** reconcile brings the index in line with the files; it never changes a state file. */
  async reconcile(options: Omit<ReconcileOptions, "lockTimeoutMs"> = {}): Promise<ReconcileReport> {
    this.#open();
    const { reconcile } = await import("../reconcile/reconcile.js");
    return this.#repairingAsync(async () => {
      this.#names.watchOnly();
      const generation = this.#names.generation;
      const report = await reconcile(this.root, this.#index, { ...options, lockTimeoutMs: this.#lockTimeoutMs() });
      this.#contents.noteFullPass(generation);
      return report;
    });
  }

  /**
   * query runs read-only SQL on the index (fresh by default). Throws
   * ERR_READONLY_QUERY for anything that would write, attach or change pragmas.
   */
  async query(sql: string, params?: QueryParams, options: { fresh?: boolean } = {}): Promise<QueryResult> {
    return this.#repairingAsync(async () => {
      await this.#freshContents(options.fresh ?? true);
      this.#queryDb ??= openReadonlyDatabase(this.indexPath);
      return runReadonlyQuery(this.#queryDb, sql, params);
    });
  }

  /**
   * refresh brings the index in line with every change completed before the
   * call, the cheap way when this process's inotify watch saw them all.
   */
  async refresh(): Promise<void> {
    await this.#freshContents(true);
  }

  /** watch keeps the index live until the watcher is stopped; see watch/watcher.ts. */
  async watch(options: WatchOptions = {}): Promise<Watcher> {
    this.#open();
    const { Watcher } = await import("../watch/watcher.js");
    return Watcher.start(this, options);
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
    return doctor(this, this.#index);
  }

  /** close releases the index and the inotify watch. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#settleTimer);
    this.#names.close();
    this.#queryDb?.close();
    this.#index.db.close();
  }

  // --- internals ---

  #open(): void {
    if (this.#closed) throw new RunscIndexError("ERR_CLOSED", `store for "${this.root}" is closed`);
  }

  #fresh(): void {
    this.#open();
    this.#names.ensureFresh();
  }

  /** #nameIndex: the index when it is current, else (it could not be written) runsc's directory scan. */
  #nameIndex(): NameIndex {
    this.#open();
    return this.#names.ensureFresh() ? this.#index : new ScanIndex(this.root);
  }

  async #freshContents(fresh: boolean): Promise<void> {
    this.#fresh();
    await this.#contents.ensure(fresh, this.#lockTimeoutMs());
  }

  #writable(op: string): void {
    this.#open();
    if (this.#settings.readonly)
      throw new RunscIndexError("ERR_INVALID_ARGUMENT", `cannot ${op}: the store was opened readonly`);
  }

  #pick(
    id: string,
    options: ResolveOptions & { exact?: boolean },
  ): Candidate & { containerId: ContainerId; sandboxId: SandboxId } {
    if (!options.exact) return this.resolve(id, options);
    const cid = parseContainerId(id);
    // With both IDs given, the name they make must fit too.
    const sandbox = options.sandbox === undefined ? undefined : parseIdPair(cid, options.sandbox).sandboxId;
    return this.#repairing(() => {
      const index = this.#nameIndex();
      const byExactId = { withPrefix: index.exact.bind(index), exact: index.exact.bind(index) };
      return resolveIn(byExactId, cid, sandbox);
    }) as { containerId: ContainerId; sandboxId: SandboxId };
  }

  async #withLock<T>(
    ids: Candidate & { containerId: ContainerId; sandboxId: SandboxId },
    wait: LockWait | undefined,
    fn: (lock: HeldLock) => T,
  ): Promise<T> {
    const lock = await acquireLock(
      path.join(this.root, lockFileName(ids.containerId, ids.sandboxId)),
      wait ?? this.#settings.lockWait,
    );
    try {
      return fn(lock);
    } finally {
      lock.release();
    }
  }

  #statePath(ids: { containerId: ContainerId; sandboxId: SandboxId }): string {
    return path.join(this.root, stateFileName(ids.containerId, ids.sandboxId));
  }

  /** #readLocked reads and decodes the file and refreshes its row; a missing file is ERR_NOT_FOUND (and its row goes). */
  #readLocked(lock: HeldLock, ids: { containerId: ContainerId; sandboxId: SandboxId }): StateDocument {
    const file = readStateFile(this.#statePath(ids));
    if (file === undefined) {
      this.#contents.writeThrough(() => this.#index.remove(ids));
      removeLockFileLocked(lock); // we may have just created it; runsc's Destroy removes it too
      throw notFound(ids.containerId);
    }
    const name = stateFileName(ids.containerId, ids.sandboxId);
    const doc = StateDocument.parse(file.text, name);
    const inside = doc.fields;
    if (inside.containerId !== ids.containerId || inside.sandboxId !== ids.sandboxId) {
      // Indexing it would invent a container that has no file of its own.
      throw new CorruptStateError(
        name,
        `IDs inside (${inside.containerId}, sandbox ${inside.sandboxId}) do not match the file name`,
      );
    }
    this.#contents.writeThrough(() => this.#index.upsert(rowValues(doc.fields, file.info)));
    return doc;
  }

  #writeLocked(lock: HeldLock, ids: { containerId: ContainerId; sandboxId: SandboxId }, doc: StateDocument): void {
    const info = writeStateLocked(lock, this.#statePath(ids), ids, doc.encode(), {
      durable: this.#settings.durable,
    });
    this.#contents.writeThrough(() => this.#index.upsert(rowValues(doc.fields, info)));
    this.#settleSoon();
  }

  /**
   * Our writes change the root's mtime (temp file + rename, unlink), which
   * other processes read as "names may have changed" and answer with a
   * rescan. Once writes pause past the racy moment, drain our watch and
   * record a sync they can trust. Unref'd: it never keeps a process alive.
   */
  #settleSoon(): void {
    if (!this.#settings.inotify) return;
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      try {
        if (!this.#closed) this.#names.ensureFresh();
      } catch {
        // Only an optimization: the next call brings the names in line anyway.
      }
    }, SETTLE_DELAY_MS).unref();
  }

  #lockTimeoutMs(): number {
    const w = this.#settings.lockWait;
    return typeof w === "object" ? w.timeoutMs : 30_000;
  }
}
