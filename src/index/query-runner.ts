/**
 * Runs users' SQL off the caller's thread, bounded in time, memory and rows.
 * better-sqlite3 has neither a progress handler nor sqlite3_interrupt, so a
 * query is stopped by ending what runs it: query-worker.ts, in a child
 * process (SIGKILL stops even one endless SQLite step, such as count(*) over
 * an endless recursive CTE) or in a worker thread (starts ~100 ms faster, but
 * Worker.terminate() cannot stop native code: such a step keeps its thread
 * busy, and the process can then end only with _exit; the CLI does that).
 * One query per runner at a time; concurrent queries get runners of their own.
 */
import { type ChildProcess, fork } from "node:child_process";
import { Worker } from "node:worker_threads";
import { QuerySyntaxError, RunscIndexError } from "../errors.js";
import type { HostMessage, RunRequest, WorkerMessage } from "./query-worker.js";
import type { QueryParams, QueryRow } from "./readonly-query.js";

/** Where queries run: "process" can always be stopped; "thread" starts faster. */
export type QueryIsolation = "process" | "thread";

export interface QueryOptions {
  /** Give up after this many ms of waiting for SQLite (ERR_QUERY_TIMEOUT); default 30 000. */
  readonly timeoutMs?: number | undefined;
  /** Cancels the query (ERR_ABORTED). */
  readonly signal?: AbortSignal | undefined;
  /** Return at most this many rows; `truncated` then says whether there were more. */
  readonly maxRows?: number | undefined;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** Rows per message: enough to amortize messaging, few enough to keep memory flat. */
const BATCH_ROWS = 512;
/** And a batch ends at about 4 MiB, whatever the row count: rows may be large. */
const BATCH_BYTES = 4 << 20;
/** Batches the worker may run ahead of the consumer. */
const CREDITS = 2;

interface Host {
  /** Resolves once the worker has loaded (its start-up is not part of any query's time limit). */
  readonly ready: Promise<void>;
  send(m: HostMessage): void;
  onMessage(fn: (m: WorkerMessage) => void): void;
  onExit(fn: (why: string) => void): void;
  /** kill ends it now (SIGKILL, or Worker.terminate). */
  kill(): void;
  /**
   * awaited(true) keeps the process alive while a caller waits for the
   * worker; awaited(false) (the default) lets it exit meanwhile, so that a
   * warm worker or a result nobody reads never holds the process open.
   */
  awaited(waiting: boolean): void;
}

/**
 * QueryRows is one running query: its columns, and its rows as an async
 * iterable (once). Leaving the loop early stops the query. `truncated` is
 * set when maxRows cut the result short.
 */
export class QueryRows implements AsyncIterable<QueryRow> {
  readonly columns: readonly string[];
  #feed: Feed;

  constructor(columns: readonly string[], feed: Feed) {
    this.columns = columns;
    this.#feed = feed;
  }

  get truncated(): boolean {
    return this.#feed.truncated;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<QueryRow> {
    try {
      for (let batch = await this.#feed.next(); batch !== undefined; batch = await this.#feed.next()) yield* batch;
    } finally {
      this.#feed.stop();
    }
  }
}

/** QueryRunner keeps one host warm per store and starts more for concurrent queries. */
export class QueryRunner {
  readonly #indexPath: string;
  readonly isolation: QueryIsolation;
  #warm: Host | undefined;
  readonly #running = new Set<Feed>();
  #closed = false;

  constructor(indexPath: string, isolation: QueryIsolation) {
    this.#indexPath = indexPath;
    this.isolation = isolation;
  }

