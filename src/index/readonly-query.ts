/**
 * Ad-hoc SQL for users, on a read-only connection. Three fences: each
 * statement's first keyword is classified before anything is prepared, since
 * SQLite applies some PRAGMAs while preparing them (docs/sql.md has the table
 * of keywords and codes); the prepared statement must be one SQLite itself
 * reports read-only; and the connection is opened read-only with query_only
 * on. Text that starts with no keyword SQLite knows is prepared only on an
 * empty in-memory scratch connection, for SQLite's own syntax error.
 */
import type BetterSqlite3 from "better-sqlite3";
import { QuerySyntaxError, RunscIndexError } from "../errors.js";
import type { SqliteDatabase } from "./database.js";
import { openDatabase } from "./sqlite-driver.js";

export type QueryParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export type QueryRow = Record<string, unknown>;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly QueryRow[];
}

/** Statements that read: prepared on the index's read-only connection. */
const READ_KEYWORDS = new Set(["SELECT", "WITH", "VALUES"]);

/** Statements that write, attach, change settings or open transactions: refused unprepared. */
const WRITE_KEYWORDS = new Set([
  "INSERT",
  "REPLACE",
  "UPDATE",
  "DELETE",
  "CREATE",
  "DROP",
  "ALTER",
  "ATTACH",
  "DETACH",
  "PRAGMA",
  "VACUUM",
  "REINDEX",
  "ANALYZE",
  "BEGIN",
  "COMMIT",
  "END",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
]);

/** How one statement of a query text is treated, from its first keyword (after EXPLAIN [QUERY PLAN]). */
export type StatementKind = "read" | "write" | "empty" | "unknown";

interface Statement {
  readonly text: string;
  /** Where the statement starts in the whole text. */
  readonly start: number;
  readonly kind: StatementKind;
}

/**
 * @internal Left out of the installed .d.ts: it takes better-sqlite3's types.
 * prepareReadonly checks and prepares one read-only statement, integers
 * returned as bigints (safeIntegers). Throws ERR_READONLY_QUERY (a statement
 * that would write, attach, change a pragma or open a transaction),
 * ERR_INVALID_ARGUMENT (empty text, several statements, SQL that does not
 * compile: a QuerySyntaxError with the offset for a syntax error).
 */
export function prepareReadonly(db: SqliteDatabase, sql: string): BetterSqlite3.Statement {
  const statements = splitStatements(sql).filter((s) => s.kind !== "empty");
  if (statements.some((s) => s.kind === "write")) throw notReadOnly(sql);
  if (statements.length === 0) throw new RunscIndexError("ERR_INVALID_ARGUMENT", `query ${excerpt(sql)} is empty`);
  const unknown = statements.find((s) => s.kind === "unknown");
  if (unknown !== undefined) throw syntaxErrorOf(sql, unknown);
  if (statements.length > 1) {
    throw new RunscIndexError(
      "ERR_INVALID_ARGUMENT",
      `query ${excerpt(sql)} holds ${statements.length} statements: give one at a time`,
    );
  }
  let stmt: BetterSqlite3.Statement;
  try {
    stmt = db.prepare(sql);
  } catch (e) {
    throw compileError(sql, statements[0]!, e);
  }
  if (!stmt.readonly || !stmt.reader) throw notReadOnly(sql);
  // Integers past 2^53 (inode numbers on some file systems) keep every digit, as bigint.
  stmt.safeIntegers(true);
  return stmt;
}

/** @internal runReadonlyQuery runs one read-only statement and returns every row (in the calling thread). Throws as prepareReadonly, and runError's codes. */
export function runReadonlyQuery(db: SqliteDatabase, sql: string, params: QueryParams = []): QueryResult {
  const stmt = prepareReadonly(db, sql);
  try {
    const all = stmt.all.bind(stmt) as (...args: unknown[]) => QueryRow[];
    const rows = (Array.isArray(params) ? all(...params) : all(params)).map(unbigRow);
    return { columns: stmt.columns().map((c) => c.name), rows };
  } catch (e) {
    throw runError(sql, e);
  }
}

/** unbigRow turns the bigints that fit a number back into numbers; returns the same row. */
export function unbigRow(row: QueryRow): QueryRow {
  for (const key in row) {
    const v = row[key];
    if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) row[key] = Number(v);
  }
  return row;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * runError words an error SQLite raised while stepping: a write or a
 * disabled function (load_extension) that got past the checks is
 * ERR_READONLY_QUERY, anything else ERR_INVALID_ARGUMENT.
 */
export function runError(sql: string, e: unknown): RunscIndexError {
  if (e instanceof RunscIndexError) return e;
  const message = (e as Error).message;
  const code = /readonly|read-only|not authorized|query_only/i.test(message)
    ? "ERR_READONLY_QUERY"
    : "ERR_INVALID_ARGUMENT";
  return new RunscIndexError(code, `query ${excerpt(sql)}: ${message}`, { cause: e });
}

