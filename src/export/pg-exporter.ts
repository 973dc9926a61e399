/**
 * The export of one host's index into PostgreSQL. A sync diffs the host's
 * rows there against the index (IDs and file identity) and writes only the
 * difference, so it is idempotent and cheap to repeat. A live exporter runs
 * a sync on every (re)connect and whenever inotify events were lost, and in
 * between writes the containers the watcher reported changed, in small
 * transactions. A change is forgotten only once its row is committed, so a
 * dropped connection or a PostgreSQL restart loses nothing: the exporter
 * reconnects with backoff and syncs again.
 */
import os from "node:os";
import type pg from "pg";
import { RunscIndexError } from "../errors.js";
import { type IdPair, idPairKey } from "../ids/id.js";
import { EXPORT_COLUMNS, type ExportRow, exportIdentities, exportRow } from "../index/export-rows.js";
import type { SqliteIndex } from "../index/sqlite-index.js";
import type { WatchMetrics } from "../metrics/metrics.js";
import { connectPg, describeTarget, migratePg, pgError } from "./pg-connection.js";
import { type HostKey, hostRowIdentities, identityOfIndexRow, writeBatch } from "./pg-rows.js";

export interface ExportOptions {
  /** postgres:// URL; without it libpq's environment (PGHOST, PGUSER, PGPASSWORD, ...) says where. */
  readonly to?: string | undefined;
  /** The name this host's rows carry (default: os.hostname()). */
  readonly host?: string | undefined;
  /** Rows per statement and transaction (default 5000). */
  readonly batchSize?: number | undefined;
  /** One-shot export: connections writing batches at once (default 2). */
  readonly connections?: number | undefined;
  /** Live export: called with a failure (secrets masked), once until it changes or the export recovers; the exporter retries. */
  readonly onError?: ((error: RunscIndexError) => void) | undefined;
  /** Live export: first and longest wait between reconnects (default 100 ms and 10 s). */
  readonly retryMs?: { readonly min: number; readonly max: number } | undefined;
  readonly metrics?: WatchMetrics | undefined;
}

export interface ExportReport {
  readonly host: string;
  /** The database, secrets masked. */
  readonly target: string;
  /** Rows of the host in PostgreSQL afterwards (= rows in the index). */
  readonly rows: number;
  readonly upserted: number;
  readonly deleted: number;
  readonly unchanged: number;
  readonly durationMs: number;
}

const DEFAULT_BATCH = 5_000;
const DEFAULT_CONNECTIONS = 2;
const DEFAULT_RETRY = { min: 100, max: 10_000 };
/** An idle live exporter still proves it is alive this often (runsc_hosts.heartbeat_at). */
const HEARTBEAT_MS = 15_000;
const PENDING = EXPORT_COLUMNS.indexOf("pending");

/** A change waiting for its commit: when it was first noted, and a number that grows on every note. */
interface Dirty {
  readonly ids: IdPair;
  readonly sinceMs: number;
  readonly seq: number;
}

/**
 * syncHost brings the host's rows in line with the index: it compares
 * identities (IDs, stat, pending, indexed_at) and fetches and writes only the
 * rows that differ, batch by batch, each client writing the next batch due
 * (PostgreSQL works one core per connection). Throws what pg throws.
 */
async function syncHost(
  clients: readonly [pg.Client, ...pg.Client[]],
  key: HostKey,
  index: SqliteIndex,
  batchSize: number,
): Promise<Omit<ExportReport, "target" | "durationMs">> {
  const local = exportIdentities(index.db); // one snapshot; later changes arrive as dirty keys
  const remote = await hostRowIdentities(clients[0], key);
  const changed: IdPair[] = [];
  for (const row of local) {
    const ids = { containerId: row[0], sandboxId: row[1] } as IdPair; // IDs the index already validated
    const k = idPairKey(ids);
    const there = remote.get(k);
    remote.delete(k);
    if (there?.identity !== identityOfIndexRow(row)) changed.push(ids);
  }
  const gone = [...remote.values()].map((r) => r.ids);
  const batches = Math.ceil(Math.max(changed.length, gone.length) / batchSize);
  let next = 0;
  const writeBatches = async (client: pg.Client) => {
    for (let b = next++; b < batches; b = next++) {
      const [from, to] = [b * batchSize, (b + 1) * batchSize];
      const rows: ExportRow[] = [];
      const deletes = gone.slice(from, to);
      for (const ids of changed.slice(from, to)) {
        const row = exportRow(index.db, ids); // newer than the snapshot is fine: the watcher notes it too
        if (row === undefined) deletes.push(ids);
        else rows.push(row);
      }
      await writeBatch(client, key, rows, deletes);
    }
  };
  await Promise.all(clients.map(writeBatches));
  await writeBatch(clients[0], key, [], [], true);
  return {
    host: key.host,
    rows: local.length,
    upserted: changed.length,
    deleted: gone.length,
    unchanged: local.length - changed.length,
  };
}

