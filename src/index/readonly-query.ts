/**
 * Ad-hoc SQL for users, on a read-only connection. Three fences: the text
 * must start with SELECT, WITH or VALUES (after an optional EXPLAIN [QUERY
 * PLAN]), checked before preparing, since SQLite applies some PRAGMAs while
 * preparing them; the statement must be one SQLite itself reports read-only
 * (it also says yes to ATTACH, DETACH and BEGIN, hence the first fence); and
 * the connection is opened read-only with query_only on.
 */
import { RunscIndexError } from "../errors.js";
import type { SqliteDatabase } from "./database.js";

export type QueryParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/** Checked before preparing: SQLite applies some PRAGMAs while it prepares them. */
const ALLOWED_START = /^(explain(\s+query\s+plan)?\s+)?(select|with|values)\b/i;

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export function runReadonlyQuery(db: SqliteDatabase, sql: string, params: QueryParams = []): QueryResult {
  if (!ALLOWED_START.test(stripLeadingComments(sql))) throw notReadOnly(sql);
  let stmt: ReturnType<SqliteDatabase["prepare"]>;
  try {
    stmt = db.prepare(sql);
  } catch (e) {
    throw queryError(sql, e);
  }
  if (!stmt.readonly || !stmt.reader) throw notReadOnly(sql);
  try {
    // Integers past 2^53 (inode numbers on some file systems) keep every digit, as bigint.
    stmt.safeIntegers(true);
    const all = stmt.all.bind(stmt) as (...args: unknown[]) => Record<string, unknown>[];
    const rows = (Array.isArray(params) ? all(...params) : all(params)).map(unbigRow);
    return { columns: stmt.columns().map((c) => c.name), rows };
  } catch (e) {
    throw queryError(sql, e);
  }
}

/** unbigRow turns the bigints that fit a number back into numbers. */
function unbigRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const v = row[key];
    if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) row[key] = Number(v);
  }
  return row;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function notReadOnly(sql: string): RunscIndexError {
  return new RunscIndexError(
    "ERR_READONLY_QUERY",
    `query ${excerpt(sql)} is not a read-only SELECT: the index is read-only here`,
  );
}

function queryError(sql: string, e: unknown): RunscIndexError {
  const message = (e as Error).message;
  // Writes that got past the checks land here, and strings of several statements (any of which may write).
  const code = /readonly|read-only|not authorized|query_only|more than one statement/i.test(message)
    ? "ERR_READONLY_QUERY"
    : "ERR_INVALID_ARGUMENT";
  return new RunscIndexError(code, `query ${excerpt(sql)}: ${message}`, { cause: e });
}

function stripLeadingComments(sql: string): string {
  let s = sql.trimStart();
  for (;;) {
    if (s.startsWith("--")) s = s.slice(s.indexOf("\n") < 0 ? s.length : s.indexOf("\n") + 1).trimStart();
    else if (s.startsWith("/*")) s = s.slice(s.indexOf("*/") < 0 ? s.length : s.indexOf("*/") + 2).trimStart();
    else return s;
  }
}

function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, " ").trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}...` : oneLine);
}