/** splitStatements cuts the text at semicolons outside strings, quoted names and comments. */
export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  const cut = (end: number) => {
    const text = sql.slice(start, end);
    out.push({ text, start, kind: kindOf(text) });
    start = end + 1;
  };
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === ";") cut(i);
    else if (c === "'" || c === '"' || c === "`") i = closing(sql, i, c);
    else if (c === "[") i = closing(sql, i, "]");
    else if (c === "-" && sql[i + 1] === "-") i = closing(sql, i, "\n");
    else if (c === "/" && sql[i + 1] === "*") i = closing(sql, i + 1, "*/") + 1;
  }
  if (start <= sql.length) cut(sql.length);
  return out;
}

/** closing returns the index of the last character of the quote or comment opened at `from` (the end if unclosed). */
function closing(sql: string, from: number, close: string): number {
  const end = sql.indexOf(close, from + 1);
  return end < 0 ? sql.length : end + close.length - 1;
}

/** kindOf classifies one statement by its first keyword, looking through EXPLAIN [QUERY PLAN]. */
function kindOf(text: string): StatementKind {
  const words = stripLeadingComments(text)
    .match(/^[A-Za-z_]+(\s+[A-Za-z_]+){0,3}/)?.[0]
    .toUpperCase()
    .split(/\s+/);
  if (words === undefined) return stripLeadingComments(text) === "" ? "empty" : "unknown";
  let first = words[0]!;
  if (first === "EXPLAIN") first = words[1] === "QUERY" && words[2] === "PLAN" ? (words[3] ?? "") : (words[1] ?? "");
  if (READ_KEYWORDS.has(first)) return "read";
  if (WRITE_KEYWORDS.has(first)) return "write";
  return "unknown";
}

function stripLeadingComments(sql: string): string {
  let s = sql.trimStart();
  for (;;) {
    if (s.startsWith("--")) s = s.slice(s.indexOf("\n") < 0 ? s.length : s.indexOf("\n") + 1).trimStart();
    else if (s.startsWith("/*")) s = s.slice(s.indexOf("*/") < 0 ? s.length : s.indexOf("*/") + 2).trimStart();
    else return s;
  }
}

let scratch: SqliteDatabase | undefined;

/** An empty in-memory connection: text that is not a known statement is prepared only here, never stepped. */
function scratchDatabase(): SqliteDatabase {
  scratch ??= openDatabase(":memory:");
  scratch.pragma("query_only = ON");
  return scratch;
}

/** syntaxErrorOf returns SQLite's own error for a statement that starts with no keyword it knows. */
function syntaxErrorOf(sql: string, statement: Statement): RunscIndexError {
  try {
    scratchDatabase().prepare(statement.text);
  } catch (e) {
    return compileError(sql, statement, e);
  }
  return new RunscIndexError("ERR_INVALID_ARGUMENT", `query ${excerpt(sql)} is not a SELECT, WITH or VALUES`);
}

/** compileError words a failed prepare: a syntax error carries its offset in the whole text. */
function compileError(sql: string, statement: Statement, e: unknown): RunscIndexError {
  const message = (e as Error).message;
  const at = syntaxOffset(statement.text, message);
  if (at === undefined)
    return new RunscIndexError("ERR_INVALID_ARGUMENT", `query ${excerpt(sql)}: ${message}`, { cause: e });
  const offset = statement.start + at;
  return new QuerySyntaxError(`query ${excerpt(sql)}: ${message} at offset ${offset}${pointer(sql, offset)}`, offset, {
    cause: e,
  });
}

/**
 * syntaxOffset finds where SQLite stopped: better-sqlite3 does not expose
 * sqlite3_error_offset, so each occurrence of the token SQLite names is
 * tried: the first whose prefix (ending with it) fails with the same message
 * is the one. Returns undefined for errors that are not about syntax.
 */
function syntaxOffset(text: string, message: string): number | undefined {
  if (/^incomplete input$/.test(message)) return text.trimEnd().length;
  const token = /^(?:near "([\s\S]*)": syntax error|unrecognized token: "([\s\S]*)")$/.exec(message);
  if (token === null) return undefined;
  const word = token[1] ?? token[2]!;
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
    try {
      scratchDatabase().prepare(text.slice(0, at + word.length));
    } catch (e) {
      if ((e as Error).message === message) return at;
    }
  }
  return text.indexOf(word) < 0 ? undefined : text.indexOf(word);
}

/** pointer shows the text around the offset: `: ...SELECT x FORM t <-- here`. */
function pointer(sql: string, offset: number): string {
  const before = sql.slice(Math.max(0, offset - 30), offset).replace(/\s+/g, " ");
  const after = sql.slice(offset, offset + 20).replace(/\s+/g, " ");
  return ` (${JSON.stringify(before)} >>> ${JSON.stringify(after)})`;
}

function notReadOnly(sql: string): RunscIndexError {
  return new RunscIndexError(
    "ERR_READONLY_QUERY",
    `query ${excerpt(sql)} would write, attach, change a setting or open a transaction: the index is read-only here (run a SELECT, WITH or VALUES; read pragmas as SELECT * FROM pragma_NAME)`,
  );
}

function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, " ").trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}...` : oneLine);
}
