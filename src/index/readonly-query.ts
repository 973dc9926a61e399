/**
 * Ad-hoc SQL for users, on a read-only connection. Three fences: the
 * connection is opened read-only with query_only on; the statement must be
 * one that SQLite itself reports read-only; and it must start with SELECT,
 * WITH, VALUES or EXPLAIN (sqlite3_stmt_readonly also says yes to ATTACH,
 * DETACH, BEGIN and some PRAGMAs, which change the connection).
 */
import { RunscIndexError } from "../errors.js";
import type { SqliteDatabase } from "./database.js";

export type QueryParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

const ALLOWED_START = /^(select|with|values|explain)\b/i;

export function runReadonlyQuery(db: SqliteDatabase, sql: string, params: QueryParams = []): QueryResult {
  let stmt: ReturnType<SqliteDatabase["prepare"]>;
  try {
    stmt = db.prepare(sql);
  } catch (e) {
    throw queryError(sql, e);
  }
  const head = stripLeadingComments(sql);
  if (!stmt.readonly || !ALLOWED_START.test(head) || !stmt.reader) {
    throw new RunscIndexError(
      "ERR_READONLY_QUERY",
      `query ${excerpt(sql)} is not a read-only SELECT: the index is read-only here`,
    );
  }
  try {
    const all = stmt.all.bind(stmt) as (...args: unknown[]) => Record<string, unknown>[];
    const rows = Array.isArray(params) ? all(...params) : all(params);
    return { columns: stmt.columns().map((c) => c.name), rows };
  } catch (e) {
    throw queryError(sql, e);
  }
}

function queryError(sql: string, e: unknown): RunscIndexError {
  const message = (e as Error).message;
  // Writes that got past preparation (functions with side effects) land here too.
  const code = /readonly|read-only|not authorized|query_only/i.test(message)
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
