/**
 * The other side of query-runner.ts: runs one read-only query at a time on a
 * connection of its own and posts the rows back in batches. It runs in a
 * worker thread or in a child process (whichever the runner chose); the
 * protocol is the same. Rows flow on credit: after `credits` batches it waits
 * for a "more", so at most a few batches are ever in flight and a 1 GB result
 * never sits in memory.
 */
import { parentPort } from "node:worker_threads";
import type Database from "better-sqlite3";
import { RunscIndexError } from "../errors.js";
import { openReadonlyDatabase, openSnapshotBytes, type SqliteDatabase } from "./database.js";
import { prepareReadonly, type QueryParams, type QueryRow, runError, unbigRow } from "./readonly-query.js";

export interface RunRequest {
  readonly type: "run";
  readonly indexPath: string;
  /** An index that lives only in memory (a readonly store without an index file), serialized; threads only. */
  readonly snapshot?: Uint8Array | undefined;
  readonly sql: string;
  readonly params: QueryParams;
  /** Stop after this many rows (then `truncated` is true if there were more). */
  readonly maxRows: number;
  readonly batchRows: number;
  /** A batch ends once its values reach about this many bytes. */
  readonly batchBytes: number;
  /** Batches it may post before waiting for a "more". */
  readonly credits: number;
}

export type HostMessage = RunRequest | { readonly type: "more" } | { readonly type: "stop" };

export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "columns"; readonly columns: readonly string[] }
  | { readonly type: "rows"; readonly rows: QueryRow[] }
  | { readonly type: "done"; readonly truncated: boolean }
  | {
      readonly type: "error";
      readonly code: string;
      readonly message: string;
      readonly offset?: number;
      /** SQLite's own code (SQLITE_CORRUPT...), so that the store can tell a damaged index. */
      readonly sqliteCode?: string;
    };

interface Running {
  readonly request: RunRequest;
  readonly rows: IterableIterator<QueryRow>;
  credits: number;
  sent: number;
}

// A child process whose parent is gone (EPIPE) has nobody to report to: it exits.
const post: (m: WorkerMessage) => void =
  parentPort !== null
    ? (m) => parentPort?.postMessage(m)
    : (m) => process.send?.(m, undefined, {}, (e) => e && process.exit(0));

let db: SqliteDatabase | undefined;
let dbPath: string | undefined;
let running: Running | undefined;

function onMessage(m: HostMessage): void {
  try {
    if (m.type === "run") start(m);
    else if (m.type === "more" && running !== undefined) {
      running.credits++;
      pump(running);
    } else if (m.type === "stop") finish(false);
  } catch (e) {
    fail(e);
  }
}

function start(request: RunRequest): void {
  if (request.snapshot !== undefined) {
    db?.close();
    db = openSnapshotBytes(request.snapshot);
    dbPath = undefined;
  } else if (dbPath !== request.indexPath) {
    db?.close();
    db = openReadonlyDatabase(request.indexPath);
    dbPath = request.indexPath;
  }
  const stmt = prepareReadonly(db!, request.sql);
  const rows = iterate(stmt, request.params);
  post({ type: "columns", columns: stmt.columns().map((c) => c.name) });
  running = { request, rows, credits: request.credits, sent: 0 };
  pump(running);
}

function iterate(stmt: Database.Statement, params: QueryParams): IterableIterator<QueryRow> {
  const it = stmt.iterate.bind(stmt) as (...args: unknown[]) => IterableIterator<QueryRow>;
  return Array.isArray(params) ? it(...params) : it(params);
}

/** pump posts batches while it has credit; the last one is followed by "done". */
function pump(r: Running): void {
  while (r.credits > 0 && running === r) {
    const { batch, end } = takeBatch(r);
    if (batch.length > 0) post({ type: "rows", rows: batch });
    if (end !== undefined) {
      finish(end === "truncated");
      return;
    }
    r.credits--;
  }
}

/** takeBatch reads the next batch; `end` says the result is over (all of it, or cut short at maxRows). */
function takeBatch(r: Running): { batch: QueryRow[]; end?: "all" | "truncated" } {
  const batch: QueryRow[] = [];
  let bytes = 0;
  while (batch.length < r.request.batchRows && bytes < r.request.batchBytes) {
    if (r.sent === r.request.maxRows) return { batch, end: r.rows.next().done ? "all" : "truncated" };
    const next = r.rows.next();
    if (next.done) return { batch, end: "all" };
    batch.push(unbigRow(next.value));
    r.sent++;
    bytes += sizeOf(next.value);
  }
  return { batch };
}

function finish(truncated: boolean): void {
  if (running === undefined) return;
  running.rows.return?.();
  running = undefined;
  post({ type: "done", truncated });
}

function fail(e: unknown): void {
  const sql = running?.request.sql ?? "";
  running?.rows.return?.();
  running = undefined;
  const err = e instanceof RunscIndexError ? e : runError(sql, e);
  const offset = (err as { offset?: unknown }).offset;
  const sqliteCode = (err.cause as { code?: unknown } | undefined)?.code;
  post({
    type: "error",
    code: err.code,
    message: err.message,
    ...(typeof offset === "number" ? { offset } : {}),
    ...(typeof sqliteCode === "string" ? { sqliteCode } : {}),
  });
}

/** sizeOf estimates a row's bytes: text and blobs by length, anything else 8. */
function sizeOf(row: QueryRow): number {
  let n = 0;
  for (const key in row) {
    const v = row[key];
    n += typeof v === "string" ? v.length * 2 : Buffer.isBuffer(v) ? v.length : 8;
  }
  return n;
}

post({ type: "ready" });
if (parentPort !== null) parentPort.on("message", onMessage);
else {
  process.on("message", (m) => onMessage(m as HostMessage));
  // The store's process is gone: nothing will read our rows.
  process.on("disconnect", () => process.exit(0));
}