async function inTransaction(client: pg.Client, fn: () => Promise<void>): Promise<void> {
  await client.query("BEGIN");
  try {
    await fn();
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

function hostKey(root: string, options: ExportOptions): HostKey {
  return { host: options.host ?? os.hostname(), root };
}

/**
 * @internal Left out of the installed .d.ts: it takes the internal index.
 * exportOnce copies the host's index (as it is now) into PostgreSQL: connect,
 * migrate, sync, disconnect. Throws ERR_INVALID_ARGUMENT (bad URL), ERR_IO.
 */
export async function exportOnce(index: SqliteIndex, root: string, options: ExportOptions): Promise<ExportReport> {
  const started = performance.now();
  const key = hostKey(root, options);
  const client = await connectPg(options.to, () => {});
  const helpers: pg.Client[] = [];
  try {
    await migratePg(client);
    for (let i = 1; i < (options.connections ?? DEFAULT_CONNECTIONS); i++) {
      helpers.push(await connectPg(options.to, () => {}));
    }
    const report = await syncHost([client, ...helpers], key, index, options.batchSize ?? DEFAULT_BATCH);
    return { ...report, target: describeTarget(options.to), durationMs: performance.now() - started };
  } catch (e) {
    throw pgError(`exporting host "${key.host}" to ${describeTarget(options.to)}`, e, options.to);
  } finally {
    for (const c of [client, ...helpers]) await c.end().catch(() => {});
  }
}

/**
 * dropHost deletes every row of a host (and its runsc_hosts entry) and
 * returns how many containers it had. A live exporter of that host would
 * write them again: stop it first. Throws ERR_INVALID_ARGUMENT, ERR_IO.
 */
export async function dropHost(to: string | undefined, host: string): Promise<number> {
  const client = await connectPg(to, () => {});
  try {
    await migratePg(client);
    let dropped = 0;
    await inTransaction(client, async () => {
      dropped = (await client.query("DELETE FROM runsc_containers WHERE host = $1", [host])).rowCount ?? 0;
      await client.query("DELETE FROM runsc_hosts WHERE host = $1", [host]);
    });
    return dropped;
  } catch (e) {
    throw pgError(`dropping host "${host}" from ${describeTarget(to)}`, e, to);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A live export: started by start(), fed by noteChange() and drained(), ended by stop(). */
export class PgExporter {
  readonly host: string;
  readonly #key: HostKey;
  readonly #source: () => SqliteIndex;
  readonly #options: ExportOptions;
  readonly #batch: number;
  readonly #dirty = new Map<string, Dirty>();
  #seq = 0;
  #client: pg.Client | undefined;
  #resync: "connect" | "events-lost" | undefined = "connect";
  #stopped = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #lastReport: ExportReport | undefined;
  #lastError: string | undefined;

  /** @internal */
  private constructor(source: () => SqliteIndex, root: string, options: ExportOptions) {
    this.#source = source;
    this.#options = options;
    this.#key = hostKey(root, options);
    this.host = this.#key.host;
    this.#batch = options.batchSize ?? DEFAULT_BATCH;
  }

  /** @internal start begins connecting in the background; it never throws for an unreachable database. */
  static start(source: () => SqliteIndex, root: string, options: ExportOptions): PgExporter {
    const e = new PgExporter(source, root, options);
    e.#loop = e.#run();
    return e;
  }

  /** noteChange marks a container to be written (or deleted) at the next flush. */
  noteChange(ids: IdPair): void {
    const k = idPairKey(ids);
    const since = this.#dirty.get(k)?.sinceMs ?? Date.now();
    this.#dirty.set(k, { ids, sinceMs: since, seq: ++this.#seq });
  }

  /** drained says the index has applied the changes noted so far: flush them. */
  drained(): void {
    this.#wake?.();
  }

  /** eventsLost: the index rescanned its names without reporting each change, so diff it all again. */
  eventsLost(): void {
    this.#resync = "events-lost";
    this.#wake?.();
  }

  /** The report of the last full sync, if any. */
  get lastSync(): ExportReport | undefined {
    return this.#lastReport;
  }

  /** idle resolves once the exporter is connected, synced, and has flushed every noted change. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** stop ends the loop and the connection; changes not yet committed are left to the next sync. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await this.#disconnect();
  }

  #isIdle(): boolean {
    return this.#client !== undefined && this.#resync === undefined && !this.#hasWork();
  }

  #hasWork(): boolean {
    for (const d of this.#dirty.values()) if (!this.#isPending(d)) return true;
    return false;
  }

  /** A row the index has not read yet: written once it is read (the next drain). */
  #isPending(d: Dirty): boolean {
    const row = exportRow(this.#source().db, d.ids);
    return row !== undefined && row[PENDING] === 1;
  }

  async #run(): Promise<void> {
    const retry = this.#options.retryMs ?? DEFAULT_RETRY;
    let delay = retry.min;
    while (!this.#stopped) {
      try {
        await this.#step();
        delay = retry.min;
        this.#lastError = undefined;
        if (this.#isIdle()) {
          this.#notifyIdle();
          await this.#sleep(HEARTBEAT_MS, true);
        }
      } catch (e) {
        if (this.#stopped) break;
        this.#options.metrics?.exportFailed();
        this.#options.metrics?.exportConnected(false);
        this.#report(e);
        await this.#disconnect();
        this.#resync ??= "connect";
        await this.#sleep(delay * (0.5 + Math.random() / 2), false);
        delay = Math.min(delay * 2, retry.max);
      }
    }
  }

  /** One round: connect and sync when needed, then flush one batch (or heartbeat when idle). */
  async #step(): Promise<void> {
    if (this.#client === undefined) {
      const client = await connectPg(this.#options.to, () => this.#wake?.());
      this.#client = client;
      await migratePg(client);
      this.#resync = "connect";
    }
    const client = this.#client;
    if (this.#resync !== undefined) {
      const reason = this.#resync;
      this.#resync = undefined;
      const started = performance.now();
      try {
        const r = await syncHost([client], this.#key, this.#source(), this.#batch);
        this.#lastReport = { ...r, target: this.#target(), durationMs: performance.now() - started };
      } catch (e) {
        this.#resync ??= reason;
        throw e;
      }
      this.#options.metrics?.exportResynced(reason);
      this.#options.metrics?.exportConnected(true);
    }
    if (this.#hasWork()) await this.#flush(client);
    else await writeBatch(client, this.#key, [], []);
  }

  /** #flush writes up to one batch of noted changes in one transaction, then forgets those committed. */
  async #flush(client: pg.Client): Promise<void> {
    const index = this.#source();
    const taken: Dirty[] = [];
    const upserts: ExportRow[] = [];
    const deletes: IdPair[] = [];
    for (const d of this.#dirty.values()) {
      if (taken.length >= this.#batch) break;
      const row = exportRow(index.db, d.ids);
      if (row?.[PENDING] === 1) continue; // pending: its content is read by the next drain
      taken.push(d);
      if (row === undefined) deletes.push(d.ids);
      else upserts.push(row);
    }
    await writeBatch(client, this.#key, upserts, deletes);
    const now = Date.now();
    const lags: number[] = [];
    for (const d of taken) {
      const k = idPairKey(d.ids);
      if (this.#dirty.get(k)?.seq !== d.seq) continue; // noted again meanwhile: flush it again
      this.#dirty.delete(k);
      lags.push(now - d.sinceMs);
    }
    this.#options.metrics?.exportWrote(upserts.length, deletes.length, lags);
  }

  /** #report hands a failure to onError, unless it repeats the last one (a database down for hours is one line). */
  #report(e: unknown): void {
    const error =
      e instanceof RunscIndexError
        ? e
        : pgError(`exporting host "${this.host}" to ${this.#target()}`, e, this.#options.to);
    if (error.message === this.#lastError) return;
    this.#lastError = error.message;
    this.#options.onError?.(error);
  }

  /** #sleep waits for ms or a wake-up (drained, stop, a connection error) when wakeable. */
  async #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wakeable ? done : () => this.#stopped && done();
    });
    this.#wake = undefined;
  }

  #notifyIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #target(): string {
    return describeTarget(this.#options.to);
  }
}