  /**
   * start runs sql and resolves once it is prepared. Throws
   * ERR_READONLY_QUERY, ERR_INVALID_ARGUMENT (QuerySyntaxError for syntax),
   * ERR_QUERY_TIMEOUT, ERR_ABORTED, ERR_CLOSED.
   */
  async start(sql: string, params: QueryParams, options: QueryOptions = {}, snapshot?: Uint8Array): Promise<QueryRows> {
    if (this.#closed) throw new RunscIndexError("ERR_CLOSED", "query runner is closed");
    checkOptions(options);
    if (options.signal?.aborted) throw aborted(sql);
    const host = this.#warm ?? spawnHost(this.isolation);
    this.#warm = undefined;
    await started(host, sql, options.signal);
    const feed = new Feed(host, sql, options, (reusable) => {
      this.#running.delete(feed);
      if (reusable && this.#warm === undefined && !this.#closed) this.#warm = host;
      else host.kill();
    });
    this.#running.add(feed);
    host.send({
      type: "run",
      indexPath: this.#indexPath,
      snapshot,
      sql,
      params: Array.isArray(params) ? [...params] : { ...params },
      maxRows: options.maxRows ?? Number.POSITIVE_INFINITY,
      batchRows: BATCH_ROWS,
      batchBytes: BATCH_BYTES,
      credits: CREDITS,
    } satisfies RunRequest);
    return new QueryRows(await feed.columns(), feed);
  }

  /** warm starts a host now, so that its start-up overlaps the caller's own work before start. */
  warm(): void {
    if (!this.#closed) this.#warm ??= spawnHost(this.isolation);
  }

  /** close ends the warm host and every running query (ERR_CLOSED). */
  close(): void {
    this.#closed = true;
    this.#warm?.kill();
    this.#warm = undefined;
    for (const feed of this.#running)
      feed.fail(new RunscIndexError("ERR_CLOSED", "the store was closed during the query"));
  }
}

/** started waits for a new host to load; an abort meanwhile kills it. Throws ERR_ABORTED, ERR_IO. */
async function started(host: Host, sql: string, signal: AbortSignal | undefined): Promise<void> {
  let onAbort: (() => void) | undefined;
  host.awaited(true);
  try {
    await Promise.race([
      host.ready,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(aborted(sql));
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } catch (e) {
    host.kill();
    throw e instanceof RunscIndexError
      ? e
      : new RunscIndexError(
          "ERR_IO",
          `query ${excerpt(sql)}: the query worker did not start: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
  } finally {
    host.awaited(false);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

function checkOptions(o: QueryOptions): void {
  const bad = (name: string, v: unknown) =>
    new RunscIndexError("ERR_INVALID_ARGUMENT", `query: ${name} must be a positive whole number, not ${String(v)}`);
  if (o.timeoutMs !== undefined && !(Number.isInteger(o.timeoutMs) && o.timeoutMs > 0))
    throw bad("timeoutMs", o.timeoutMs);
  if (o.maxRows !== undefined && !(Number.isInteger(o.maxRows) && o.maxRows >= 0)) throw bad("maxRows", o.maxRows);
}

/**
 * Feed receives one query's messages. The time limit counts only the time
 * the caller waits for SQLite, not the time it spends on rows it already has.
 */
class Feed {
  truncated = false;
  readonly #host: Host;
  readonly #sql: string;
  readonly #signal: AbortSignal | undefined;
  #budgetMs: number;
  readonly #timeoutMs: number;
  readonly #queue: WorkerMessage[] = [];
  #wake: (() => void) | undefined;
  #failure: RunscIndexError | undefined;
  #done = false;
  readonly #release: (reusable: boolean) => void;
  #released = false;
  readonly #onAbort = () => this.fail(aborted(this.#sql));

  constructor(host: Host, sql: string, options: QueryOptions, release: (reusable: boolean) => void) {
    this.#host = host;
    this.#sql = sql;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.#budgetMs = this.#timeoutMs;
    this.#release = release;
    host.onMessage((m) => {
      this.#queue.push(m);
      this.#wake?.();
    });
    host.onExit((why) => this.fail(new RunscIndexError("ERR_IO", `query ${excerpt(sql)}: the query worker ${why}`)));
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** columns waits for the statement to be prepared. */
  async columns(): Promise<readonly string[]> {
    const m = await this.#take();
    if (m.type !== "columns") throw new Error(`query worker: expected columns, got ${m.type}`);
    return m.columns;
  }

  /** next returns the next batch of rows, undefined at the end. */
  async next(): Promise<QueryRow[] | undefined> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#done) return undefined;
    const m = await this.#take();
    if (m.type === "rows") {
      this.#host.send({ type: "more" });
      return m.rows;
    }
    if (m.type === "done") {
      this.truncated = m.truncated;
      this.#end(true);
      return undefined;
    }
    throw new Error(`query worker: unexpected ${m.type}`);
  }

  /** stop ends the query early (the consumer left its loop): the worker is told, or killed if it is busy. */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    // A worker in the middle of a batch cannot read "stop" until the batch is done: not worth waiting for.
    this.#releaseOnce(false);
  }

  async #take(): Promise<WorkerMessage> {
    this.#host.awaited(true);
    try {
      await this.#arrival();
    } finally {
      this.#host.awaited(false);
    }
    if (this.#failure !== undefined) throw this.#failure;
    const m = this.#queue.shift()!;
    if (m.type === "error") {
      this.#end(true);
      const cause =
        m.sqliteCode === undefined ? undefined : { cause: Object.assign(new Error(m.message), { code: m.sqliteCode }) };
      throw m.offset === undefined
        ? new RunscIndexError(m.code as RunscIndexError["code"], m.message, cause)
        : new QuerySyntaxError(m.message, m.offset, cause);
    }
    return m;
  }

  /** #arrival waits for a message or a failure, counting the wait against the time limit. */
  async #arrival(): Promise<void> {
    while (this.#queue.length === 0 && this.#failure === undefined) {
      const began = performance.now();
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(() => this.fail(timedOut(this.#sql, this.#timeoutMs)), Math.max(0, this.#budgetMs));
      });
      clearTimeout(timer);
      this.#wake = undefined;
      this.#budgetMs -= performance.now() - began;
    }
  }

  /** fail ends the query with e: the worker is killed, the waiting caller gets e. */
  fail(e: RunscIndexError): void {
    if (this.#failure !== undefined || this.#done) return;
    this.#failure = e;
    this.#end(false);
    this.#wake?.();
  }

  #end(reusable: boolean): void {
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#releaseOnce(reusable);
  }

  #releaseOnce(reusable: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.#release(reusable);
  }
}

function timedOut(sql: string, ms: number): RunscIndexError {
  return new RunscIndexError(
    "ERR_QUERY_TIMEOUT",
    `query ${excerpt(sql)} stopped after its time limit of ${ms} ms (raise it with --timeout MS or timeoutMs)`,
  );
}

function aborted(sql: string): RunscIndexError {
  return new RunscIndexError("ERR_ABORTED", `query ${excerpt(sql)} was aborted`);
}

function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, " ").trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}...` : oneLine);
}

// --- hosts ---

function spawnHost(isolation: QueryIsolation): Host {
  const host = isolation === "thread" ? threadHost() : processHost();
  host.awaited(false);
  return host;
}

/** Under the TypeScript sources (tests), the worker is a .ts file loaded through tsx. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_FILE = new URL(FROM_SOURCE ? "./query-worker.ts" : "./query-worker.js", import.meta.url);

/** readyOf resolves on the worker's first message ("ready"), rejects if it fails or exits first. */
function readyOf(worker: Worker | ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: unknown) => reject(why instanceof Error ? why : new Error(`exited (${String(why)})`));
    worker.once("message", () => {
      worker.off("error", fail);
      worker.off("exit", fail);
      resolve();
    });
    worker.once("error", fail);
    worker.once("exit", fail);
  });
}

function threadHost(): Host {
  let worker: Worker;
  if (!FROM_SOURCE) worker = new Worker(WORKER_FILE);
  else {
    const tsx = import.meta.resolve("tsx/esm/api");
    const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_FILE.href)}); })`;
    worker = new Worker(boot, { eval: true });
  }
  return {
    ready: readyOf(worker),
    send: (m) => worker.postMessage(m),
    onMessage: (fn) => {
      worker.removeAllListeners("message");
      worker.on("message", fn);
    },
    onExit: (fn) => {
      worker.removeAllListeners("exit");
      worker.removeAllListeners("error");
      worker.on("error", (e) => fn(`failed: ${e.message}`));
      worker.on("exit", (code) => fn(`exited (${code})`));
    },
    kill: () => {
      worker.removeAllListeners();
      worker.on("error", () => {});
      void worker.terminate();
      worker.unref();
    },
    awaited: (waiting) => (waiting ? worker.ref() : worker.unref()),
  };
}

function processHost(): Host {
  const child: ChildProcess = fork(WORKER_FILE, [], {
    serialization: "advanced",
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: FROM_SOURCE ? ["--import", "tsx"] : [],
  });
  const channel = () => child.channel as { ref(): void; unref(): void } | null | undefined;
  return {
    ready: readyOf(child),
    send: (m) => child.send(m),
    onMessage: (fn) => {
      child.removeAllListeners("message");
      child.on("message", (m) => fn(m as WorkerMessage));
    },
    onExit: (fn) => {
      child.removeAllListeners("exit");
      child.removeAllListeners("error");
      child.on("error", (e) => fn(`failed: ${e.message}`));
      child.on("exit", (code, signal) => fn(`exited (${signal ?? code})`));
    },
    kill: () => {
      child.removeAllListeners();
      child.on("error", () => {});
      child.kill("SIGKILL");
      child.unref();
      channel()?.unref();
    },
    awaited: (waiting) => {
      if (waiting) {
        child.ref();
        channel()?.ref();
      } else {
        child.unref();
        channel()?.unref();
      }
    },
  };
}
